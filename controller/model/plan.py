"""Plans: what `decide` asks the executor to do for one pod key, in numbered steps.

A plan is data. The executor applies its actions in order and stops at the first failure; the key is
then retried, and `decide` recomputes from what the engine now holds, so a half-applied plan is never
a problem, only a shorter next plan. Containers join their sandbox by its Docker *name*, which is
deterministic, so one plan can create a sandbox and the containers that join it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from controller.model.configrefs import EnvFromSource
from controller.model.lifecycle import LifecycleHandler
from controller.model.meta import ContainerId, NodeName, PodKey, PodRef
from controller.model.observed import ContainerIdentity
from controller.model.pod import EnvVar, PortProtocol, PullPolicy


@attrs.frozen
class PortBinding:
    container_port: int
    host_port: int
    host_ip: str
    protocol: PortProtocol = PortProtocol.TCP


PROJECTED = "projected"
"""MountSpec kind of a configMap or secret volume: `source` is its folder relative to the
runtime's projection folder (`RuntimeSettings.config_volume_dir`), bound read-only."""


@attrs.frozen
class MountSpec:
    """A mount: `source` is a volume name (kind "volume") or a host path (kind "bind")."""

    kind: str
    source: str
    target: str
    read_only: bool = False
    sub_path: str = ""
    """Relative path inside the volume (Kubernetes subPath); empty for the whole volume."""
    volume_name: str = ""
    """The pod's name for the volume (the volumeMount's `name`), for messages about the mount."""
    claim: str = ""
    """`<namespace>/<name>` of the PersistentVolumeClaim whose volume `source` is: the runtime
    makes that volume, labelled as the claim's, before the container, if the node lacks it."""


@attrs.frozen
class ContainerSecurity:
    """A container's securityContext in Docker-neutral words (see decide.securitycontext)."""

    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    user: str | None = None
    """`uid` or `uid:gid`; None keeps the image's user."""
    group_add: tuple[str, ...] = ()
    read_only_root: bool = False
    no_new_privileges: bool = False
    seccomp_unconfined: bool = False
    app_armor: str | None = None
    """`unconfined` or a loaded profile's name; None keeps the engine's default profile."""
    unmasked_proc: bool = False
    """procMount Unmasked: /proc and /sys without the runtime's masks (admitted only under the
    "privileged" level)."""
    run_as_non_root: bool = False
    """Refuse to create the container when its effective user is root (checked on the image)."""
    sysctls: Mapping[str, str] = attrs.field(factory=dict)
    """Pod sysctls, set on the sandbox, which owns the namespaces they belong to."""
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False


@attrs.frozen
class EnvSpec:
    """A container's env as declared; its values are looked up when the container is created."""

    env: tuple[EnvVar, ...] = ()
    env_from: tuple[EnvFromSource, ...] = ()

    def literal(self) -> tuple[tuple[str, str], ...] | None:
        """The env as plain pairs when nothing needs looking up, else None."""
        if self.env_from or any(e.value_from is not None for e in self.env):
            return None
        return tuple((e.name, e.value) for e in self.env)


@attrs.frozen
class ContainerConfig:
    """A container to create, in Docker-neutral words. Restart policy is always Docker's `no`."""

    docker_name: str
    identity: ContainerIdentity
    image: str
    pull_policy: PullPolicy
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] = ()
    env_spec: EnvSpec | None = None
    """Set when the env reads ConfigMaps, Secrets or the downward API: the executor resolves it
    into `env` just before the create call, so no plan ever holds a Secret's value."""
    working_dir: str | None = None
    hostname: str | None = None
    join_sandbox: str | None = None
    share_pid: bool = False
    ports: tuple[PortBinding, ...] = ()
    mounts: tuple[MountSpec, ...] = ()
    memory_limit_bytes: int | None = None
    cpu_limit_millis: int | None = None
    cpu_request_millis: int | None = None
    pod_cgroup: bool = False
    """The pod has pod-level resources: the sandbox's limits (the fields above) are the pod's,
    and the pod's containers are created inside the sandbox's cgroup, or refused where the node
    cannot do that (see runtime.dockercgroups)."""
    stop_grace_seconds: int = 30
    post_start: LifecycleHandler | None = None
    """Run by the executor right after the start; a failure kills the container."""
    extra_labels: Mapping[str, str] = attrs.field(factory=dict)
    """Labels beyond the identity (the sandbox carries the pod's manifest)."""
    security: ContainerSecurity = ContainerSecurity()


@attrs.frozen
class EnsureVolume:
    node: NodeName
    pod: PodRef
    volume_name: str
    docker_name: str
    tmpfs_size_bytes: int | None = None
    memory: bool = False


@attrs.frozen
class RunContainer:
    """Pull per policy if needed, create, start."""

    node: NodeName
    config: ContainerConfig


@attrs.frozen
class StartContainer:
    node: NodeName
    container_id: ContainerId


@attrs.frozen
class StopContainers:
    """Stop together (SIGTERM, then SIGKILL after the grace period), as the kubelet does."""

    node: NodeName
    container_ids: tuple[ContainerId, ...]
    grace_seconds: int
    reason: str = ""


@attrs.frozen
class RemoveContainer:
    node: NodeName
    container_id: ContainerId


@attrs.frozen
class RemoveVolume:
    node: NodeName
    docker_name: str


Action = (
    EnsureVolume | RunContainer | StartContainer | StopContainers | RemoveContainer | RemoveVolume
)


class PlanReason(enum.StrEnum):
    CREATE_POD = "CreatePod"
    REBUILD_SANDBOX = "SandboxChanged"
    REPLACE_POD = "SpecChanged"
    DELETE_POD = "DeletePod"
    RESTART = "Restart"
    COMPLETE_POD = "PodCompleted"
    CLEAN_UP = "CleanUp"
    START = "Start"


@attrs.frozen
class Plan:
    """Steps for one key, and when to look again if nothing else happens (backoff timers)."""

    key: PodKey
    actions: tuple[Action, ...] = ()
    reasons: tuple[PlanReason, ...] = ()
    requeue_after: float | None = None
    unschedulable: str = ""
    """Why no node can take the new pod (kube-scheduler's FailedScheduling message); no sandbox is
    attempted while it is set."""

    @property
    def empty(self) -> bool:
        return not self.actions
