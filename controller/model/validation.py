"""Kubernetes' validation rules for structured objects, plus the limits Docker itself enforces.

`validate_pod`, `validate_replicaset` and `validate_deployment` return every problem at once as `FieldError`s whose paths are spelled as Kubernetes
spells them (`spec.containers[0].ports[1].containerPort`) and whose messages follow Kubernetes'
wording (`Required value`, `Invalid value: "x": ...`, `Duplicate value: ...`, `Not found: ...`), so
users can search for them. Only values are checked here; structure (unknown fields, wrong types)
was checked by serde before a `Pod` could exist. A pod template is checked by the very rules of a
pod (`validate_pod_spec`), under `spec.template.spec`.

Traps:
- Some rules are Docker's, not Kubernetes': a memory limit under 6 MiB, a CPU limit under 10m and a
  relative workingDir, mountPath or hostPath are accepted by Kubernetes but refused by the engine at
  create time, which would surface much later as CreateContainerError. Refusing them here keeps the
  error next to the manifest line.
- An unset hostIP binds the pod's host ports on loopback (see decide.containers); `0.0.0.0` and
  `::` overlap every address, so two hostPorts of one protocol conflict if either is a wildcard.
- Quantities cannot be negative (the parser refuses a sign), but the check stays as a guard.
- Workload names are shorter than Kubernetes allows (57 for a ReplicaSet, 46 for a Deployment), and
  pod templates may use any restartPolicy: see `validate_replicaset` for why.
- Kubernetes says "empty selector is invalid for deployment" for ReplicaSets too; so do we, word
  for word, so the message can be searched for.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from fractions import Fraction
from pathlib import PurePosixPath

import attrs

from controller.model.meta import ObjectMeta
from controller.model.pod import (
    Container,
    ContainerPort,
    Pod,
    PodSpec,
    ResourceRequirements,
    Volume,
)
from controller.model.quantity import Quantity
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    IntOrPercent,
    LabelSelector,
    ReplicaSet,
    ReplicaSetSpec,
    SelectorOperator,
    StrategyType,
)


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
POD_NAME_SUFFIX = 5
"""A ReplicaSet's pods are `<replicaset>-<5 characters>`, as Kubernetes names them."""
TEMPLATE_HASH_LENGTH = 10
"""A Deployment's ReplicaSets are `<deployment>-<10-character pod-template-hash>`."""
MAX_REPLICASET_NAME = DNS1123_LABEL_MAX - 1 - POD_NAME_SUFFIX
MAX_DEPLOYMENT_NAME = MAX_REPLICASET_NAME - 1 - TEMPLATE_HASH_LENGTH
_HOSTNAME_WHY = "and a pod's hostname is its name, which is cut at 63 characters"
_REPLICASET_NAME_WHY = f"its pods are named <name>-<{POD_NAME_SUFFIX} characters>, {_HOSTNAME_WHY}"
_DEPLOYMENT_NAME_WHY = (
    f"its ReplicaSets are named <name>-<{TEMPLATE_HASH_LENGTH}-character template hash> and "
    f"their pods <that name>-<{POD_NAME_SUFFIX} characters>, {_HOSTNAME_WHY}"
)
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
    return _metadata(pod.metadata) + validate_pod_spec("spec", pod.spec)


def validate_pod_spec(path: str, spec: PodSpec) -> list[FieldError]:
    """The rules of a PodSpec found at `path` (`spec` for a Pod, `spec.template.spec` in a template).

    Shared by pods and pod templates, so a template is held to exactly the rules its pods will be.
    """
    errors: list[FieldError] = []
    if spec.hostname is not None:
        errors += _name(f"{path}.hostname", spec.hostname)
    if spec.termination_grace_period_seconds < 0:
        errors.append(
            _negative(
                f"{path}.terminationGracePeriodSeconds", spec.termination_grace_period_seconds
            )
        )
    volumes: set[str] = set()
    for i, volume in enumerate(spec.volumes):
        errors += _volume(f"{path}.volumes[{i}]", volume, volumes)
        volumes.add(volume.name)
    if not spec.containers:
        errors.append(required(f"{path}.containers"))
    names: set[str] = set()
    host_ports: list[tuple[int, str, str]] = []
    for i, container in enumerate(spec.containers):
        cpath = f"{path}.containers[{i}]"
        errors += _name(f"{cpath}.name", container.name)
        if container.name in names:
            errors.append(
                FieldError(f"{cpath}.name", f"Duplicate value: {show_value(container.name)}")
            )
        names.add(container.name)
        errors += _container(cpath, container, volumes, host_ports)
    return errors


def validate_replicaset(rs: ReplicaSet) -> list[FieldError]:
    """Every problem of `rs`, in document order (Kubernetes' ValidateReplicaSet, plus a name limit).

    Deviations from Kubernetes, on purpose:
    - The name may have at most `MAX_REPLICASET_NAME` (57) characters, not 253: each pod is named
      `<name>-<5 characters>` and a pod's hostname is its name cut to 63 characters, so a longer
      name would give every replica the same, truncated hostname.
    - The template's restartPolicy may be `OnFailure` or `Never` as well as `Always` (Kubernetes
      accepts only `Always`): a pod that ends for good is then replaced by a new pod, instead of
      having its containers restarted in place.
    """
    errors = _metadata(rs.metadata, MAX_REPLICASET_NAME, _REPLICASET_NAME_WHY)
    errors += _workload_spec(rs.spec)
    return errors


def validate_deployment(deployment: Deployment) -> list[FieldError]:
    """Every problem of `deployment`, in document order (Kubernetes' ValidateDeployment).

    Deviations from Kubernetes, on purpose: the name may have at most `MAX_DEPLOYMENT_NAME` (46)
    characters (its ReplicaSets are `<name>-<10-character template hash>`, which must keep within
    `MAX_REPLICASET_NAME`), and the template's restartPolicy may be any of the three, as for a
    ReplicaSet (see `validate_replicaset`).
    """
    spec = deployment.spec
    errors = _metadata(deployment.metadata, MAX_DEPLOYMENT_NAME, _DEPLOYMENT_NAME_WHY)
    errors += _workload_spec(spec)
    errors += _strategy("spec.strategy", spec.strategy)
    if spec.revision_history_limit < 0:
        errors.append(_negative("spec.revisionHistoryLimit", spec.revision_history_limit))
    deadline = spec.progress_deadline_seconds
    if deadline < 0:
        errors.append(_negative("spec.progressDeadlineSeconds", deadline))
    if deadline <= spec.min_ready_seconds:
        errors.append(
            invalid(
                "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
            )
        )
    return errors


def validate_label_selector(path: str, selector: LabelSelector) -> list[FieldError]:
    """Kubernetes' ValidateLabelSelector (strict: selector values must be valid label values).

    An empty selector is valid here; workloads refuse it themselves (`_workload_spec`).
    """
    errors = _labels(f"{path}.matchLabels", selector.match_labels)
    for i, requirement in enumerate(selector.match_expressions):
        rpath = f"{path}.matchExpressions[{i}]"
        operator = requirement.operator
        if operator in (SelectorOperator.IN, SelectorOperator.NOT_IN):
            if not requirement.values:
                errors.append(
                    required(
                        f"{rpath}.values", "must be specified when `operator` is 'In' or 'NotIn'"
                    )
                )
        elif requirement.values:
            errors.append(
                FieldError(
                    f"{rpath}.values",
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
        errors += [
            invalid(f"{rpath}.key", requirement.key, problem)
            for problem in qualified_name_problems(requirement.key)
        ]
        for j, value in enumerate(requirement.values):
            errors += [
                invalid(f"{rpath}.values[{j}]", value, problem)
                for problem in label_value_problems(value)
            ]
    return errors


def label_value_problems(value: str) -> list[str]:
    """Kubernetes' IsValidLabelValue: the messages for `value`, empty when it is valid."""
    problems = ["must be no more than 63 characters"] if len(value) > 63 else []
    return problems + ([] if _LABEL_VALUE.match(value) else [_LABEL_VALUE_MSG])


def _negative(path: str, value: int | str) -> FieldError:
    return invalid(path, value, "must be greater than or equal to 0")


def _workload_spec(spec: ReplicaSetSpec | DeploymentSpec) -> list[FieldError]:
    """What ReplicaSet and Deployment specs share: counts, selector, template (in that order).

    The selector/template match is only checked when the selector itself is sound: a selector with
    errors (an `In` without values) would add a mismatch message that only repeats them.
    """
    errors: list[FieldError] = []
    if spec.replicas < 0:
        errors.append(_negative("spec.replicas", spec.replicas))
    if spec.min_ready_seconds < 0:
        errors.append(_negative("spec.minReadySeconds", spec.min_ready_seconds))
    selector_errors = validate_label_selector("spec.selector", spec.selector)
    errors += selector_errors
    if spec.selector.empty:
        errors.append(
            invalid(
                "spec.selector",
                _selector_shown(spec.selector),
                "empty selector is invalid for deployment",
            )
        )
    template = spec.template
    labels = template.metadata.labels
    if not selector_errors and not spec.selector.empty and not spec.selector.matches(labels):
        errors.append(
            invalid(
                "spec.template.metadata.labels",
                dict(labels),
                "`selector` does not match template `labels`",
            )
        )
    errors += _labels("spec.template.metadata.labels", labels)
    errors += _annotations("spec.template.metadata.annotations", template.metadata.annotations)
    errors += validate_pod_spec("spec.template.spec", template.spec)
    return errors


def _selector_shown(selector: LabelSelector) -> dict[str, object]:
    """The selector as the manifest spelled it, for `Invalid value: ...` messages."""
    shown: dict[str, object] = {}
    if selector.match_labels:
        shown["matchLabels"] = dict(selector.match_labels)
    if selector.match_expressions:
        shown["matchExpressions"] = [
            {"key": r.key, "operator": r.operator.value, "values": list(r.values)}
            for r in selector.match_expressions
        ]
    return shown


def _strategy(path: str, strategy: DeploymentStrategy) -> list[FieldError]:
    """Kubernetes' ValidateDeploymentStrategy (a missing rollingUpdate means the 25%/25% default).

    As in Kubernetes, only maxUnavailable is capped at 100%: a maxSurge of `200%` is valid (two new
    pods may start for each one wanted).
    """
    rolling = strategy.rolling_update
    if strategy.type is StrategyType.RECREATE:
        if rolling is None:
            return []
        return [
            FieldError(
                f"{path}.rollingUpdate",
                "Forbidden: may not be specified when strategy `type` is 'Recreate'",
            )
        ]
    if rolling is None:
        return []
    rpath = f"{path}.rollingUpdate"
    errors: list[FieldError] = []
    for name, value in (
        ("maxUnavailable", rolling.max_unavailable),
        ("maxSurge", rolling.max_surge),
    ):
        if value.value < 0:
            errors.append(_negative(f"{rpath}.{name}", _int_or_percent(value)))
    if rolling.max_unavailable.value == 0 and rolling.max_surge.value == 0:
        errors.append(
            invalid(
                f"{rpath}.maxUnavailable",
                _int_or_percent(rolling.max_unavailable),
                "may not be 0 when `maxSurge` is 0",
            )
        )
    unavailable = rolling.max_unavailable
    if unavailable.percent and unavailable.value > 100:
        errors.append(
            invalid(
                f"{rpath}.maxUnavailable",
                _int_or_percent(unavailable),
                "must not be greater than 100%",
            )
        )
    return errors


def _int_or_percent(value: IntOrPercent) -> int | str:
    return str(value) if value.percent else value.value


def _metadata(meta: ObjectMeta, max_name: int | None = None, why: str = "") -> list[FieldError]:
    errors = _name("metadata.name", meta.name, rules="subdomain")
    if max_name is not None and len(meta.name) > max_name:
        errors.append(
            invalid(
                "metadata.name", meta.name, f"must be no more than {max_name} characters: {why}"
            )
        )
    errors += _name("metadata.namespace", meta.namespace)
    errors += _labels("metadata.labels", meta.labels)
    errors += _annotations("metadata.annotations", meta.annotations)
    return errors


def _labels(path: str, labels: Mapping[str, str]) -> list[FieldError]:
    errors: list[FieldError] = []
    for key, value in labels.items():
        errors += [invalid(path, key, p) for p in qualified_name_problems(key)]
        errors += [invalid(path, value, p) for p in label_value_problems(value)]
    return errors


def _annotations(path: str, annotations: Mapping[str, str]) -> list[FieldError]:
    errors: list[FieldError] = []
    size = 0
    for key, value in annotations.items():
        errors += [invalid(path, key, p) for p in qualified_name_problems(key)]
        size += len(key.encode()) + len(value.encode())
    if size > MAX_ANNOTATIONS_BYTES:
        errors.append(
            FieldError(path, f"Too long: must have at most {MAX_ANNOTATIONS_BYTES} bytes")
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
