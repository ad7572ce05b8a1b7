"""The label values of the controller's own metrics, shared by the engine that reports them and the
metrics adapter that pre-creates every known combination at 0 (so a rate over a series that has not
moved yet is 0, not "no data").

Names follow controller-runtime (controllers, reconcile results) and the kubelet (runtime
operations), so dashboards written for those read naturally.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class ControllerName(enum.StrEnum):
    """Each reconcile loop; also the name of its work queue."""

    POD = "pod"
    REPLICASET = "replicaset"
    DEPLOYMENT = "deployment"


class ReconcileResult(enum.StrEnum):
    """controller-runtime's `result` label of `controller_runtime_reconcile_total`."""

    SUCCESS = "success"
    ERROR = "error"
    REQUEUE = "requeue"
    REQUEUE_AFTER = "requeue_after"


class RescheduleReason(enum.StrEnum):
    """Why a pod was made again as a new instance (a new sandbox or a new pod)."""

    SANDBOX_CHANGED = "SandboxChanged"
    """The sandbox died: the pod restarts in a new one (the kubelet's SandboxChanged)."""
    SPEC_CHANGED = "SpecChanged"
    """A bare pod's manifest changed: the old pod was torn down for a new one."""
    POD_FAILED = "PodFailed"
    """A ReplicaSet replaced a pod that ended."""
    NODE_LOST = "NodeLost"
    """A ReplicaSet replaced a pod evicted from a node that stopped answering."""
    DELETED = "Deleted"
    """A pod deleted through the API: its ReplicaSet replaced it, or its file made it anew."""


RUNTIME_OPERATIONS = (
    "ping",
    "capacity",
    "prepare_pause_image",
    "list_containers",
    "inspect_container",
    "list_volumes",
    "ensure_image",
    "create_container",
    "start_container",
    "stop_container",
    "remove_container",
    "ensure_volume",
    "remove_volume",
    "run_probe",
    "exec_session",
    "attach_session",
    "create_lease",
    "read_lease",
    "renew_lease",
    "remove_lease",
)
"""Every call of the container runtime port that is timed (`operation` label)."""


CONTROLLER_TASKS = (
    "folder",
    "pod-dispatcher",
    "pod-workers",
    "prober",
    "replicaset-worker:0",
    "replicaset-worker:1",
    "deployment-worker",
    "loop-lag",
    "node-lifecycle",
    "config-volume-sweep",
)
"""The controller's long-running tasks (`task` label of `podyard_task_errors_total` and
`podyard_task_restarts_total`); `pod-workers` and `prober` count errors of the many short tasks
they run."""

NODE_TASKS = ("relist", "events")
"""Long-running tasks of each node, named `<task>:<node>`."""


def task_names(nodes: Iterable[str]) -> list[str]:
    """Every task label value of a controller managing `nodes`."""
    return [*CONTROLLER_TASKS, *(f"{task}:{node}" for node in nodes for task in NODE_TASKS)]
