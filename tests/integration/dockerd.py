"""A private Docker engine for the integration tests, side by side with any other.

A test controller reconciles *every* Podyard-labelled container on its engine, so the
integration tests must never talk to the user's default engine: they start their own
``dockerd`` with its own socket, data root, exec root (and so its own containerd), its own
bridge and its own /24, and pass its address (``unix://DIR/docker.sock``) explicitly.

One engine is a *slot*: a name (the directory ``BASE/podyard-it-<name>``) and a subnet index
``n`` (the bridge ``pyd<n>`` with ``10.213.<n>.1/24``). Each slot is guarded by two
``flock`` locks, so concurrent test sessions never share one, and everything a slot owns on
the host can be found again from the disk and /proc alone: :meth:`PrivateDockerd.stop`
cleans up after a crashed session too, and :func:`reap_stale_engines` does so for every
slot no live session holds.

Host facts this module deals with (Debian 12, docker.io 20.10, cgroup v1):

* ``--iptables=false`` is mandatory: a second daemon with iptables on rewrites the shared
  ``DOCKER*`` chains and breaks the default engine. Published ports then rely on the
  userland proxy (``docker-proxy``), which is kept on explicitly.
* ``--bridge`` needs an existing bridge and must not be combined with ``--bip``.
* When the default engine runs with iptables on, ``bridge-nf-call-iptables`` is 1 and the
  ``FORWARD`` policy is ``DROP``: bridged traffic between two containers on *our* bridge
  is dropped. One ``ACCEPT`` rule for ``-i pyd<n> -o pyd<n>``, tagged with a comment, is
  inserted into ``FORWARD`` and removed again on stop; nothing else in iptables is touched.
* dockerd 20.10 derives its engine ID from ``/etc/docker/key.json``: two daemons on one host
  would report the same ID. Each private daemon gets its own key file, set in its own
  ``daemon.json`` (``deprecated-key-path`` is no command-line flag); otherwise that file is
  ``{}``, which keeps ``/etc/docker/daemon.json`` out.
* A killed daemon stays a zombie until its parent reaps it (PID 1 may reap late), and
  dockerd trusts a containerd pid file whose pid "exists": liveness is read from
  ``/proc/PID/stat`` (state ``Z``/``X`` is dead) and stale pid files are removed.
* dockerd starts containerd and docker-proxy with a parent-death signal: a SIGKILLed dockerd
  takes them along, but the shims and containers run on. Killing those behind containerd's
  back leaves shim sockets in ``/run/containerd/s`` and empty cgroups, removed as well.
* A SIGTERM'd dockerd stops each running container with its stop timeout (10 s for a
  shell that ignores SIGTERM); :meth:`PrivateDockerd.stop` kills them through the API first.
* Overlay and netns mounts may remain under the directory after a crash: they are
  unmounted (lazily, deepest first) and the directory is only removed once no mount is left
  below it, so ``rmtree`` never walks into a foreign file system.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import http.client
import ipaddress
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

__all__ = [
    "CLAIM_LABEL",
    "DEFAULT_BASE_DIR",
    "DEMO_IMAGE",
    "LEASE_LABEL",
    "PAUSE_IMAGE",
    "POD_LABEL",
    "SUBNET_PREFIX",
    "TEST_NAME_PREFIX",
    "EngineError",
    "PrivateDockerd",
    "PrivateDockerdError",
    "SlotBusyError",
    "engine_request",
    "ping",
    "reap_stale_engines",
    "remove_test_objects",
    "start_private_dockerd",
]

DEMO_IMAGE = "localhost/podyard-busybox:1"
PAUSE_IMAGE = "localhost/podyard-pause:1"
POD_LABEL = "io.podyard.pod.uid"
CLAIM_LABEL = "io.podyard.pvc"
TEST_NAME_PREFIX = "podyard-test-"
LEASE_LABEL = "io.podyard.lease"
"""The engine lease container (`podyard-lease`): removed between tests like a pod, so a test's
controller never waits for the lease of the previous test's controller to expire."""

DEFAULT_BASE_DIR = Path("/tmp")
SUBNET_PREFIX = "10.213"

_DIR_PREFIX = "podyard-it-"
_LOCK_DIR_NAME = "podyard-it-locks"
_SLOT_FILE = "slot.json"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
# sun_path is 108 bytes; containerd's longest socket is DIR/exec/containerd/containerd.sock.ttrpc.
_MAX_SOCKET_PATH = 100
_LONGEST_SOCKET_SUFFIX = "/exec/containerd/containerd.sock.ttrpc"
_MNT_DETACH = 2
_DAEMON_COMMS = ("dockerd", "containerd", "docker-proxy", "runc")


class PrivateDockerdError(RuntimeError):
    """The private engine could not be started or cleaned up; the message says why."""


class SlotBusyError(PrivateDockerdError):
    """The slot (name or subnet) is held by another live session or used by the host."""


class EngineError(PrivateDockerdError):
    """The engine's API answered with an error status (or not at all)."""


# --- a minimal Docker API client over the unix socket (stdlib only) --------------------------


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def _socket_path(docker_host: str) -> str:
    if not docker_host.startswith("unix://"):
        raise ValueError(f"only unix:// engine addresses are supported, not {docker_host!r}")
    return docker_host.removeprefix("unix://")


def engine_request(
    docker_host: str,
    method: str,
    path: str,
    *,
    timeout: float = 10.0,
    ok: Iterable[int] = (200, 201, 204, 304),
) -> Any:
    """One Docker Engine API call on ``unix://...``; returns the decoded JSON body (or None).

    Raises :class:`EngineError` when the engine does not answer or answers a status not in
    ``ok``. Synchronous and dependency-free, so fixtures can use it outside any event loop.
    """
    conn = _UnixHTTPConnection(_socket_path(docker_host), timeout)
    try:
        conn.request(method, path, headers={"Host": "docker"})
        response = conn.getresponse()
        body = response.read()
    except OSError as exc:
        raise EngineError(f"{method} {path} on {docker_host}: no answer ({exc})") from exc
    finally:
        conn.close()
    if response.status not in set(ok):
        text = body.decode(errors="replace").strip()
        raise EngineError(f"{method} {path} on {docker_host}: HTTP {response.status}: {text}")
    if not body:
        return None
    if response.getheader("Content-Type", "").startswith("application/json"):
        return json.loads(body)
    return body.decode(errors="replace")


def ping(docker_host: str, timeout: float = 2.0) -> bool:
    """Whether the engine at ``docker_host`` answers ``GET /_ping`` with OK."""
    try:
        answer = engine_request(docker_host, "GET", "/_ping", timeout=timeout)
    except (EngineError, ValueError):
        return False
    return bool(answer == "OK")


def _query(**params: str) -> str:
    return urllib.parse.urlencode(params)


def remove_test_objects(docker_host: str, timeout: float = 30.0) -> list[str]:
    """Force-remove what tests create: Podyard-labelled containers and volumes, the engine lease,
    and containers named ``podyard-test-*``. Returns the names removed."""
    removed: list[str] = []
    containers: dict[str, str] = {}
    for filters in ({"label": [POD_LABEL]}, {"label": [LEASE_LABEL]}, {"name": [TEST_NAME_PREFIX]}):
        listing = engine_request(
            docker_host,
            "GET",
            "/containers/json?" + _query(all="1", filters=json.dumps(filters)),
            timeout=timeout,
        )
        for item in listing:
            names = [str(n).lstrip("/") for n in item.get("Names") or []]
            labelled = bool({POD_LABEL, LEASE_LABEL} & set(item.get("Labels") or {}))
            if labelled or any(n.startswith(TEST_NAME_PREFIX) for n in names):
                containers[str(item["Id"])] = names[0] if names else str(item["Id"])[:12]
    for cid, name in containers.items():
        engine_request(
            docker_host,
            "DELETE",
            f"/containers/{cid}?" + _query(force="1", v="1"),
            timeout=timeout,
            ok=(204, 404, 409),  # 409: removal already in progress
        )
        removed.append(name)
    # A test's claims go too (Podyard itself never removes a claim's volume: Retain).
    listed: list[dict[str, Any]] = []
    for label in (POD_LABEL, CLAIM_LABEL):
        volumes = engine_request(
            docker_host,
            "GET",
            "/volumes?" + _query(filters=json.dumps({"label": [label]})),
            timeout=timeout,
        )
        listed += (volumes or {}).get("Volumes") or []
    deadline = time.monotonic() + timeout
    for volume in listed:
        name = str(volume["Name"])
        path = f"/volumes/{urllib.parse.quote(name)}?" + _query(force="1")
        while True:
            try:
                engine_request(docker_host, "DELETE", path, timeout=timeout, ok=(204, 404))
                break
            except EngineError as exc:
                # 409 "in use" while a container's removal is still in progress.
                if "HTTP 409" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)
        removed.append(f"volume {name}")
    return removed


# --- processes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Proc:
    pid: int
    ppid: int
    state: str
    comm: str
    argv: tuple[str, ...]

    @property
    def live(self) -> bool:
        return self.state not in ("Z", "X", "x")


def _read_proc(pid: int) -> _Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    head, _, tail = stat.rpartition(")")
    fields = tail.split()
    if len(fields) < 2:
        return None
    argv = tuple(a.decode(errors="replace") for a in raw.split(b"\0") if a)
    return _Proc(pid, int(fields[1]), fields[0], head.partition("(")[2], argv)


def _processes() -> dict[int, _Proc]:
    procs: dict[int, _Proc] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            proc = _read_proc(int(entry.name))
            if proc is not None:
                procs[proc.pid] = proc
    return procs


def _is_live(pid: int) -> bool:
    """True for a running process; a zombie (killed, not yet reaped) counts as dead."""
    proc = _read_proc(pid)
    return proc is not None and proc.live


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _remove_stale_pidfile(path: Path, name: str) -> int | None:
    """Remove ``path`` unless a live process called ``name`` owns it; return that pid.

    Daemons trust a pid file whose pid merely exists (``kill -0``), and a zombie or a
    reused pid exists too.
    """
    pid = _read_pid(path)
    if pid is not None:
        proc = _read_proc(pid)
        if proc is not None and proc.live and proc.comm.startswith(name):
            return pid
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return None


def _wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --- mounts -------------------------------------------------------------------------------


def _unescape_mount_path(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` (host mount namespace), deepest first."""
    prefix = str(root).rstrip("/") + "/"
    found: list[str] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) > 4:
            point = _unescape_mount_path(fields[4])
            if point == str(root) or point.startswith(prefix):
                found.append(point)
    return sorted(set(found), key=lambda p: (p.count("/"), len(p)), reverse=True)


def _unmount_all_under(root: Path) -> list[str]:
    """Lazily unmount everything at or below ``root``; returns what is still mounted."""
    libc = ctypes.CDLL(None, use_errno=True)
    for attempt in range(5):
        points = _mounts_under(root)
        if not points:
            return []
        if attempt:
            time.sleep(0.1)
        for point in points:
            # Errors are expected (EINVAL once a parent went first); the re-scan decides.
            libc.umount2(os.fsencode(point), _MNT_DETACH)
    return _mounts_under(root)


# --- host networking ------------------------------------------------------------------------


def _run(argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )


def _require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PrivateDockerdError(f"{name} is not on PATH; {hint}")
    return path


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _networks_in_use(exclude_dev: str) -> list[tuple[ipaddress.IPv4Network, str]]:
    """IPv4 networks of the host's routes (all tables) and addresses, with the device."""
    used: list[tuple[ipaddress.IPv4Network, str]] = []
    routes = _run(["ip", "-j", "-4", "route", "show", "table", "all"])
    addrs = _run(["ip", "-j", "-4", "addr", "show"])
    for result in (routes, addrs):
        if result.returncode != 0:
            raise PrivateDockerdError(f"{' '.join(result.args)} failed: {result.stderr.strip()}")
    for route in json.loads(routes.stdout or "[]"):
        dst, dev = str(route.get("dst", "")), str(route.get("dev", ""))
        if dst and dst != "default" and dev != exclude_dev:
            with contextlib.suppress(ValueError):
                used.append((ipaddress.IPv4Network(dst, strict=False), dev))
    for link in json.loads(addrs.stdout or "[]"):
        dev = str(link.get("ifname", ""))
        if dev == exclude_dev:
            continue
        for info in link.get("addr_info") or []:
            with contextlib.suppress(ValueError, KeyError):
                net = f"{info['local']}/{info['prefixlen']}"
                used.append((ipaddress.IPv4Network(net, strict=False), dev))
    return used


# --- the engine ------------------------------------------------------------------------------


class PrivateDockerd:
    """A dockerd of its own: socket, data root, exec root, containerd, bridge and /24.

    ``name`` (``[a-z0-9-]``, up to 20 characters) names the directory
    ``BASE/podyard-it-<name>``; ``subnet_index`` (1..254) picks the bridge ``pyd<n>`` and the
    network ``10.213.<n>.0/24`` (gateway ``.1`` on the bridge). Usable as a context manager.

    * :meth:`start` creates everything and returns the ``unix://`` address (``docker_host``).
    * :meth:`stop` removes everything, also what a crashed earlier run left in the same slot;
      it is idempotent and never touches another engine's processes, mounts or links.
    * :meth:`kill_engine` SIGKILLs dockerd, like an engine crash; :meth:`restart` starts it
      again on the same state.
    """

    def __init__(
        self,
        name: str,
        subnet_index: int,
        *,
        base_dir: Path | str = DEFAULT_BASE_DIR,
        dockerd: str = "dockerd",
        extra_args: Sequence[str] = (),
        prefix_len: int = 24,
    ) -> None:
        """`extra_args` go to dockerd after the slot's own (another `--host`, TLS flags).
        `prefix_len` below 24 widens the network for more than 253 pods (a /22 holds 1,021):
        ``10.213.<n>.0/<prefix_len>``, so `subnet_index` must be aligned to it, and the slots it
        covers are found in use by the overlap check."""
        if not _NAME_RE.match(name):
            raise ValueError(f"engine name must match {_NAME_RE.pattern}, not {name!r}")
        if not 1 <= subnet_index <= 254:
            raise ValueError(f"subnet_index must be in 1..254, not {subnet_index}")
        self.name = name
        self.subnet_index = subnet_index
        self.base_dir = Path(base_dir)
        self.dir = self.base_dir / f"{_DIR_PREFIX}{name}"
        if len(str(self.dir)) + len(_LONGEST_SOCKET_SUFFIX) > _MAX_SOCKET_PATH:
            raise ValueError(f"{self.dir} is too long for unix socket paths below it")
        self.bridge = f"pyd{subnet_index}"
        self.network = ipaddress.IPv4Network(f"{SUBNET_PREFIX}.{subnet_index}.0/{prefix_len}")
        self.gateway = self.network.network_address + 1
        self.socket_path = self.dir / "docker.sock"
        self.docker_host = f"unix://{self.socket_path}"
        self.data_root = self.dir / "data"
        self.exec_root = self.dir / "exec"
        self.log_path = self.dir / "dockerd.log"
        self.pidfile = self.dir / "docker.pid"
        self.containerd_pidfile = self.exec_root / "containerd" / "containerd.pid"
        self._dockerd = dockerd
        self._extra_args = tuple(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None
        self._locks: list[IO[str]] = []
        self._firewall_comment = f"podyard-it {self.bridge}"

    def __repr__(self) -> str:
        return f"PrivateDockerd({self.name!r}, {self.subnet_index}, dir={str(self.dir)!r})"

    def __enter__(self) -> PrivateDockerd:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- public API ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The pid of the dockerd this object started, while it runs."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        return None

    @property
    def containerd_pid(self) -> int | None:
        """The pid of this engine's containerd, while it runs."""
        pid = _read_pid(self.containerd_pidfile)
        return pid if pid is not None and _is_live(pid) else None

    def start(self, timeout: float = 60.0) -> str:
        """Create the slot's bridge, directories and daemon, wait until the API answers.

        Returns the ``unix://`` address. Raises :class:`SlotBusyError` when the slot is
        held by another session or its /24 is used on the host, and
        :class:`PrivateDockerdError` for anything else (with the daemon's last log lines).
        """
        if self._proc is not None:
            raise PrivateDockerdError(f"{self!r} is already started")
        if os.geteuid() != 0:
            raise PrivateDockerdError(
                "the integration tests start their own dockerd next to any other (never the "
                "default engine), which needs root: run them as root"
            )
        self._acquire_locks()
        try:
            try:
                self._cleanup()  # whatever a crashed earlier run left in this slot
            except PrivateDockerdError as exc:
                raise SlotBusyError(f"leftovers of an earlier run remain: {exc}") from exc
            self._check_subnet_free()
            _require_tool(
                self._dockerd,
                "install Docker's engine (Debian: apt-get install docker.io, which "
                "scripts/ensure-docker.sh does)",
            )
            self.dir.mkdir(mode=0o711, parents=True)
            (self.dir / _SLOT_FILE).write_text(
                json.dumps({"name": self.name, "subnet_index": self.subnet_index}) + "\n"
            )
            for sub in (self.data_root, self.exec_root):
                sub.mkdir(mode=0o711)
            # Our own config keeps /etc/docker/daemon.json (the default engine's) out.
            (self.dir / "daemon.json").write_text(json.dumps(self._daemon_config()) + "\n")
            self._create_bridge()
            self._allow_forwarding()
            self._launch(timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                self._cleanup()
            self._release_locks()
            raise
        return self.docker_host

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the daemon, its containerd and containers; remove mounts, bridge and dir.

        SIGTERM, up to ``timeout`` seconds, then SIGKILL. Safe to call more than once and
        on a slot left behind by a crashed run. Raises :class:`PrivateDockerdError` only
        when something could not be removed (after trying everything).
        """
        try:
            self._cleanup(timeout)
        finally:
            self._release_locks()

    def kill_engine(self) -> None:
        """SIGKILL dockerd, like an engine crash.

        Its containerd and docker-proxy processes die with it (dockerd starts them with a
        parent-death signal); the containers keep running under their shims, and their
        published ports stop answering. The API is gone until :meth:`restart`.
        """
        proc = self._proc
        if proc is None:
            raise PrivateDockerdError(f"{self!r} was not started by this object")
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)

    def kill_host(self) -> None:
        """The whole host dies, as in a power loss: dockerd SIGKILLed, then its containerd,
        shims and containers. The API is gone until :meth:`restart`, which finds every
        container stopped."""
        self.kill_engine()
        alive = self._kill_leftovers(timeout=10.0)
        if alive:
            raise PrivateDockerdError(f"{self!r}: processes still running: {'; '.join(alive)}")

    def restart(self, timeout: float = 60.0, *, kill_containers: bool = False) -> str:
        """Start dockerd again on the same state (stopping it gracefully first if it runs).

        After :meth:`kill_engine`, containers still running are found by the new daemon,
        which (no live-restore) stops them with their stop timeout before it answers: 10 s
        for a shell or httpd as PID 1, which ignore SIGTERM. With ``kill_containers`` they
        are SIGKILLed first (like a node reboot) and the restart takes about a second;
        either way restart policies then apply.
        """
        if not self._locks:
            raise PrivateDockerdError(f"{self!r} is not started")
        if kill_containers:
            if self._proc is not None and self._proc.poll() is None:
                self.kill_engine()
            self._proc = None
            alive = self._kill_leftovers(timeout=10.0)
        else:
            # Graceful, as `systemctl restart docker`: no kill through the API first, which
            # would mark the containers stopped by hand and so exempt from restart policies.
            self._stop_dockerd(timeout=20.0, kill_containers=False)
            # A docker-proxy that outlived its dockerd would keep the published ports.
            for proc in self._owned_processes():
                if proc.comm == "docker-proxy":
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGKILL)
            _wait_until(
                lambda: not any(p.comm == "docker-proxy" for p in self._owned_processes()), 10.0
            )
            alive = []
        if alive:
            raise PrivateDockerdError(f"{self!r}: processes still running: {'; '.join(alive)}")
        self._launch(timeout)
        return self.docker_host

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the daemon's log (empty when there is none)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- locks -----------------------------------------------------------------------------

    def _lock_paths(self) -> list[Path]:
        lock_dir = self.base_dir / _LOCK_DIR_NAME
        return [lock_dir / f"name-{self.name}.lock", lock_dir / f"net-{self.subnet_index}.lock"]

    def _acquire_locks(self) -> None:
        if self._locks:
            return
        for path in self._lock_paths():
            path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            handle = path.open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                self._release_locks()
                raise SlotBusyError(
                    f"{self!r}: {path.name} is held by another live session"
                ) from None
            self._locks.append(handle)

    def _release_locks(self) -> None:
        while self._locks:
            handle = self._locks.pop()
            with contextlib.suppress(OSError):
                fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    # -- start -----------------------------------------------------------------------------

    def _check_subnet_free(self) -> None:
        for net, dev in _networks_in_use(exclude_dev=self.bridge):
            if net.overlaps(self.network):
                raise SlotBusyError(f"{self.network} overlaps {net} on {dev or 'the host'}")

    def _create_bridge(self) -> None:
        _require_tool("ip", "install iproute2")
        result = _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        if result.returncode != 0:
            raise PrivateDockerdError(
                f"cannot create the bridge {self.bridge} for the private test engine "
                f"(`ip link add {self.bridge} type bridge`: {result.stderr.strip()}). "
                "The integration tests start their own dockerd next to any other and need "
                "root with CAP_NET_ADMIN for that: run them as root."
            )
        for argv in (
            ["ip", "addr", "add", f"{self.gateway}/{self.network.prefixlen}", "dev", self.bridge],
            ["ip", "link", "set", self.bridge, "up"],
        ):
            result = _run(argv)
            if result.returncode != 0:
                raise PrivateDockerdError(f"`{' '.join(argv)}` failed: {result.stderr.strip()}")

    def _firewall_rule(self) -> list[str]:
        return [
            "FORWARD",
            "-i", self.bridge, "-o", self.bridge,
            "-m", "comment", "--comment", self._firewall_comment,
            "-j", "ACCEPT",
        ]  # fmt: skip

    def _allow_forwarding(self) -> None:
        """Let containers on our bridge talk to each other despite FORWARD policy DROP."""
        iptables = shutil.which("iptables")
        if iptables is None:
            return  # no iptables: nothing can filter bridged traffic either
        result = _run([iptables, "-w", "10", "-I", *self._firewall_rule()])
        if result.returncode != 0:
            raise PrivateDockerdError(
                f"cannot add the FORWARD rule for {self.bridge}: {result.stderr.strip()}"
            )

    def _remove_forwarding(self) -> None:
        iptables = shutil.which("iptables")
        if iptables is None:
            return
        for _ in range(20):  # one per earlier run that could not remove its own
            if _run([iptables, "-w", "10", "-D", *self._firewall_rule()]).returncode != 0:
                return

    def _dockerd_argv(self) -> list[str]:
        return [
            self._dockerd,
            f"--host=unix://{self.socket_path}",
            f"--data-root={self.data_root}",
            f"--exec-root={self.exec_root}",
            f"--pidfile={self.pidfile}",
            f"--config-file={self.dir / 'daemon.json'}",
            f"--bridge={self.bridge}",
            "--iptables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--userland-proxy=true",
            *self._extra_args,
        ]

    def _daemon_config(self) -> dict[str, str]:
        if _dockerd_major_version(self._dockerd) < 23:
            # dockerd 20.10 derives its engine ID from this key, by default the shared
            # /etc/docker/key.json; it is a config-file key only (no such flag), and
            # unknown (fatal) from 23 on, where the ID lives in the data root.
            return {"deprecated-key-path": str(self.dir / "key.json")}
        return {}

    def _launch(self, timeout: float) -> None:
        running = _remove_stale_pidfile(self.pidfile, "dockerd")
        if running is not None:
            raise PrivateDockerdError(f"dockerd (pid {running}) of {self!r} is still running")
        # A live containerd (after kill_engine) is reused by the new dockerd; a dead one's
        # pid file would make dockerd wait for it.
        _remove_stale_pidfile(self.containerd_pidfile, "containerd")
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        argv = self._dockerd_argv()
        with self.log_path.open("ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            # Own session: a Ctrl-C on the test run does not reach the daemon; stop() does.
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not ping(self.docker_host, timeout=2.0):
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                raise PrivateDockerdError(
                    f"dockerd of {self!r} exited with {code} during start-up; "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                )
            if time.monotonic() >= deadline:
                self._stop_dockerd(timeout=5.0)
                raise PrivateDockerdError(
                    f"dockerd of {self!r} did not answer within {timeout:g} s; "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    # -- stop ------------------------------------------------------------------------------

    def _kill_containers(self) -> None:
        """Kill running containers first: dockerd's own shutdown waits out stop timeouts."""
        if not self.socket_path.exists() or not ping(self.docker_host, timeout=1.0):
            return
        with contextlib.suppress(EngineError):
            for item in engine_request(self.docker_host, "GET", "/containers/json", timeout=5):
                with contextlib.suppress(EngineError):
                    engine_request(
                        self.docker_host,
                        "POST",
                        f"/containers/{item['Id']}/kill",
                        timeout=5,
                        ok=(204, 404, 409),
                    )

    def _stop_dockerd(self, timeout: float, *, kill_containers: bool = True) -> None:
        """Stop the dockerd this object started (SIGTERM, then SIGKILL) and reap it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            if kill_containers:
                self._kill_containers()
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)

    def _owned_processes(self) -> list[_Proc]:
        """Every live process of this slot: daemons, shims and what runs in the containers.

        Found by a path below our directory in the command line of a daemon (dockerd,
        containerd, the shims, runc), by our subnet (docker-proxy), and then all their
        descendants. Other processes that merely name our directory are left alone.
        """
        procs = _processes()
        marker = str(self.dir) + "/"
        me = os.getpid()
        roots: set[int] = set()
        for proc in procs.values():
            if proc.pid == me or not proc.live:
                continue
            if not proc.comm.startswith(_DAEMON_COMMS):
                continue
            names_our_dir = any(marker in arg for arg in proc.argv)
            if names_our_dir or self._proxies_our_subnet(proc):
                roots.add(proc.pid)
        children: dict[int, list[int]] = {}
        for proc in procs.values():
            children.setdefault(proc.ppid, []).append(proc.pid)
        owned: set[int] = set()
        todo = list(roots)
        while todo:
            pid = todo.pop()
            if pid not in owned and pid != me:
                owned.add(pid)
                todo.extend(children.get(pid, []))
        return [procs[pid] for pid in sorted(owned) if procs[pid].live]

    def _proxies_our_subnet(self, proc: _Proc) -> bool:
        if proc.comm != "docker-proxy":
            return False
        for flag, value in itertools.pairwise(proc.argv):
            if flag == "-container-ip":
                with contextlib.suppress(ValueError):
                    return ipaddress.IPv4Address(value) in self.network
        return False

    def _kill_leftovers(self, timeout: float) -> list[str]:
        """SIGTERM containerd, then SIGKILL every process this slot still owns."""
        containerd = self.containerd_pid
        if containerd is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(containerd, signal.SIGTERM)
            _wait_until(lambda: not _is_live(containerd), timeout)
        shims: list[dict[str, str]] = []
        for _ in range(3):
            leftovers = self._owned_processes()
            if not leftovers:
                break
            for proc in leftovers:
                if proc.comm.startswith("containerd-shim"):
                    shims.append(dict(itertools.pairwise(proc.argv)))
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
            _wait_until(lambda: not self._owned_processes(), 10.0)
        # Shims and containers killed behind containerd's back leave their shim socket
        # (containerd 1.6: /run/containerd/s/sha256(address/namespace/id)) and an empty
        # cgroup (cgroup v1, cgroupfs driver) behind.
        for shim in shims:
            cid, address, namespace = (shim.get(k, "") for k in ("-id", "-address", "-namespace"))
            if not cid:
                continue
            digest = hashlib.sha256(f"{address}/{namespace}/{cid}".encode()).hexdigest()
            with contextlib.suppress(OSError):
                Path("/run/containerd/s", digest).unlink()
            for cgroup in Path("/sys/fs/cgroup").glob(f"*/docker/{cid}"):
                with contextlib.suppress(OSError):
                    cgroup.rmdir()
        return [f"{p.pid} {' '.join(p.argv)[:120]}" for p in self._owned_processes()]

    def _cleanup(self, timeout: float = 20.0) -> None:
        problems: list[str] = []
        self._stop_dockerd(timeout)
        stale_pid = _read_pid(self.pidfile)
        if stale_pid is not None and _is_live(stale_pid) and self._owns(stale_pid):
            # A dockerd of this slot from a crashed run (not our child): same treatment.
            self._kill_containers()
            with contextlib.suppress(ProcessLookupError):
                os.kill(stale_pid, signal.SIGTERM)
            _wait_until(lambda: not _is_live(stale_pid), timeout)
        alive = self._kill_leftovers(timeout=10.0)
        if alive:
            problems.append("processes still running: " + "; ".join(alive))
        mounted = _unmount_all_under(self.dir)
        if mounted:
            problems.append("still mounted: " + ", ".join(mounted))
        elif self.dir.exists():
            try:
                shutil.rmtree(self.dir)
            except OSError as exc:
                problems.append(f"cannot remove {self.dir}: {exc}")
        if _link_exists(self.bridge):
            result = _run(["ip", "link", "delete", self.bridge, "type", "bridge"])
            if result.returncode != 0 and _link_exists(self.bridge):
                problems.append(f"cannot delete bridge {self.bridge}: {result.stderr.strip()}")
        self._remove_forwarding()
        if problems:
            raise PrivateDockerdError(f"cleaning up {self!r}: " + " | ".join(problems))

    def _owns(self, pid: int) -> bool:
        proc = _read_proc(pid)
        marker = str(self.dir) + "/"
        return (
            proc is not None
            and proc.comm.startswith("dockerd")
            and any(marker in arg for arg in proc.argv)
        )


_VERSIONS: dict[str, int] = {}


def _dockerd_major_version(dockerd: str) -> int:
    if dockerd not in _VERSIONS:
        result = _run([dockerd, "--version"])
        match = re.search(r"version (\d+)\.", result.stdout)
        if result.returncode != 0 or match is None:
            raise PrivateDockerdError(
                f"`{dockerd} --version` failed: {(result.stderr or result.stdout).strip()}"
            )
        _VERSIONS[dockerd] = int(match.group(1))
    return _VERSIONS[dockerd]


# --- slots ---------------------------------------------------------------------------------


def _stale_slots(base_dir: Path) -> Iterator[tuple[str, int]]:
    for slot_file in sorted(base_dir.glob(f"{_DIR_PREFIX}*/{_SLOT_FILE}")):
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(slot_file.read_text())
            yield str(data["name"]), int(data["subnet_index"])


def reap_stale_engines(base_dir: Path | str = DEFAULT_BASE_DIR) -> list[str]:
    """Clean up every slot under ``base_dir`` that no live session holds (after a crash).

    Returns the names of the slots cleaned.
    """
    reaped: list[str] = []
    for name, index in _stale_slots(Path(base_dir)):
        engine = PrivateDockerd(name, index, base_dir=base_dir)
        try:
            engine._acquire_locks()
        except SlotBusyError:
            continue  # a live session owns it
        try:
            engine.stop()
        except PrivateDockerdError:
            continue  # start_private_dockerd() skips that slot and says why if none is left
        reaped.append(name)
    return reaped


def start_private_dockerd(
    *,
    name_prefix: str = "s",
    indexes: Iterable[int] = range(1, 255),
    base_dir: Path | str = DEFAULT_BASE_DIR,
    timeout: float = 60.0,
    extra_args: Sequence[str] = (),
    prefix_len: int = 24,
) -> PrivateDockerd:
    """Start a private engine in the first free slot (``<name_prefix><n>``, subnet ``n``).

    Slots left by crashed sessions are cleaned first; slots held by live sessions or whose
    network the host already uses are skipped. With `prefix_len` below 24, only the indexes
    aligned to it are tried.
    """
    step = 1 << max(0, 24 - prefix_len)
    reap_stale_engines(base_dir)
    busy: list[str] = []
    for index in (i for i in indexes if i % step == 0):
        engine = PrivateDockerd(
            f"{name_prefix}{index}",
            index,
            base_dir=base_dir,
            extra_args=extra_args,
            prefix_len=prefix_len,
        )
        try:
            engine.start(timeout)
        except SlotBusyError as exc:
            busy.append(str(exc))
            continue
        return engine
    raise PrivateDockerdError("no free slot for a private engine: " + "; ".join(busy[-5:]))
