"""Kubernetes' validation rules for a structured Pod, plus the limits Docker itself enforces.

`validate_pod` returns every problem at once as `FieldError`s whose paths are spelled as Kubernetes
spells them (`spec.containers[0].ports[1].containerPort`) and whose messages follow Kubernetes'
wording (`Required value`, `Invalid value: "x": ...`, `Duplicate value: ...`, `Not found: ...`), so
users can search for them. Only values are checked here; structure (unknown fields, wrong types)
was checked by serde before a `Pod` could exist.

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
import json
import re
from fractions import Fraction
from pathlib import PurePosixPath

import attrs

from controller.model.meta import ObjectMeta
from controller.model.pod import Container, ContainerPort, Pod, ResourceRequirements, Volume
from controller.model.quantity import Quantity


@attrs.frozen
class FieldError:
    """One problem in a manifest: a Kubernetes-style field path and a Kubernetes-style message."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def show_value(value: object) -> str:
    """A value as Kubernetes prints it in messages: strings quoted, numbers and booleans bare."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def invalid(path: str, value: object, detail: str) -> FieldError:
    return FieldError(path, f"Invalid value: {show_value(value)}: {detail}")


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, f"Required value: {detail}" if detail else "Required value")


DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(f"^{_LABEL_FMT}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL_FMT}(\.{_LABEL_FMT})*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_IANA_SVC_NAME = re.compile(r"^[-a-z0-9]+$")

_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
    f"for validation is '{_LABEL_FMT}')"
)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    f"for validation is '{_LABEL_FMT}(\\.{_LABEL_FMT})*')"
)
_QUALIFIED_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  "
    "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_ENV_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
    "or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or "
    "'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"
)

DOCKER_MIN_MEMORY = 6 * 2**20
"""Docker refuses smaller limits ("Minimum memory limit allowed is 6MB"); 0 would mean none."""
DOCKER_MIN_CPU_MILLIS = 10
"""Docker's smallest CPU limit is 0.01 CPU ("Range of CPUs is from 0.01 to ...")."""
MAX_ANNOTATIONS_BYTES = 256 * 1024
_WILDCARDS = frozenset({"0.0.0.0", "::"})


def dns1123_label_problems(value: str) -> list[str]:
    """Kubernetes' IsDNS1123Label: the messages for `value`, empty when it is valid."""
    problems = [f"must be no more than {DNS1123_LABEL_MAX} characters"]
    problems = problems if len(value) > DNS1123_LABEL_MAX else []
    return problems + ([] if _DNS1123_LABEL.match(value) else [_LABEL_MSG])


def dns1123_subdomain_problems(value: str) -> list[str]:
    problems = [f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters"]
    problems = problems if len(value) > DNS1123_SUBDOMAIN_MAX else []
    return problems + ([] if _DNS1123_SUBDOMAIN.match(value) else [_SUBDOMAIN_MSG])


def qualified_name_problems(value: str) -> list[str]:
    """Label and annotation keys: an optional DNS subdomain prefix, `/`, a name of <= 63 chars."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.' with "
            "an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    name = parts[-1]
    problems: list[str] = []
    if len(parts) == 2:
        if not parts[0]:
            problems.append("prefix part must be non-empty")
        else:
            problems += [f"prefix part {p}" for p in dns1123_subdomain_problems(parts[0])]
    if not name:
        return [*problems, "name part must be non-empty"]
    if len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME.match(name):
        problems.append(_QUALIFIED_MSG)
    return problems


def port_name_problems(value: str) -> list[str]:
    """Kubernetes' IsValidPortName (IANA_SVC_NAME)."""
    problems: list[str] = []
    if len(value) > 15:
        problems.append("must be no more than 15 characters")
    if not _IANA_SVC_NAME.match(value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if not re.search("[a-z]", value):
        problems.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def _name(path: str, value: str, rules: str = "label") -> list[FieldError]:
    if not value:
        return [required(path)]
    check = dns1123_label_problems if rules == "label" else dns1123_subdomain_problems
    return [invalid(path, value, problem) for problem in check(value)]


def validate_pod(pod: Pod) -> list[FieldError]:
    """Every problem of `pod`, in document order; an empty list means the pod may run."""
    errors = _metadata(pod.metadata)
    spec = pod.spec
    if spec.hostname is not None:
        errors += _name("spec.hostname", spec.hostname)
    if spec.termination_grace_period_seconds < 0:
        errors.append(
            invalid(
                "spec.terminationGracePeriodSeconds",
                spec.termination_grace_period_seconds,
                "must be greater than or equal to 0",
            )
        )
    volumes: set[str] = set()
    for i, volume in enumerate(spec.volumes):
        errors += _volume(f"spec.volumes[{i}]", volume, volumes)
        volumes.add(volume.name)
    if not spec.containers:
        errors.append(required("spec.containers"))
    names: set[str] = set()
    host_ports: list[tuple[int, str, str]] = []
    for i, container in enumerate(spec.containers):
        path = f"spec.containers[{i}]"
        errors += _name(f"{path}.name", container.name)
        if container.name in names:
            errors.append(
                FieldError(f"{path}.name", f"Duplicate value: {show_value(container.name)}")
            )
        names.add(container.name)
        errors += _container(path, container, volumes, host_ports)
    return errors


def _metadata(meta: ObjectMeta) -> list[FieldError]:
    errors = _name("metadata.name", meta.name, rules="subdomain")
    errors += _name("metadata.namespace", meta.namespace)
    for key, value in meta.labels.items():
        errors += [invalid("metadata.labels", key, p) for p in qualified_name_problems(key)]
        if len(value) > 63:
            errors.append(invalid("metadata.labels", value, "must be no more than 63 characters"))
        if not _LABEL_VALUE.match(value):
            errors.append(invalid("metadata.labels", value, _LABEL_VALUE_MSG))
    size = 0
    for key, value in meta.annotations.items():
        errors += [invalid("metadata.annotations", key, p) for p in qualified_name_problems(key)]
        size += len(key.encode()) + len(value.encode())
    if size > MAX_ANNOTATIONS_BYTES:
        errors.append(
            FieldError(
                "metadata.annotations", f"Too long: must have at most {MAX_ANNOTATIONS_BYTES} bytes"
            )
        )
    return errors


def _volume(path: str, volume: Volume, seen: set[str]) -> list[FieldError]:
    errors = _name(f"{path}.name", volume.name)
    if volume.name in seen:
        errors.append(FieldError(f"{path}.name", f"Duplicate value: {show_value(volume.name)}"))
    if volume.empty_dir is None and volume.host_path is None:
        errors.append(required(path, "must specify a volume type"))
    elif volume.empty_dir is not None and volume.host_path is not None:
        errors.append(
            FieldError(f"{path}.hostPath", "Forbidden: may not specify more than 1 volume type")
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
    return errors


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
