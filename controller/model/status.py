"""Pod status shaped like Kubernetes' PodStatus, computed from the engine, never stored.

Reason strings are Kubernetes' own (`CrashLoopBackOff`, `OOMKilled`, ...): dashboards and alert
rules written for Kubernetes match on them.
"""

from __future__ import annotations

import enum

import attrs

from controller.model.meta import NodeName, PodRef
from controller.model.pod import Pod


class PodPhase(enum.StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    UNKNOWN = "Unknown"


class WaitingReason(enum.StrEnum):
    CONTAINER_CREATING = "ContainerCreating"
    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
    ERR_IMAGE_PULL = "ErrImagePull"
    IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
    ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    CREATE_CONTAINER_ERROR = "CreateContainerError"
    POD_INITIALIZING = "PodInitializing"


class TerminatedReason(enum.StrEnum):
    COMPLETED = "Completed"
    ERROR = "Error"
    OOM_KILLED = "OOMKilled"
    CONTAINER_CANNOT_RUN = "ContainerCannotRun"


@attrs.frozen
class Waiting:
    reason: str
    message: str = ""


@attrs.frozen
class Running:
    started_at: float


@attrs.frozen
class Terminated:
    exit_code: int
    reason: str
    started_at: float | None = None
    finished_at: float | None = None
    message: str = ""
    container_id: str = ""


ContainerState = Waiting | Running | Terminated


@attrs.frozen
class ContainerStatus:
    name: str
    image: str
    state: ContainerState
    last_state: ContainerState | None = None
    ready: bool = False
    started: bool = False
    restart_count: int = 0
    image_id: str = ""
    container_id: str = ""


class ConditionType(enum.StrEnum):
    POD_SCHEDULED = "PodScheduled"
    INITIALIZED = "Initialized"
    CONTAINERS_READY = "ContainersReady"
    READY = "Ready"


@attrs.frozen
class PodCondition:
    type: ConditionType
    status: bool
    last_transition_time: float | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen
class PodStatus:
    phase: PodPhase
    conditions: tuple[PodCondition, ...] = ()
    container_statuses: tuple[ContainerStatus, ...] = ()
    init_container_statuses: tuple[ContainerStatus, ...] = ()
    """Per init container, in the spec's order (sidecars among them), as Kubernetes shows them."""
    pod_ip: str | None = None
    host_ip: str | None = None
    start_time: float | None = None
    reason: str = ""
    message: str = ""


@attrs.frozen
class PodView:
    """A pod as the API shows it: the declared pod, its live instance and computed status."""

    pod: Pod
    ref: PodRef | None
    node: NodeName | None
    status: PodStatus
    created_at: float | None = None
    deleting: bool = False
    owner: str = ""
    """The controller that made the pod (`ReplicaSet/web`), or "" for a pod declared directly."""
    deletion_at: float | None = None
    """When the grace of a delete asked through the API ends (Kubernetes' deletionTimestamp)."""
    deletion_grace_seconds: int | None = None
