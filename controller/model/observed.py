"""What the engine says exists: containers and volumes Podyard created, read back from Docker.

The runtime adapter turns Docker's JSON into these types at its boundary; nothing above it sees
Docker's shapes. A container without Podyard's identity labels never becomes an `ObservedContainer`:
the adapter drops it, so no layer above can touch it by mistake.
"""

from __future__ import annotations

import enum

import attrs

from controller.model.lifecycle import LifecycleHandler
from controller.model.meta import ContainerId, NodeName, PodRef, PodUid


class ContainerRole(enum.StrEnum):
    SANDBOX = "sandbox"
    INIT = "init"
    """An init container that runs to completion before the next one (and the apps) start."""
    SIDECAR = "sidecar"
    """An init container with `restartPolicy: Always`: runs beside the apps, stopped after them."""
    APP = "app"


class RunState(enum.StrEnum):
    """Docker's states folded to what the lifecycle needs (paused/restarting count as running)."""

    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"


SANDBOX_CONTAINER_NAME = "POD"

DEFAULT_HOST_IP = "127.0.0.1"
"""Host ports bind to loopback unless the manifest's hostIP asks otherwise: safe by default."""

WILDCARD_HOST_IPS = frozenset({"", "0.0.0.0", "::"})
"""A host port bound to every address: it clashes with the same port and protocol on any IP."""


@attrs.frozen(order=True)
class HostPort:
    """A host port a pod's sandbox binds: (hostIP, hostPort, protocol), as the scheduler sees it."""

    ip: str
    port: int
    protocol: str = "TCP"

    def clashes(self, other: HostPort) -> bool:
        """Kubernetes' NodePorts rule: same port and protocol, and the same IP or a wildcard."""
        if self.port != other.port or self.protocol != other.protocol:
            return False
        wildcard = self.ip in WILDCARD_HOST_IPS or other.ip in WILDCARD_HOST_IPS
        return wildcard or self.ip == other.ip

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}/{self.protocol}"


@attrs.frozen
class ContainerIdentity:
    """Everything recovery needs, carried in the container's labels (see model.labels)."""

    pod: PodRef
    container_name: str
    role: ContainerRole
    attempt: int
    spec_hash: str
    pod_spec_hash: str
    pod_created_at: float
    backoff_seconds: float = 0.0
    owner: str = ""
    sandbox_attempt: int = 0
    grace_seconds: int = 30
    """The pod's terminationGracePeriodSeconds, so a pod whose manifest is gone stops as asked."""
    init_index: int = -1
    """The place of an init container or sidecar in `initContainers`; -1 for the others."""


@attrs.frozen
class ObservedContainer:
    id: ContainerId
    node: NodeName
    docker_name: str
    identity: ContainerIdentity
    state: RunState
    image: str = ""
    image_id: str = ""
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    ip: str | None = None
    manifest: str = ""
    """The sandbox's copy of the pod object (JSON); empty on other containers."""
    source: str = ""
    """The sandbox's record of the manifest file behind the pod; empty on other containers."""
    host_ports: tuple[HostPort, ...] = ()
    """The sandbox's host ports (from its labels); empty on other containers."""
    pre_stop: LifecycleHandler | None = None
    """The container's preStop hook (from its label), run before it is stopped."""

    @property
    def pod(self) -> PodRef:
        return self.identity.pod

    @property
    def failed_to_start(self) -> bool:
        """The engine could not run it at all (bad command, mount error): ContainerCannotRun."""
        return bool(self.error) and self.state is not RunState.RUNNING

    @property
    def is_sandbox(self) -> bool:
        return self.identity.role is ContainerRole.SANDBOX


@attrs.frozen
class ObservedVolume:
    name: str
    node: NodeName
    pod: PodRef
    volume_name: str

    @property
    def pod_uid(self) -> PodUid:
        return self.pod.uid


@attrs.frozen
class RuntimeEvent:
    """A hint that a container of a pod changed; the receiver re-reads the container."""

    node: NodeName
    container_id: ContainerId
    action: str
    pod: PodRef | None = None
    time_ns: int = 0


@attrs.frozen
class EngineInfo:
    """Who a node's engine is, from the same `/info` answer as its capacity: what Kubernetes
    shows as a node's `nodeInfo`. Empty strings where the engine did not say."""

    engine_id: str = ""
    """Docker's `ID`: unique per engine (per data root), kept across its restarts."""
    server_version: str = ""
    operating_system: str = ""
    """`OSType`: `linux` (Kubernetes' `operatingSystem`)."""
    os_image: str = ""
    """`OperatingSystem`: `Debian GNU/Linux 12 (bookworm)` (Kubernetes' `osImage`)."""
    kernel_version: str = ""
    architecture: str = ""
    """Go's name (`amd64`, `arm64`), as Kubernetes shows it; Docker reports `x86_64`."""


@attrs.frozen
class NodeCapacity:
    """What a node's engine reports of its host (Docker's `NCPU` and `MemTotal`), and itself."""

    cpu_cores: int
    memory_bytes: int
    engine: EngineInfo | None = None


@attrs.frozen
class FailureNote:
    """Controller memory of a failure the engine does not record (pull or create refused).

    Kept per pod key and container name; lost on restart, which only costs one early retry.
    """

    reason: str
    message: str
    at: float
    failures: int = 1
