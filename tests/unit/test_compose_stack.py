"""docker-compose.dev.yml, the development stack, and the Dockerfile it builds the controller from.

Nothing here starts a container: `compose config` (validation) needs no engine, and no image can be
assumed pullable, so the stack is checked statically. The Compose tool is `docker compose` when the
docker CLI has the plugin, else `docker-compose` (`make setup` installs Debian's when neither is
there); promtool comes from Debian's `prometheus`. Without them these tests fail rather than skip.

What is proved: Compose accepts the file; every bind mount's host path exists in the repository
(the Docker socket aside); images are pinned; ports bind loopback only; the controller is built
from the repository's Dockerfile, whose COPY sources exist and are what `pip install .` needs; the
controller's command is accepted by the real CLI; and each service finds its configuration at the
container paths it reads (Prometheus' config and rules are checked by promtool in that layout).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from controller.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.dev.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
DASHBOARDS = REPO / "dashboards"
DOCKER_SOCKET = "/var/run/docker.sock"
PROMETHEUS_DEFAULT_CONFIG = "/etc/prometheus/prometheus.yml"
"""Where the prom/prometheus image reads its configuration unless --config.file says otherwise."""
GRAFANA_PROVISIONING = "/etc/grafana/provisioning"
PINNED_TAG = re.compile(r"\d+\.\d+\.\d+")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


# --- the Compose tool ------------------------------------------------------------------------------


def _compose_tool() -> list[str]:
    """`docker compose` when the docker CLI has the plugin, else `docker-compose`."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is None:
        pytest.fail(
            "no Compose tool: neither `docker compose` nor `docker-compose` runs; `make setup` "
            "installs Debian's docker-compose"
        )
    return [legacy]


def test_compose_accepts_the_file() -> None:
    # COMPOSE_* variables (another file, a project name) must not change what is validated.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    command = [*_compose_tool(), "-f", str(COMPOSE_FILE), "config", "--quiet"]
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{shlex.join(command)} failed:\n{result.stderr}"


# --- mounts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    """One entry of a service's `volumes:`, short or long syntax."""

    service: str
    source: str
    target: str
    read_only: bool

    @property
    def is_bind(self) -> bool:
        """Compose reads a source that starts like a path as a bind mount, else a named volume."""
        return self.source.startswith((".", "/", "~"))


def _mount(service: str, entry: str | dict[str, Any]) -> Mount:
    if isinstance(entry, dict):
        return Mount(
            service, entry.get("source", ""), entry["target"], entry.get("read_only", False)
        )
    parts = entry.split(":")
    if len(parts) == 1:  # an anonymous volume: only the container path
        return Mount(service, "", parts[0], read_only=False)
    mode = parts[2].split(",") if len(parts) > 2 else []
    return Mount(service, parts[0], parts[1], read_only="ro" in mode)


def _mounts(service: str) -> list[Mount]:
    return [_mount(service, entry) for entry in _services()[service].get("volumes", [])]


def _all_mounts() -> Iterator[Mount]:
    for service in _services():
        yield from _mounts(service)


def _host_path(mount: Mount) -> Path:
    return (COMPOSE_FILE.parent / mount.source).resolve()


def test_every_bind_mount_is_in_the_repo_and_exists() -> None:
    binds = [m for m in _all_mounts() if m.is_bind]
    assert binds
    for mount in binds:
        if mount.source.startswith("/"):
            assert mount.source == DOCKER_SOCKET, (
                f"{mount.service}: {mount.source} is outside the repository"
            )
            continue
        path = _host_path(mount)
        assert path.is_relative_to(REPO), f"{mount.service}: {mount.source} leaves the repository"
        assert path.exists(), f"{mount.service}: {mount.source} does not exist"


def test_only_the_controller_gets_the_docker_socket() -> None:
    socket_users = [m.service for m in _all_mounts() if m.source == DOCKER_SOCKET]
    assert socket_users == ["controller"]
    [socket] = [m for m in _mounts("controller") if m.source == DOCKER_SOCKET]
    assert socket.target == DOCKER_SOCKET


def test_configuration_is_mounted_read_only() -> None:
    for mount in _all_mounts():
        if mount.is_bind and mount.source != DOCKER_SOCKET:
            assert mount.read_only, f"{mount.service}: {mount.source} is writable"


def _in_container(service: str, container_path: str) -> Path:
    """The host path behind a container path of a service (deepest bind mount that covers it)."""
    wanted = PurePosixPath(container_path)
    covering = [
        m for m in _mounts(service) if m.is_bind and wanted.is_relative_to(PurePosixPath(m.target))
    ]
    assert covering, f"{service}: nothing is mounted at {container_path}"
    mount = max(covering, key=lambda m: len(PurePosixPath(m.target).parts))
    return _host_path(mount) / wanted.relative_to(PurePosixPath(mount.target))


# --- images and ports ------------------------------------------------------------------------------


def _tag(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def test_tag_reads_the_tag_not_a_registry_port() -> None:
    assert _tag("prom/prometheus:v3.13.0") == "v3.13.0"
    assert _tag("localhost:5000/grafana") == ""
    assert _tag("python:3.11.14-slim-bookworm@sha256:00") == "3.11.14-slim-bookworm"


def test_every_image_is_pinned() -> None:
    images = {name: s["image"] for name, s in _services().items() if "image" in s}
    assert set(images) == {"prometheus", "grafana"}
    for name, image in images.items():
        tag = _tag(image)
        assert tag != "latest", f"{name}: {image}"
        assert PINNED_TAG.search(tag), f"{name}: {image} has no X.Y.Z version tag"


def _host_ip(port: str | int | dict[str, Any]) -> str:
    """The host address a published port binds ("" means every interface)."""
    if isinstance(port, dict):
        return str(port.get("host_ip", ""))
    parts = str(port).split("/", 1)[0].rsplit(":", 2)
    return parts[0].strip("[]") if len(parts) == 3 else ""


def test_host_ip_parsing() -> None:
    assert _host_ip("127.0.0.1:9090:9090") == "127.0.0.1"
    assert _host_ip("3000:3000") == ""
    assert _host_ip(3000) == ""
    assert _host_ip("[::1]:3000:3000/tcp") == "::1"
    assert _host_ip({"target": 3000, "published": 3000}) == ""


def test_every_published_port_binds_loopback_only() -> None:
    published = 0
    for name, service in _services().items():
        assert service.get("network_mode") != "host", f"{name} uses the host's network"
        for port in service.get("ports", []):
            assert _host_ip(port) == "127.0.0.1", f"{name}: {port} is not bound to 127.0.0.1"
            published += 1
    assert published == 3


# --- the controller image --------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


def _words(arguments: str) -> list[str]:
    """Arguments of an instruction in exec (JSON) or shell form."""
    if arguments.lstrip().startswith("["):
        words: list[str] = json.loads(arguments)
        return words
    return shlex.split(arguments)


def _copy_sources() -> list[str]:
    sources: list[str] = []
    for instruction, arguments in _instructions():
        if instruction in {"COPY", "ADD"}:
            words = [w for w in _words(arguments) if not w.startswith("--")]
            sources += words[:-1]
    return sources


def _ignored(relative: str) -> bool:
    """Whether .dockerignore keeps a path out of the build context: the last pattern that matches
    the path or one of its parent folders decides, `!` patterns re-include."""
    parts = PurePosixPath(relative).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for line in DOCKERIGNORE.read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(fnmatch(c, pattern) or fnmatch(c, pattern.replace("**/", "")) for c in candidates):
            ignored = not negated
    return ignored


def test_controller_is_built_from_the_repo_dockerfile() -> None:
    build = _services()["controller"]["build"]
    if isinstance(build, str):
        build = {"context": build}
    assert (COMPOSE_FILE.parent / build["context"]).resolve() == REPO
    assert REPO / build.get("dockerfile", "Dockerfile") == DOCKERFILE
    assert DOCKERFILE.is_file()


def test_dockerfile_base_is_pinned() -> None:
    bases = [_words(args)[0] for instruction, args in _instructions() if instruction == "FROM"]
    assert bases
    for base in bases:
        assert PINNED_TAG.search(_tag(base)), f"FROM {base} has no X.Y.Z version tag"


def test_every_copied_file_exists_and_reaches_the_build_context() -> None:
    sources = _copy_sources()
    assert sources
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY {source}: no such file in the repository"
        assert not _ignored(source), f"COPY {source}: excluded by .dockerignore"
        files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else []
        dropped = [
            p.relative_to(REPO).as_posix()
            for p in files
            if "__pycache__" not in p.parts and _ignored(p.relative_to(REPO).as_posix())
        ]
        assert not dropped, f"COPY {source}: .dockerignore drops {dropped}"


def test_dockerfile_copies_what_pip_install_needs() -> None:
    """`pip install .` reads pyproject.toml, the readme it names and the packages it finds."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = {"pyproject.toml", project["project"]["readme"]}
    for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]:
        needed |= {p.name for p in REPO.glob(pattern) if (p / "__init__.py").is_file()}
    copied = {PurePosixPath(source).as_posix().rstrip("/") for source in _copy_sources()}
    assert needed <= copied, f"not copied: {needed - copied}"
    runs = [args for instruction, args in _instructions() if instruction == "RUN"]
    assert any(re.search(r"\bpip install \.(\s|$)", run) for run in runs)
    assert not any("-e " in run or "[dev]" in run for run in runs)


def _entrypoint_and_cmd() -> tuple[list[str], list[str]]:
    found = {
        instr: _words(args) for instr, args in _instructions() if instr in {"ENTRYPOINT", "CMD"}
    }
    return found.get("ENTRYPOINT", []), found.get("CMD", [])


def test_image_runs_the_controller_on_the_manifests_folder() -> None:
    entrypoint, cmd = _entrypoint_and_cmd()
    assert entrypoint == ["podyard"]
    args = build_parser().parse_args(cmd)
    assert (args.command, args.manifests, args.listen) == ("run", "/manifests", ("0.0.0.0", 9180))
    exposed = [args for instruction, args in _instructions() if instruction == "EXPOSE"]
    assert exposed == ["9180"]


# --- wiring between the services -------------------------------------------------------------------


def _makefile_pause_image() -> str:
    match = re.search(r"^PAUSE_IMAGE \?= (\S+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert match is not None
    return match[1]


def _controller_args() -> Any:
    command = _services()["controller"]["command"]
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    return build_parser().parse_args(words)


def test_controller_command_is_accepted_by_the_cli_and_matches_the_mounts() -> None:
    args = _controller_args()
    assert args.command == "run"
    assert _in_container("controller", args.manifests) == REPO / "manifests"
    [manifests] = [m for m in _mounts("controller") if m.target == args.manifests]
    assert manifests.read_only
    assert args.listen == ("0.0.0.0", 9180)
    assert args.pause_image == _makefile_pause_image()
    assert _services()["controller"]["ports"] == [f"127.0.0.1:{args.listen[1]}:{args.listen[1]}"]


def test_prometheus_scrapes_the_controller_service_on_its_listen_port() -> None:
    config = yaml.safe_load(_in_container("prometheus", PROMETHEUS_DEFAULT_CONFIG).read_text())
    targets = [
        t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    ]
    assert targets == [f"controller:{_controller_args().listen[1]}"]


def test_prometheus_config_and_rules_pass_promtool_where_the_container_reads_them(
    tmp_path: Path,
) -> None:
    """Rebuilds the container's view of its mounts and checks the config there, so a rule_files
    path that only resolves in the repository (not under /etc/prometheus) fails."""
    assert "command" not in _services()["prometheus"], "the image's default --config.file is used"
    for mount in _mounts("prometheus"):
        destination = tmp_path / mount.target.lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = _host_path(mount)
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copy2(source, destination)
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package `prometheus`); run `make setup`")
    config = tmp_path / PROMETHEUS_DEFAULT_CONFIG.lstrip("/")
    result = subprocess.run(
        [promtool, "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool check config failed:\n{output}"
    rule_files = yaml.safe_load(config.read_text())["rule_files"]
    assert f"SUCCESS: {len(rule_files)} rule files found" in output


def test_grafana_finds_its_datasource_provider_and_every_dashboard() -> None:
    datasources = _in_container("grafana", f"{GRAFANA_PROVISIONING}/datasources")
    [source] = yaml.safe_load((datasources / "prometheus.yaml").read_text())["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in _services()
    providers_dir = _in_container("grafana", f"{GRAFANA_PROVISIONING}/dashboards")
    [provider] = yaml.safe_load((providers_dir / "podyard.yaml").read_text())["providers"]
    loaded = set(_in_container("grafana", provider["options"]["path"]).rglob("*.json"))
    dashboards = set(DASHBOARDS.glob("*.json"))
    assert dashboards
    assert dashboards <= {p.resolve() for p in loaded}


def test_grafana_home_dashboard_and_anonymous_viewers() -> None:
    environment = _services()["grafana"]["environment"]
    home = environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _in_container("grafana", home) == DASHBOARDS / "podyard-overview.json"
    assert (
        environment["GF_AUTH_ANONYMOUS_ENABLED"],
        environment["GF_AUTH_ANONYMOUS_ORG_ROLE"],
    ) == (
        "true",
        "Viewer",
    )
