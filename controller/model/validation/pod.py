"""A pod's value rules: containers, ports, resources, volumes and mounts, plus Docker's own limits.

A container's probes are checked by `probe_validation`, called from here for every container, and
    errors += placement_errors(
        path, spec.node_name, spec.node_selector, spec.affinity, spec.tolerations
    )
    errors += security_errors(path, spec)
    return errors + pod_resource_errors(path, spec)

`validate_pod` checks a Pod; `validate_pod_spec` checks a PodSpec at any path, so a workload's pod
template (`spec.template.spec`) is held to exactly the rules its pods will be. Messages and paths
follow Kubernetes (see `meta_validation`); a rule that is Docker's rather than Kubernetes' says so in
its message. Kept apart from `workload_validation` because only the pod's own fields change it.

Traps:
- Some rules are Docker's, not Kubernetes': a memory limit under 6 MiB, a CPU limit under 10m and a
  relative workingDir, mountPath or hostPath are accepted by Kubernetes but refused by the engine at
  create time, which would surface much later as CreateContainerError. Refusing them here keeps the
  error next to the manifest line.
- An unset hostIP binds the pod's host ports on loopback (see decide.containers); `0.0.0.0` and
  `::` overlap every address, so two hostPorts of one protocol conflict if either is a wildcard.
- Quantities cannot be negative (the parser refuses a sign), but the check stays as a guard.
"""

from __future__ import annotations

import ipaddress
import re
from fractions import Fraction
from pathlib import PurePosixPath

from controller.model.pod import (
    Container,
    ContainerPort,
    Pod,
    PodSpec,
    ResourceRequirements,
    Volume,
)
from controller.model.quantity import Quantity
from controller.model.validation.claims import claim_source_errors
from controller.model.validation.configdata import config_volume_errors, env_ref_errors
from controller.model.validation.initcontainers import app_container_errors, init_container_errors
from controller.model.validation.lifecycle import lifecycle_errors
from controller.model.validation.meta import (
    FieldError,
    invalid,
    metadata_errors,
    name_errors,
    negative,
    port_name_problems,
    required,
    show_value,
)
from controller.model.validation.placement import placement_errors
from controller.model.validation.probes import probe_errors
from controller.model.validation.resources import (
    DOCKER_MIN_CPU_MILLIS,
    DOCKER_MIN_MEMORY,
    pod_resource_errors,
)
from controller.model.validation.security import security_errors

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_ENV_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
    "or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or "
    "'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
)

_WILDCARDS = frozenset({"0.0.0.0", "::"})


def validate_pod(pod: Pod) -> list[FieldError]:
    """Every problem of `pod`, in document order; an empty list means the pod may run."""
    return metadata_errors(pod.metadata) + validate_pod_spec("spec", pod.spec)


def validate_pod_spec(path: str, spec: PodSpec) -> list[FieldError]:
    """The rules of a PodSpec found at `path` (`spec` for a Pod, `spec.template.spec` in a template).

    Shared by pods and pod templates, so a template is held to exactly the rules its pods will be.
    """
    errors: list[FieldError] = []
    if spec.hostname is not None:
        errors += name_errors(f"{path}.hostname", spec.hostname)
    if spec.termination_grace_period_seconds < 0:
        errors.append(
            negative(f"{path}.terminationGracePeriodSeconds", spec.termination_grace_period_seconds)
        )
    volumes: set[str] = set()
    for i, volume in enumerate(spec.volumes):
        errors += _volume(f"{path}.volumes[{i}]", volume, volumes)
        volumes.add(volume.name)
    if not spec.containers:
        errors.append(required(f"{path}.containers"))
    names: set[str] = set()  # unique across init and app containers, as in Kubernetes
    host_ports: list[tuple[int, str, str]] = []
    listed = [("initContainers", c) for c in spec.init_containers]
    listed += [("containers", c) for c in spec.containers]
    counters = {"initContainers": 0, "containers": 0}
    for field, container in listed:
        cpath = f"{path}.{field}[{counters[field]}]"
        counters[field] += 1
        errors += name_errors(f"{cpath}.name", container.name)
        if container.name in names:
            errors.append(
                FieldError(f"{cpath}.name", f"Duplicate value: {show_value(container.name)}")
            )
        names.add(container.name)
        errors += _container(cpath, container, volumes, host_ports)
        errors += lifecycle_errors(cpath, container, spec.termination_grace_period_seconds)
        if field == "initContainers":
            errors += init_container_errors(cpath, container)
        else:
            errors += app_container_errors(cpath, container)
    errors += placement_errors(
        path, spec.node_name, spec.node_selector, spec.affinity, spec.tolerations
    )
    errors += security_errors(path, spec)
    return errors + pod_resource_errors(path, spec)


def _volume(path: str, volume: Volume, seen: set[str]) -> list[FieldError]:
    errors = name_errors(f"{path}.name", volume.name)
    if volume.name in seen:
        errors.append(FieldError(f"{path}.name", f"Duplicate value: {show_value(volume.name)}"))
    sources = [
        (field, source)
        for field, source in (
            ("emptyDir", volume.empty_dir),
            ("hostPath", volume.host_path),
            ("configMap", volume.config_map),
            ("secret", volume.secret),
            ("persistentVolumeClaim", volume.persistent_volume_claim),
        )
        if source is not None
    ]
    if not sources:
        errors.append(required(path, "must specify a volume type"))
    elif len(sources) > 1:
        errors.append(
            FieldError(
                f"{path}.{sources[1][0]}", "Forbidden: may not specify more than 1 volume type"
            )
        )
    errors += config_volume_errors(path, volume)
    if volume.persistent_volume_claim is not None:
        errors += claim_source_errors(
            f"{path}.persistentVolumeClaim", volume.persistent_volume_claim
        )
    if volume.empty_dir is not None and volume.empty_dir.size_limit is not None:
        limit = volume.empty_dir.size_limit
        if limit.value <= 0:
            errors.append(
                invalid(f"{path}.emptyDir.sizeLimit", limit.text, "must be greater than zero")
            )
    if volume.host_path is not None:
        host = volume.host_path.path
        if not host:
            errors.append(required(f"{path}.hostPath.path"))
        elif not host.startswith("/"):
            errors.append(invalid(f"{path}.hostPath.path", host, "must be an absolute path"))
    return errors


def _container(
    path: str, container: Container, volumes: set[str], host_ports: list[tuple[int, str, str]]
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not container.image:
        errors.append(required(f"{path}.image"))
    elif container.image != container.image.strip():
        errors.append(
            invalid(
                f"{path}.image", container.image, "must not have leading or trailing whitespace"
            )
        )
    if container.working_dir is not None and not container.working_dir.startswith("/"):
        errors.append(
            invalid(
                f"{path}.workingDir",
                container.working_dir,
                "must be an absolute path (Docker refuses a relative one)",
            )
        )
    policy = container.termination_message_policy
    if policy is not None and policy not in ("File", "FallbackToLogsOnError"):
        errors.append(
            FieldError(
                f"{path}.terminationMessagePolicy",
                f"Unsupported value: {show_value(policy)}: supported values: "
                f'"File", "FallbackToLogsOnError"',
            )
        )
    for j, env in enumerate(container.env):
        if not env.name:
            errors.append(required(f"{path}.env[{j}].name"))
        elif not _ENV_NAME.match(env.name):
            errors.append(invalid(f"{path}.env[{j}].name", env.name, _ENV_MSG))
    errors += env_ref_errors(path, container)
    port_names: set[str] = set()
    for j, port in enumerate(container.ports):
        errors += _port(f"{path}.ports[{j}]", port, port_names, host_ports)
    errors += _resources(f"{path}.resources", container.resources)
    mount_paths: set[str] = set()
    for j, mount in enumerate(container.volume_mounts):
        mpath = f"{path}.volumeMounts[{j}]"
        if not mount.name:
            errors.append(required(f"{mpath}.name"))
        elif mount.name not in volumes:
            errors.append(FieldError(f"{mpath}.name", f"Not found: {show_value(mount.name)}"))
        if not mount.mount_path:
            errors.append(required(f"{mpath}.mountPath"))
        elif not mount.mount_path.startswith("/"):
            errors.append(
                invalid(f"{mpath}.mountPath", mount.mount_path, "must be an absolute path")
            )
        elif mount.mount_path.rstrip("/") == "":
            errors.append(invalid(f"{mpath}.mountPath", mount.mount_path, "must not be '/'"))
        normal = str(PurePosixPath(mount.mount_path)) if mount.mount_path else ""
        if normal and normal in mount_paths:
            errors.append(invalid(f"{mpath}.mountPath", mount.mount_path, "must be unique"))
        mount_paths.add(normal)
        if mount.sub_path:
            if mount.sub_path.startswith("/"):
                errors.append(
                    invalid(f"{mpath}.subPath", mount.sub_path, "must be a relative path")
                )
            elif ".." in PurePosixPath(mount.sub_path).parts:
                errors.append(invalid(f"{mpath}.subPath", mount.sub_path, "must not contain '..'"))
    return errors + probe_errors(path, container)


def _port(
    path: str, port: ContainerPort, names: set[str], host_ports: list[tuple[int, str, str]]
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not 1 <= port.container_port <= 65535:
        errors.append(
            invalid(
                f"{path}.containerPort",
                port.container_port,
                "must be between 1 and 65535, inclusive",
            )
        )
    if port.name is not None:
        errors += [invalid(f"{path}.name", port.name, p) for p in port_name_problems(port.name)]
        if port.name in names:
            errors.append(FieldError(f"{path}.name", f"Duplicate value: {show_value(port.name)}"))
        names.add(port.name)
    host_ip = port.host_ip or ""
    if host_ip:
        try:
            host_ip = str(ipaddress.ip_address(host_ip))
        except ValueError:
            errors.append(
                invalid(
                    f"{path}.hostIP",
                    port.host_ip,
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                )
            )
    if port.host_port is not None:
        if not 1 <= port.host_port <= 65535:
            errors.append(
                invalid(
                    f"{path}.hostPort", port.host_port, "must be between 1 and 65535, inclusive"
                )
            )
        key = (port.host_port, port.protocol.value, host_ip)
        if any(_overlaps(key, other) for other in host_ports):
            errors.append(
                FieldError(
                    f"{path}.hostPort", f'Duplicate value: "{port.host_port}/{port.protocol.value}"'
                )
            )
        host_ports.append(key)
    return errors


def _overlaps(a: tuple[int, str, str], b: tuple[int, str, str]) -> bool:
    if a[:2] != b[:2]:
        return False
    return a[2] == b[2] or a[2] in _WILDCARDS or b[2] in _WILDCARDS


def _resources(path: str, resources: ResourceRequirements) -> list[FieldError]:
    errors: list[FieldError] = []
    for kind, values in (("requests", resources.requests), ("limits", resources.limits)):
        for name, quantity in (("cpu", values.cpu), ("memory", values.memory)):
            if quantity is not None and quantity.value < 0:
                errors.append(
                    invalid(
                        f"{path}.{kind}.{name}", quantity.text, "must be greater than or equal to 0"
                    )
                )
    cpu_limit, memory_limit = resources.limits.cpu, resources.limits.memory
    if cpu_limit is not None and cpu_limit.value < Fraction(DOCKER_MIN_CPU_MILLIS, 1000):
        errors.append(
            invalid(
                f"{path}.limits.cpu",
                cpu_limit.text,
                f"must be at least {DOCKER_MIN_CPU_MILLIS}m "
                "(Docker's smallest CPU limit is 0.01 CPU)",
            )
        )
    if memory_limit is not None and memory_limit.whole() < DOCKER_MIN_MEMORY:
        errors.append(
            invalid(
                f"{path}.limits.memory",
                memory_limit.text,
                "must be at least 6Mi (Docker: Minimum memory limit allowed is 6MB)",
            )
        )
    errors += _request_within_limit(
        f"{path}.requests.cpu", "cpu", resources.requests.cpu, cpu_limit
    )
    errors += _request_within_limit(
        f"{path}.requests.memory", "memory", resources.requests.memory, memory_limit
    )
    return errors


def _request_within_limit(
    path: str, name: str, request: Quantity | None, limit: Quantity | None
) -> list[FieldError]:
    if request is None or limit is None or request.value <= limit.value:
        return []
    return [invalid(path, request.text, f"must be less than or equal to {name} limit of {limit}")]
