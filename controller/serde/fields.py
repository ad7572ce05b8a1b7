"""Kubernetes' field names and the fields it has that Podyard does not: the tables serde reads.

Kubernetes keeps adding fields; this module is what changes then, and nothing else of serde does.
It gives the camelCase name of a model attribute (`k8s_name`), the Kubernetes-style path of a field
(`field_path`), and the tables the converter (`serde.converter`) consults for every key of every
object: which keys Kubernetes has but Podyard does not implement, which of their values ask for
nothing, which keys are ignored, and which defaults are always written out.

Traps:
- A field Kubernetes has but Podyard does not implement says `not supported`, never `unknown field`,
  so users know the manifest is fine for Kubernetes. Such a field set to null, empty, or a value that
  asks for nothing (`tty: false`, `dnsPolicy: ClusterFirst`, as `kubectl run --dry-run`
  writes) is accepted and ignored. `status` is ignored, as Kubernetes ignores it on create.
- A pod template's `metadata` may only carry labels and annotations: its `name` and `namespace`
  (which Kubernetes ignores, as pods get generated names in the owner's namespace) are refused as
  `not supported` unless empty, so a manifest cannot suggest a pod name it will not get.
- `ALWAYS_SHOWN` is part of every spec hash (see `serde.unstructure`): adding an entry changes the
  hash of existing pods, and so restarts them all.
"""

from __future__ import annotations

import re

from controller.model.claims import PersistentVolumeClaimSpec
from controller.model.configrefs import EnvVarSource
from controller.model.lifecycle import Lifecycle, LifecycleHandler
from controller.model.manifests import Namespace
from controller.model.meta import ObjectMeta
from controller.model.placement import Affinity, Taint
from controller.model.pod import (
    Container,
    ContainerPort,
    HostPathType,
    Pod,
    PodSecurityContext,
    PodSpec,
    ResourceList,
    ResourceRequirements,
    SeccompProfileType,
    SecurityContext,
    StorageMedium,
    Volume,
    VolumeMount,
)
from controller.model.probes import Probe
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    TemplateMeta,
)

# Fields Kubernetes has on each type that Podyard does not implement: reported as `not supported`.
_OBJECT_META_ONLY = frozenset(
    {
        "generateName",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_K8S_ONLY: dict[type, frozenset[str]] = {
    ObjectMeta: _OBJECT_META_ONLY,
    TemplateMeta: _OBJECT_META_ONLY | {"name", "namespace"},
    DeploymentSpec: frozenset({"paused", "podReplacementPolicy"}),
    PersistentVolumeClaimSpec: frozenset(
        {"selector", "volumeName", "dataSource", "dataSourceRef", "volumeAttributesClassName"}
    ),
    PodSpec: frozenset(
        {
            "ephemeralContainers",
            "activeDeadlineSeconds",
            "dnsPolicy",
            "serviceAccountName",
            "serviceAccount",
            "automountServiceAccountToken",
            "imagePullSecrets",
            "subdomain",
            "schedulerName",
            "hostAliases",
            "priorityClassName",
            "priority",
            "dnsConfig",
            "readinessGates",
            "runtimeClassName",
            "enableServiceLinks",
            "preemptionPolicy",
            "overhead",
            "topologySpreadConstraints",
            "setHostnameAsFQDN",
            "os",
            "hostUsers",
            "schedulingGates",
            "resourceClaims",
            "hostnameOverride",
        }
    ),
    Container: frozenset(
        {
            "resizePolicy",
            "restartPolicyRules",
            "stdin",
            "stdinOnce",
            "tty",
            "volumeDevices",
        }
    ),
    Namespace: frozenset({"spec"}),
    SecurityContext: frozenset({"seLinuxOptions", "windowsOptions"}),
    PodSecurityContext: frozenset(
        {
            "seLinuxOptions",
            "windowsOptions",
            "fsGroupChangePolicy",
            "supplementalGroupsPolicy",
            "seLinuxChangePolicy",
        }
    ),
    EnvVarSource: frozenset({"resourceFieldRef"}),
    Affinity: frozenset({"podAffinity", "podAntiAffinity"}),
    Taint: frozenset({"timeAdded"}),
    Probe: frozenset({"grpc"}),
    Lifecycle: frozenset({"stopSignal"}),
    LifecycleHandler: frozenset({"tcpSocket"}),
    ResourceRequirements: frozenset({"claims"}),
    VolumeMount: frozenset({"recursiveReadOnly", "mountPropagation", "subPathExpr"}),
    Volume: frozenset(
        {
            "gcePersistentDisk",
            "awsElasticBlockStore",
            "gitRepo",
            "nfs",
            "iscsi",
            "glusterfs",
            "rbd",
            "flexVolume",
            "cinder",
            "cephfs",
            "flocker",
            "downwardAPI",
            "fc",
            "azureFile",
            "vsphereVolume",
            "quobyte",
            "azureDisk",
            "photonPersistentDisk",
            "projected",
            "portworxVolume",
            "scaleIO",
            "storageos",
            "csi",
            "ephemeral",
            "image",
        }
    ),
}
# Values of unsupported fields that ask for nothing Docker would not do anyway.
_HARMLESS: dict[tuple[type, str], tuple[object, ...]] = {
    (PodSpec, "dnsPolicy"): ("ClusterFirst",),
    (PodSpec, "enableServiceLinks"): (True, False),
    (PodSpec, "setHostnameAsFQDN"): (False,),
    (PodSpec, "automountServiceAccountToken"): (False,),
    (PodSpec, "schedulerName"): ("default-scheduler",),
    (PodSpec, "priority"): (0,),
    (PodSpec, "preemptionPolicy"): ("PreemptLowerPriority",),
    (Container, "stdin"): (False,),
    (Container, "stdinOnce"): (False,),
    (Container, "tty"): (False,),
    (VolumeMount, "mountPropagation"): ("None",),
    (DeploymentSpec, "paused"): (False,),
}
IGNORED = frozenset(
    {(Namespace, "status"), (Pod, "status"), (ReplicaSet, "status"), (Deployment, "status")}
)
"""(type, key) pairs dropped without a word: Kubernetes ignores `status` on create."""
EMPTY_IF_MISSING = frozenset({(PodTemplateSpec, "metadata")})
"""Required in the model but optional in Kubernetes: a missing or null value means an empty object."""
K8S_ONLY_VALUES: dict[type, tuple[str, ...]] = {
    HostPathType: ("Directory", "File", "FileOrCreate", "Socket", "CharDevice", "BlockDevice"),
    StorageMedium: ("HugePages",),
    SeccompProfileType: ("Localhost",),
}
"""Enum values Kubernetes accepts and Podyard does not: `not supported`, not merely unsupported."""
ALWAYS_SHOWN = frozenset(
    {
        (Pod, "api_version"),
        (Pod, "kind"),
        (ReplicaSet, "api_version"),
        (ReplicaSet, "kind"),
        (Deployment, "api_version"),
        (Deployment, "kind"),
        (Namespace, "api_version"),
        (Namespace, "kind"),
        (ObjectMeta, "namespace"),
        (ContainerPort, "protocol"),
        (PodSpec, "restart_policy"),
        (PodSpec, "termination_grace_period_seconds"),
        (ReplicaSetSpec, "replicas"),
        (DeploymentSpec, "replicas"),
        (DeploymentSpec, "strategy"),
        (DeploymentStrategy, "type"),
        (DeploymentSpec, "revision_history_limit"),
        (DeploymentSpec, "progress_deadline_seconds"),
    }
)
"""Always written by unstructure even when equal to the default (Kubernetes always shows them)."""
_SPECIAL_NAMES = {"host_ip": "hostIP", "host_pid": "hostPID", "host_ipc": "hostIPC"}
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def k8s_name(attribute: str) -> str:
    """The Kubernetes (camelCase) name of a model attribute: `host_ip` -> `hostIP`."""
    if attribute in _SPECIAL_NAMES:
        return _SPECIAL_NAMES[attribute]
    first, *rest = attribute.split("_")
    return first + "".join(word.capitalize() for word in rest)


def field_path(parent: str, key: str | int) -> str:
    """Append a field, index or map key: `a.b`, `a[0]`, `metadata.labels[app.kubernetes.io/name]`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _SIMPLE_KEY.match(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{key}]"


def known_unsupported(cl: type, key: str) -> bool:
    """Whether Kubernetes has `key` on `cl` (so it is `not supported` rather than `unknown field`)."""
    if cl is ResourceList:
        return (
            key in {"ephemeral-storage", "storage", "pods"}
            or key.startswith("hugepages-")
            or ("/" in key)
        )
    return key in _K8S_ONLY.get(cl, frozenset())


def asks_nothing(cl: type, key: str, value: object) -> bool:
    """Whether an unsupported field's value may be ignored: unset, empty, or a harmless value."""
    if value is None or value in ({}, [], ""):
        return True
    harmless = _HARMLESS.get((cl, key), ())
    return any(type(value) is type(ok) and value == ok for ok in harmless)
