"""Engines reached as remote hosts are, on loopback only: `tcp://` with TLS client certificates,
and `ssh://` through a stand-in `ssh` program.

* `make_certificates(folder)`: a CA, a server certificate for 127.0.0.1 and a client
  certificate, made with the openssl command (as Docker's own TLS guide does), plus a second,
  unrelated CA whose certificates the engine must refuse.
* `start_tls_dockerd(folder)`: a private dockerd that also listens on
  `tcp://127.0.0.1:<free port>` with `--tlsverify`.
* `install_fake_ssh(folder, docker_host, ...)`: an `ssh` program to put first on PATH. It checks
  that it was called exactly as the docker CLI calls ssh for `ssh://podyard@127.0.0.1:2222`, then
  runs the remote command (`docker system dial-stdio`) against a private engine with its stdio as
  the connection: the whole contract the docker CLI relies on, without an sshd. `FAKE_SSH_MODE`
  makes it refuse (as ssh does when the host is down) or hang (a host that never answers). Each
  run appends its pid to `ssh.log`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import attrs

from controller.config import TlsSettings
from tests.integration.dockerd import PrivateDockerd, start_private_dockerd
from tests.integration.harness import free_port

SSH_ADDRESS = "ssh://podyard@127.0.0.1:2222"
SSH_ARGUMENTS = (
    "-o BatchMode=yes -o ConnectTimeout=30 -T -l podyard -p 2222 -- 127.0.0.1 "
    "docker system dial-stdio"
)

_FAKE_SSH = """#!/bin/sh
echo "$$" >> "{log}"
case "$FAKE_SSH_MODE" in
  refuse) echo "ssh: connect to host 127.0.0.1 port 2222: Connection refused" >&2; exit 255;;
  hang) exec sleep 600;;
esac
if [ "$*" != "{expected}" ]; then
  echo "fake ssh: unexpected arguments: $*" >&2
  exit 255
fi
while [ "$1" != "--" ]; do shift; done
shift 2
DOCKER_HOST="{docker_host}" exec "$@"
"""


@attrs.frozen
class Certificates:
    tls: TlsSettings
    """What a client of the engine uses: the CA, its certificate and key."""
    server: TlsSettings
    """The engine's side: the same CA, the server certificate and key."""
    stranger: TlsSettings
    """A client of another CA (also trusting only that CA): refused both ways."""


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60)


def _authority(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}-key.pem", folder / f"{name}.pem"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN=podyard test {name}",
    )  # fmt: skip
    return key, cert


def _signed(folder: Path, name: str, ca: tuple[Path, Path], extensions: str) -> tuple[Path, Path]:
    key, cert, request = (folder / f"{name}-{x}.pem" for x in ("key", "cert", "req"))
    ext = folder / f"{name}.ext"
    ext.write_text(extensions)
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", request, "-subj", f"/CN={name}",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", request, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext,
    )  # fmt: skip
    return key, cert


def make_certificates(folder: Path) -> Certificates:
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl command is needed to make test certificates")
    folder.mkdir(parents=True, exist_ok=True)
    ca = _authority(folder, "ca")
    server = _signed(
        folder, "server", ca, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
    )
    client = _signed(folder, "client", ca, "extendedKeyUsage=clientAuth\n")
    other = _authority(folder, "other-ca")
    stranger = _signed(folder, "stranger", other, "extendedKeyUsage=clientAuth\n")
    return Certificates(
        tls=TlsSettings(str(ca[1]), str(client[1]), str(client[0])),
        server=TlsSettings(str(ca[1]), str(server[1]), str(server[0])),
        stranger=TlsSettings(str(other[1]), str(stranger[1]), str(stranger[0])),
    )


def start_tls_dockerd(certificates: Certificates) -> tuple[PrivateDockerd, str]:
    """A private engine on its socket and on `tcp://127.0.0.1:<port>` with `--tlsverify`."""
    port = free_port()
    server = certificates.server
    engine = start_private_dockerd(
        name_prefix="tls",
        extra_args=(
            f"--host=tcp://127.0.0.1:{port}",
            "--tlsverify",
            f"--tlscacert={server.ca_file}",
            f"--tlscert={server.cert_file}",
            f"--tlskey={server.key_file}",
        ),
    )
    return engine, f"tcp://127.0.0.1:{port}"


def install_fake_ssh(folder: Path, docker_host: str) -> Path:
    """Write the stand-in `ssh` into `folder` (put it first on PATH); returns its pid log."""
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "ssh.log"
    log.touch()
    program = folder / "ssh"
    program.write_text(_FAKE_SSH.format(log=log, expected=SSH_ARGUMENTS, docker_host=docker_host))
    program.chmod(0o755)
    return log


def pids_in(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()]
