"""Which client reaches an engine address: `unix://`, `tcp://` (with TLS client certificates) or
`ssh://` (through `sshbridge`), the three kinds a nodes file may name.

`open_client(address, tls, timeout, node)` returns the aiodocker client and, for ssh, the bridge
that must be closed with it. DOCKER_HOST is read here when no address is given, before aiodocker
could prefer a Docker context (see `dockercalls`).

Traps:
- aiodocker turns `tcp://` into `https://` only for TLS it found itself (a context,
  DOCKER_TLS_VERIFY with DOCKER_CERT_PATH, which it is left to do for a node without `tls`);
  with our own `ssl.SSLContext` the URL must say `https://` already, and plain `tcp://` must
  say `http://`.
- `verify: false` still presents the client certificate but accepts any server certificate, as
  `docker --tls` (without `--tlsverify`) does: for a test, never for a real host.
- The ssh bridge is a unix socket on this host, but not the engine's: its connector is a
  subclass of aiohttp's, so the subPath check (an exact `UnixConnector` means a local engine)
  refuses subPath mounts there, as it must.
"""

from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

import aiodocker
import aiohttp

from controller.config import TlsSettings
from controller.runtime.docker.sshbridge import SshBridge


class SshBridgeConnector(aiohttp.UnixConnector):
    """The connector to an ssh bridge's socket: its own class, so it is never taken for a local
    engine's socket."""


def ssl_context(tls: TlsSettings) -> ssl.SSLContext:
    """The client side of `docker --tlsverify --tlscacert CA --tlscert CERT --tlskey KEY`."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file)
    if tls.cert_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def open_client(
    address: str | None, tls: TlsSettings | None, timeout: aiohttp.ClientTimeout, node: str
) -> tuple[aiodocker.Docker, SshBridge | None]:
    """A client for `address` (None: DOCKER_HOST, else aiodocker's default socket).

    ValueError or OSError (unreadable certificates) when the address or TLS cannot be used.
    """
    address = address or os.environ.get("DOCKER_HOST") or None
    scheme = urlsplit(address).scheme if address else "unix"
    if scheme == "ssh":
        assert address is not None
        bridge = SshBridge(address, node)
        bridge.start()
        client = aiodocker.Docker(
            url="unix://localhost", connector=SshBridgeConnector(bridge.path), timeout=timeout
        )
        client._connection_info = address  # what messages (and the subPath refusal) show
        return client, bridge
    if scheme == "tcp" and address is not None:
        rest = address.split("://", 1)[1]
        if tls is None and os.environ.get("DOCKER_TLS_VERIFY", "0") == "1":
            return aiodocker.Docker(url=address, timeout=timeout), None  # DOCKER_CERT_PATH's
        if tls is None:
            return aiodocker.Docker(url=f"http://{rest}", timeout=timeout), None
        context = ssl_context(tls)
        return aiodocker.Docker(url=f"https://{rest}", ssl_context=context, timeout=timeout), None
    if tls is not None:
        raise ValueError(f"TLS settings need a tcp:// address, not {address!r}")
    return aiodocker.Docker(url=address, timeout=timeout), None
