"""The supported part of Kubernetes' Pod (apiVersion v1), as frozen types.

Field names are the snake_case of Kubernetes' camelCase names (serde converts). Defaults are
Kubernetes' defaults, except where a field's default depends on another field (imagePullPolicy): then
the field is optional here and the effective value is a method. Validation of values (DNS labels, port
ranges, volume references) lives in `model.validation`; structure (unknown fields, types) in serde.

Accepted and deliberately ignored: `terminationMessagePath` and `terminationMessagePolicy` (Podyard
reads no termination message file; the README says so).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from fractions import Fraction

import attrs

from controller.model.configrefs import (
    ConfigMapVolumeSource,
    EnvFromSource,
    EnvVarSource,
    SecretVolumeSource,
)
from controller.model.lifecycle import Lifecycle
from controller.model.meta import ObjectMeta
from controller.model.placement import Affinity, Toleration
from controller.model.probes import Probe
from controller.model.quantity import Quantity


class RestartPolicy(enum.StrEnum):
    ALWAYS = "Always"
    ON_FAILURE = "OnFailure"
    NEVER = "Never"


class PullPolicy(enum.StrEnum):
    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class PortProtocol(enum.StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


class StorageMedium(enum.StrEnum):
    DEFAULT = ""
    MEMORY = "Memory"


class HostPathType(enum.StrEnum):
    """Only the types Docker can honour on its own host: an existing or created directory."""

    UNSET = ""
    DIRECTORY_OR_CREATE = "DirectoryOrCreate"


@attrs.frozen
class EnvVar:
    name: str
    value: str = ""
    value_from: EnvVarSource | None = None


@attrs.frozen
class ContainerPort:
    container_port: int
    host_port: int | None = None
    host_ip: str | None = None
    protocol: PortProtocol = PortProtocol.TCP
    name: str | None = None


@attrs.frozen
class ResourceList:
    """cpu in cores, memory in bytes; other resource names are refused by serde."""

    cpu: Quantity | None = None
    memory: Quantity | None = None


@attrs.frozen
class ResourceRequirements:
    requests: ResourceList = ResourceList()
    limits: ResourceList = ResourceList()

    def effective_requests(self) -> ResourceList:
        """Kubernetes defaults a missing request to the limit."""
        return ResourceList(
            cpu=self.requests.cpu or self.limits.cpu,
            memory=self.requests.memory or self.limits.memory,
        )


@attrs.frozen
class VolumeMount:
    name: str
    mount_path: str
    read_only: bool = False
    sub_path: str = ""


class SeccompProfileType(enum.StrEnum):
    """`Localhost` (a profile file on the node) is not supported: Docker wants the profile's
    content, not a path on the node."""

    RUNTIME_DEFAULT = "RuntimeDefault"
    UNCONFINED = "Unconfined"


@attrs.frozen
class SeccompProfile:
    type: SeccompProfileType
    localhost_profile: str | None = None


class AppArmorProfileType(enum.StrEnum):
    RUNTIME_DEFAULT = "RuntimeDefault"
    UNCONFINED = "Unconfined"
    LOCALHOST = "Localhost"


@attrs.frozen
class AppArmorProfile:
    type: AppArmorProfileType
    localhost_profile: str | None = None


@attrs.frozen
class Capabilities:
    add: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()


@attrs.frozen
class Sysctl:
    name: str
    value: str


@attrs.frozen
class SecurityContext:
    """A container's securityContext; None fields inherit the pod's (where Kubernetes has one)."""

    privileged: bool | None = None
    capabilities: Capabilities | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    allow_privilege_escalation: bool | None = None
    seccomp_profile: SeccompProfile | None = None
    app_armor_profile: AppArmorProfile | None = None
    proc_mount: str | None = None
    """Only `Default` can be honoured (Docker masks /proc the default way); `Unmasked` is refused
    by baseline and by validation alike."""


@attrs.frozen
class PodSecurityContext:
    """The pod's securityContext: defaults for every container, plus pod-wide settings."""

    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    fs_group: int | None = None
    """Added to every container's groups (Docker's GroupAdd); volumes are not chowned."""
    supplemental_groups: tuple[int, ...] = ()
    seccomp_profile: SeccompProfile | None = None
    app_armor_profile: AppArmorProfile | None = None
    sysctls: tuple[Sysctl, ...] = ()


@attrs.frozen
class Container:
    name: str
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[EnvVar, ...] = ()
    env_from: tuple[EnvFromSource, ...] = ()
    working_dir: str | None = None
    ports: tuple[ContainerPort, ...] = ()
    resources: ResourceRequirements = ResourceRequirements()
    volume_mounts: tuple[VolumeMount, ...] = ()
    image_pull_policy: PullPolicy | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Lifecycle | None = None
    restart_policy: RestartPolicy | None = None
    """Only `Always`, only on an init container: that makes it a native sidecar (validated)."""

    @property
    def is_sidecar(self) -> bool:
        return self.restart_policy is RestartPolicy.ALWAYS

    security_context: SecurityContext | None = None

    def pull_policy(self) -> PullPolicy:
        """Kubernetes' default: Always for `:latest` or an untagged image, else IfNotPresent."""
        if self.image_pull_policy is not None:
            return self.image_pull_policy
        if "@" in self.image:
            return PullPolicy.IF_NOT_PRESENT
        last = self.image.rsplit("/", 1)[-1]
        if ":" not in last or last.endswith(":latest"):
            return PullPolicy.ALWAYS
        return PullPolicy.IF_NOT_PRESENT


@attrs.frozen
class EmptyDirVolumeSource:
    medium: StorageMedium = StorageMedium.DEFAULT
    size_limit: Quantity | None = None


@attrs.frozen
class HostPathVolumeSource:
    path: str
    type: HostPathType = HostPathType.UNSET


@attrs.frozen
class PersistentVolumeClaimVolumeSource:
    """The pod mounts the claim's Docker volume on its node (see `model.claims`)."""

    claim_name: str
    read_only: bool = False


@attrs.frozen
class Volume:
    """Exactly one source is set (validated)."""

    name: str
    empty_dir: EmptyDirVolumeSource | None = None
    host_path: HostPathVolumeSource | None = None
    config_map: ConfigMapVolumeSource | None = None
    secret: SecretVolumeSource | None = None
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = None


@attrs.frozen
class PodSpec:
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...] = ()
    """Run in order before the app containers; those with `restartPolicy: Always` are sidecars."""
    restart_policy: RestartPolicy = RestartPolicy.ALWAYS
    hostname: str | None = None
    volumes: tuple[Volume, ...] = ()
    termination_grace_period_seconds: int = 30
    share_process_namespace: bool = False
    node_name: str | None = None
    """Binds the pod to this node, bypassing scheduling (Kubernetes' `spec.nodeName`)."""
    node_selector: Mapping[str, str] = attrs.field(factory=dict)
    affinity: Affinity | None = None
    tolerations: tuple[Toleration, ...] = ()
    resources: ResourceRequirements | None = None
    """Pod-level requests and limits (PodLevelResources): the containers together never use
    more than these limits; the requests are what scheduling counts for the pod."""
    security_context: PodSecurityContext | None = None
    host_network: bool = False
    """Only admitted under the "privileged" level; the sandbox then uses the host's network."""
    host_pid: bool = False
    host_ipc: bool = False

    def sidecars(self) -> tuple[Container, ...]:
        return tuple(c for c in self.init_containers if c.is_sidecar)

    def all_containers(self) -> tuple[Container, ...]:
        """Init containers (sidecars among them) in order, then the app containers."""
        return (*self.init_containers, *self.containers)

    def container(self, name: str) -> Container | None:
        return next((c for c in self.all_containers() if c.name == name), None)

    def volume(self, name: str) -> Volume | None:
        return next((v for v in self.volumes if v.name == name), None)

    def claim_names(self) -> tuple[str, ...]:
        """The PersistentVolumeClaims the pod mounts, in volume order, each once."""
        names = (
            v.persistent_volume_claim.claim_name for v in self.volumes if v.persistent_volume_claim
        )
        return tuple(dict.fromkeys(names))

    def container_requests(self) -> ResourceList:
        """The containers' effective requests per resource (None where none asks), as Kubernetes
        adds them up with init containers: the app containers and sidecars together, or the
        largest init container plus the sidecars started before it, whichever is more."""
        return ResourceList(
            cpu=_requests_total(self, "cpu", Quantity.of_cpu),
            memory=_requests_total(self, "memory", Quantity.of_bytes),
        )

    def effective_requests(self) -> ResourceList:
        """What the pod asks of its node, as scheduling counts it (Kubernetes' PodRequests with
        PodLevelResources): per resource, the pod-level request when set; else, with a pod-level
        limit, the containers' sum if any container asks, else that limit (the API server's
        defaulting of pod-level requests); else the containers' sum. None where nothing asks."""
        summed = self.container_requests()
        if self.resources is None:
            return summed
        pod, limits = self.resources.requests, self.resources.limits
        return ResourceList(
            cpu=pod.cpu or summed.cpu or limits.cpu,
            memory=pod.memory or summed.memory or limits.memory,
        )


def _requests_total(
    spec: PodSpec, resource: str, make: Callable[[Fraction], Quantity]
) -> Quantity | None:
    def asked(container: Container) -> Fraction | None:
        quantity: Quantity | None = getattr(container.resources.effective_requests(), resource)
        return quantity.value if quantity is not None else None

    found = False
    running = Fraction(0)  # the sidecars started so far
    peak = Fraction(0)  # the largest moment of initialization
    for init in spec.init_containers:
        value = asked(init)
        found = found or value is not None
        if init.is_sidecar:
            running += value or 0
            peak = max(peak, running)
        else:
            peak = max(peak, running + (value or 0))
    apps = running
    for container in spec.containers:
        value = asked(container)
        found = found or value is not None
        apps += value or 0
    return make(max(apps, peak)) if found else None


@attrs.frozen
class Pod:
    """A pod as the user declared it (no status; status is computed from the engine)."""

    metadata: ObjectMeta
    spec: PodSpec
    api_version: str = "v1"
    kind: str = "Pod"
