"""Manifest dicts <-> model types, with Kubernetes' names, strictness and error paths; spec hashes.

One cattrs converter does the work. `structure_pod`, `structure_replicaset` and
`structure_deployment` turn a plain dict (as loaded from YAML or JSON) into a `Pod`, `ReplicaSet` or
`Deployment`, and `structure_object` picks one of them from `kind`; each raises `ManifestInvalid`
with *every* problem of the document, each with a Kubernetes-style field path
(`spec.template.spec.containers[1].securityContext: not supported`). Value rules (names, ports,
references, selectors) come from `model.validation` and are raised together with these.

Traps:
- No coercion: `containerPort: "80"`, `image: 3`, `readOnly: "yes"` and an env `value: 8080` are
  errors, as in Kubernetes. Quantities alone may be numbers (`cpu: 0.5`, `memory: 1000`); their text
  is kept and echoed back.
- `null` means "not set" (Kubernetes' JSON semantics), and so does "" for an optional field.
- A field Kubernetes has but Podyard does not implement says `not supported`, never `unknown field`,
  so users know the manifest is fine for Kubernetes. Such a field set to null, empty, or a value that
  asks for nothing (`hostNetwork: false`, `dnsPolicy: ClusterFirst`, as `kubectl run --dry-run`
  writes) is accepted and ignored. `status` is ignored, as Kubernetes ignores it on create.
- Structural errors stop the object from being built, so value rules only run once structure is
  sound: a document with an unknown field shows its structural errors only, the rest once fixed.
- Hashes are sha256 of canonical JSON of the unstructured form, where defaults are omitted: adding a
  defaulted field to the model later does not change the hash of existing pods (no mass restart).
  The few defaults Kubernetes always shows (`restartPolicy`, `replicas`, `strategy.type`, ...) are
  written, so they are part of the hash from the start.
- A pod template's `metadata` may only carry labels and annotations: its `name` and `namespace`
  (which Kubernetes ignores, as pods get generated names in the owner's namespace) are refused as
  `not supported` unless empty, so a manifest cannot suggest a pod name it will not get.
- `maxSurge`/`maxUnavailable` are Kubernetes' IntOrString: an integer, or a string `"NN%"`; `"25"`
  (a string without `%`) is an error, as in Kubernetes. Both must fit in 32 bits.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from controller.model.identity import owner_reference
from controller.model.meta import ObjectMeta
from controller.model.pod import (
    Container,
    ContainerPort,
    EnvVar,
    HostPathType,
    Pod,
    PodSpec,
    PortProtocol,
    PullPolicy,
    ResourceList,
    ResourceRequirements,
    RestartPolicy,
    StorageMedium,
    Volume,
    VolumeMount,
)
from controller.model.quantity import Quantity, QuantityError
from controller.model.status import ContainerState, PodView, Running, Waiting
from controller.model.validation import (
    TEMPLATE_HASH_LENGTH,
    FieldError,
    show_value,
    validate_deployment,
    validate_pod,
    validate_replicaset,
)
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    IntOrPercent,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    SelectorOperator,
    StrategyType,
    TemplateMeta,
)

__all__ = [
    "OBJECT_KINDS",
    "FieldError",
    "ManifestInvalid",
    "ManifestObject",
    "container_spec_hash",
    "field_path",
    "k8s_name",
    "pod_spec_hash",
    "pod_view_to_k8s",
    "rfc3339",
    "structure_deployment",
    "structure_object",
    "structure_pod",
    "structure_replicaset",
    "template_hash",
    "unstructure_deployment",
    "unstructure_pod",
    "unstructure_replicaset",
    "workload_spec_hash",
]

ManifestObject = Pod | ReplicaSet | Deployment
"""Every kind a manifest may declare."""

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
    PodSpec: frozenset(
        {
            "initContainers",
            "ephemeralContainers",
            "activeDeadlineSeconds",
            "dnsPolicy",
            "nodeSelector",
            "serviceAccountName",
            "serviceAccount",
            "automountServiceAccountToken",
            "nodeName",
            "hostNetwork",
            "hostPID",
            "hostIPC",
            "securityContext",
            "imagePullSecrets",
            "subdomain",
            "affinity",
            "schedulerName",
            "tolerations",
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
            "resources",
            "hostnameOverride",
        }
    ),
    Container: frozenset(
        {
            "envFrom",
            "resizePolicy",
            "restartPolicy",
            "restartPolicyRules",
            "livenessProbe",
            "readinessProbe",
            "startupProbe",
            "lifecycle",
            "securityContext",
            "stdin",
            "stdinOnce",
            "tty",
            "volumeDevices",
        }
    ),
    EnvVar: frozenset({"valueFrom"}),
    ResourceRequirements: frozenset({"claims"}),
    VolumeMount: frozenset({"recursiveReadOnly", "mountPropagation", "subPathExpr"}),
    Volume: frozenset(
        {
            "gcePersistentDisk",
            "awsElasticBlockStore",
            "gitRepo",
            "secret",
            "nfs",
            "iscsi",
            "glusterfs",
            "persistentVolumeClaim",
            "rbd",
            "flexVolume",
            "cinder",
            "cephfs",
            "flocker",
            "downwardAPI",
            "fc",
            "azureFile",
            "configMap",
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
    (PodSpec, "hostNetwork"): (False,),
    (PodSpec, "hostPID"): (False,),
    (PodSpec, "hostIPC"): (False,),
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
_IGNORED = frozenset({(Pod, "status"), (ReplicaSet, "status"), (Deployment, "status")})
# Required in the model but optional in Kubernetes: a missing or null value means an empty object.
_EMPTY_IF_MISSING = frozenset({(PodTemplateSpec, "metadata")})
_K8S_ONLY_VALUES: dict[type, tuple[str, ...]] = {
    HostPathType: ("Directory", "File", "FileOrCreate", "Socket", "CharDevice", "BlockDevice"),
    StorageMedium: ("HugePages",),
}
# Always written by unstructure even when equal to the default (Kubernetes always shows them).
_ALWAYS = frozenset(
    {
        (Pod, "api_version"),
        (Pod, "kind"),
        (ReplicaSet, "api_version"),
        (ReplicaSet, "kind"),
        (Deployment, "api_version"),
        (Deployment, "kind"),
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
_T = TypeVar("_T")
_SPECIAL_NAMES = {"host_ip": "hostIP"}
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PERCENT = re.compile(r"[0-9]+%")
_PERCENT_MSG = (
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or "
    "'93%', regex used for validation is '[0-9]+%')"
)
_INT32_MAX = 2**31 - 1
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""Kubernetes' SafeEncodeString alphabet: no vowels (no words), no 0/1/3 (no look-alikes)."""


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


class ManifestInvalid(Exception):
    """A document that cannot become an object; `errors` holds every problem found."""

    def __init__(self, errors: tuple[FieldError, ...]) -> None:
        super().__init__(errors)
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(error) for error in self.errors)


class _Invalid(ValueError):
    """A leaf value is wrong; the message is complete (`Invalid value: "80": must be ...`)."""


class _KeyProblem(Exception):
    """A key of an object that cannot be accepted (`unknown field`, `not supported`)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _wrong_type(value: object, expected: str) -> _Invalid:
    return _Invalid(f"Invalid value: {show_value(value)}: must be {expected}")


def _structure_str(value: object, _: object) -> str:
    if isinstance(value, str):
        return value
    raise _wrong_type(value, "a string")


def _structure_int(value: object, _: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _wrong_type(value, "an integer")


def _structure_bool(value: object, _: object) -> bool:
    if isinstance(value, bool):
        return value
    raise _wrong_type(value, "a boolean (true or false)")


def _structure_quantity(value: object, _: object) -> Quantity:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _wrong_type(value, "a quantity (a string or a number)")
    try:
        return Quantity.parse(value)
    except QuantityError as exc:
        detail = re.sub(r": '[^']*'$", "", str(exc))
        raise _Invalid(f"Invalid value: {show_value(value)}: {detail}") from None


def _structure_int_or_percent(value: object, _: object) -> IntOrPercent:
    """`3` or `"25%"`; a number within a string (`"3"`) is refused, as Kubernetes refuses it."""
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = IntOrPercent(value)
    elif isinstance(value, str):
        if not _PERCENT.fullmatch(value):
            raise _Invalid(f"Invalid value: {show_value(value)}: {_PERCENT_MSG}")
        parsed = IntOrPercent(int(value[:-1]), percent=True)
    else:
        raise _wrong_type(value, "an integer or a percentage (e.g. '5%')")
    if not -_INT32_MAX - 1 <= parsed.value <= _INT32_MAX:
        raise _wrong_type(value, "a 32-bit integer")
    return parsed


def _unstructure_int_or_percent(value: IntOrPercent) -> int | str:
    return str(value) if value.percent else value.value


def _structure_operator(value: object, _: object) -> SelectorOperator:
    """Kubernetes words an unknown operator as an invalid value, not as an unsupported one."""
    if not isinstance(value, str):
        raise _wrong_type(value, "a string")
    try:
        return SelectorOperator(value)
    except ValueError:
        raise _Invalid(
            f"Invalid value: {show_value(value)}: not a valid selector operator"
        ) from None


def _structure_str_map(value: object, _: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise _wrong_type(value, "an object")
    errors: list[Exception] = []
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            exc = _wrong_type(key if not isinstance(key, str) else item, "a string")
            exc.__notes__ = [IterableValidationNote(f"mapping value @ {key!r}", str(key), str)]
            errors.append(exc)
    if errors:
        raise IterableValidationError("While structuring a mapping", errors, dict)
    return dict(value)


def _enum_hook(cl: type[enum.Enum]) -> Callable[[object, object], enum.Enum]:
    supported = ", ".join(json.dumps(member.value) for member in cl)
    k8s_only = _K8S_ONLY_VALUES.get(cl, ())

    def structure(value: object, _: object) -> enum.Enum:
        if not isinstance(value, str):
            raise _wrong_type(value, "a string")
        try:
            return cl(value)
        except ValueError:
            pass
        known = value in k8s_only or (cl is StorageMedium and value.startswith("HugePages-"))
        note = "not supported; " if known else ""
        raise _Invalid(
            f"Unsupported value: {show_value(value)}: {note}supported values: {supported}"
        )

    return structure


def _tuple_hook(t: Any) -> Callable[[object, object], tuple[Any, ...]]:
    as_list = list_structure_factory(t, _converter)

    def structure(value: object, _: object) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise _wrong_type(value, "a list")
        return tuple(as_list(value, t))

    return structure


def _known_unsupported(cl: type, key: str) -> bool:
    if cl is ResourceList:
        return (
            key in {"ephemeral-storage", "storage", "pods"}
            or key.startswith("hugepages-")
            or ("/" in key)
        )
    return key in _K8S_ONLY.get(cl, frozenset())


def _asks_nothing(cl: type, key: str, value: object) -> bool:
    if value is None or value in ({}, [], ""):
        return True
    harmless = _HARMLESS.get((cl, key), ())
    return any(type(value) is type(ok) and value == ok for ok in harmless)


def _attrs_structure_hook(cl: type) -> Callable[[object, object], object]:
    fields = attrs.fields(cl)
    by_key = {k8s_name(a.name): a for a in fields}
    renames = {a.name: override(rename=key) for key, a in by_key.items()}
    make: Any = make_dict_structure_fn  # its overloads do not type **overrides
    inner: Callable[[Mapping[str, Any], Any], object] = make(cl, _converter, **renames)

    def structure(value: object, _: object) -> object:
        if not isinstance(value, dict):
            raise _wrong_type(value, "an object")
        clean: dict[str, object] = {}
        problems: list[Exception] = []
        for key, item in value.items():
            key = str(key)
            if key in by_key:
                optional = by_key[key].default is not attrs.NOTHING
                if item is None or (optional and isinstance(item, str) and item == ""):
                    continue
                clean[key] = item
            elif (cl, key) in _IGNORED:
                continue
            elif _known_unsupported(cl, key):
                if not _asks_nothing(cl, key, item):
                    problems.append(_KeyProblem(key, "not supported"))
            else:
                problems.append(_KeyProblem(key, "unknown field"))
        for key, attribute in by_key.items():
            if key not in clean and (cl, attribute.name) in _EMPTY_IF_MISSING:
                clean[key] = {}
        try:
            result = inner(clean, cl)
        except ClassValidationError as exc:
            raise ClassValidationError(exc.message, [*exc.exceptions, *problems], cl) from None
        if problems:
            raise ClassValidationError(f"While structuring {cl.__name__}", problems, cl)
        return result

    return structure


def _attrs_unstructure_hook(cl: type) -> Callable[[Any], dict[str, Any]]:
    renames = {
        a.name: override(
            rename=k8s_name(a.name), omit_if_default=False if (cl, a.name) in _ALWAYS else None
        )
        for a in attrs.fields(cl)
    }
    make: Any = make_dict_unstructure_fn  # its overloads do not type **overrides
    hook: Callable[[Any], dict[str, Any]] = make(
        cl, _converter, _cattrs_omit_if_default=True, **renames
    )
    return hook


def _enum_value(member: enum.Enum) -> object:
    return member.value


def _is_tuple(t: Any) -> bool:
    return get_origin(t) is tuple


def _is_mapping(t: Any) -> bool:
    return get_origin(t) in (Mapping, dict)


_converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
_converter.register_structure_hook(str, _structure_str)
_converter.register_structure_hook(int, _structure_int)
_converter.register_structure_hook(bool, _structure_bool)
_converter.register_structure_hook(Quantity, _structure_quantity)
_converter.register_structure_hook(IntOrPercent, _structure_int_or_percent)
_converter.register_unstructure_hook(IntOrPercent, _unstructure_int_or_percent)
# Class hooks win over predicates in cattrs, and the model's enums are `str` subclasses: each enum
# needs its own class hook, or the `str` hooks would take them (no value check, no `.value`).
for _enum in (RestartPolicy, PullPolicy, PortProtocol, StorageMedium, HostPathType, StrategyType):
    _converter.register_structure_hook(_enum, _enum_hook(_enum))
    _converter.register_unstructure_hook(_enum, _enum_value)
_converter.register_structure_hook(SelectorOperator, _structure_operator)
_converter.register_unstructure_hook(SelectorOperator, _enum_value)
_converter.register_structure_hook_factory(_is_tuple, _tuple_hook)
_converter.register_structure_hook_factory(_is_mapping, lambda _: _structure_str_map)
_converter.register_structure_hook_factory(attrs.has, _attrs_structure_hook)
_converter.register_unstructure_hook(Quantity, str)
_converter.register_unstructure_hook_factory(
    _is_tuple, lambda _: lambda items: [_converter.unstructure(item) for item in items]
)
_converter.register_unstructure_hook_factory(_is_mapping, lambda _: dict)
_converter.register_unstructure_hook_factory(attrs.has, _attrs_unstructure_hook)


def _flatten(exc: BaseException, path: str, owner: type | None = None) -> list[FieldError]:
    """cattrs' error tree -> FieldErrors with Kubernetes paths (attribute names -> camelCase)."""
    if isinstance(exc, _KeyProblem):
        return [FieldError(field_path(path, exc.key), exc.message)]
    if isinstance(exc, ClassValidationError | IterableValidationError):
        errors: list[FieldError] = []
        for sub in exc.exceptions:
            notes = getattr(sub, "__notes__", [])
            step: str | int | None = None
            for note in reversed(notes):
                if isinstance(note, AttributeValidationNote):
                    step = k8s_name(note.name)
                    break
                if isinstance(note, IterableValidationNote):
                    step = note.index
                    break
            sub_path = path if step is None else field_path(path, step)
            errors += _flatten(sub, sub_path)
        return errors
    if isinstance(exc, KeyError):
        return [FieldError(path, "Required value")]
    if isinstance(exc, _Invalid):
        return [FieldError(path, str(exc))]
    return [FieldError(path, f"Invalid value: {exc}")]


def _check_type_meta(data: dict[Any, Any], api_version: str, kind: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for key, wanted in (("apiVersion", api_version), ("kind", kind)):
        value = data.get(key)
        if value is None or value == "":
            errors.append(FieldError(key, "Required value"))
        elif isinstance(value, str) and value != wanted:
            errors.append(
                FieldError(
                    key,
                    f"Unsupported value: {show_value(value)}: supported values: {json.dumps(wanted)}",
                )
            )
    return errors


def _structure(
    data: object,
    cl: type[_T],
    api_version: str,
    kind: str,
    validate: Callable[[_T], list[FieldError]],
) -> _T:
    """Type meta, structure, then (only if structure is sound) value rules; all errors together."""
    errors = _check_type_meta(data, api_version, kind) if isinstance(data, dict) else []
    obj: _T | None = None
    try:
        obj = _converter.structure(data, cl)
    except (ClassValidationError, IterableValidationError, _Invalid) as exc:
        errors += _flatten(exc, "")
    if obj is not None:
        errors += validate(obj)
    if errors or obj is None:
        raise ManifestInvalid(tuple(errors))
    return obj


def structure_pod(data: object) -> Pod:
    """A validated Pod from a manifest dict, or ManifestInvalid listing every problem."""
    return _structure(data, Pod, "v1", "Pod", validate_pod)


def structure_replicaset(data: object) -> ReplicaSet:
    """A validated ReplicaSet (`apps/v1`) from a manifest dict, or ManifestInvalid.

    The template's pod spec is structured and validated exactly as a Pod's spec, with its errors
    under `spec.template.spec`. See `validate_replicaset` for where Podyard is stricter or looser
    than Kubernetes (name length, template restartPolicy).
    """
    return _structure(data, ReplicaSet, "apps/v1", "ReplicaSet", validate_replicaset)


def structure_deployment(data: object) -> Deployment:
    """A validated Deployment (`apps/v1`) from a manifest dict, or ManifestInvalid.

    Defaults are Kubernetes': strategy RollingUpdate (25% surge, 25% unavailable when
    `rollingUpdate` is absent), revisionHistoryLimit 10, progressDeadlineSeconds 600. `paused: true`
    is not supported (`paused: false` is accepted).
    """
    return _structure(data, Deployment, "apps/v1", "Deployment", validate_deployment)


OBJECT_KINDS: Mapping[str, Callable[[object], ManifestObject]] = {
    "Pod": structure_pod,
    "ReplicaSet": structure_replicaset,
    "Deployment": structure_deployment,
}
"""Kind -> structuring function, for every kind Podyard understands."""


def structure_object(data: object) -> ManifestObject:
    """A Pod, ReplicaSet or Deployment, chosen by `kind`; `apiVersion` must then match the kind.

    An unknown kind is reported on `kind` with the supported kinds listed; nothing else of the
    document is examined then (its fields would mean nothing).
    """
    if not isinstance(data, dict):
        raise ManifestInvalid((FieldError("", str(_wrong_type(data, "an object"))),))
    kind = data.get("kind")
    if kind is None or kind == "":
        raise ManifestInvalid((FieldError("kind", "Required value"),))
    if not isinstance(kind, str):
        raise ManifestInvalid((FieldError("kind", str(_wrong_type(kind, "a string"))),))
    structure = OBJECT_KINDS.get(kind)
    if structure is None:
        supported = ", ".join(json.dumps(name) for name in OBJECT_KINDS)
        raise ManifestInvalid(
            (
                FieldError(
                    "kind", f"Unsupported value: {show_value(kind)}: supported values: {supported}"
                ),
            )
        )
    return structure(data)


def _unstructure_object(obj: object, cl: type) -> dict[str, Any]:
    """Kubernetes' key order: apiVersion, kind, metadata, spec, and `spec.replicas` first."""
    raw: dict[str, Any] = _converter.unstructure(obj, cl)
    spec: dict[str, Any] = raw["spec"]
    if "replicas" in spec:
        raw["spec"] = {"replicas": spec.pop("replicas"), **spec}
    return {"apiVersion": raw.pop("apiVersion"), "kind": raw.pop("kind"), **raw}


def unstructure_pod(pod: Pod) -> dict[str, Any]:
    """Kubernetes-shaped JSON of a pod: camelCase, unset fields and defaults omitted."""
    return _unstructure_object(pod, Pod)


def unstructure_replicaset(rs: ReplicaSet) -> dict[str, Any]:
    """Kubernetes-shaped JSON of a ReplicaSet; `spec.replicas` is always shown, as Kubernetes does."""
    return _unstructure_object(rs, ReplicaSet)


def unstructure_deployment(deployment: Deployment) -> dict[str, Any]:
    """Kubernetes-shaped JSON of a Deployment.

    `replicas`, `strategy.type`, `revisionHistoryLimit` and `progressDeadlineSeconds` are always
    shown, as Kubernetes shows them; `strategy.rollingUpdate` only when the manifest set it (the
    model keeps "absent" apart from "25%/25% written out", so the round trip is exact).
    """
    return _unstructure_object(deployment, Deployment)


def _canonical_json(value: object) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _canonical_hash(value: object) -> str:
    return hashlib.sha256(_canonical_json(value)).hexdigest()[:16]


def pod_spec_hash(spec: PodSpec) -> str:
    """16 hex chars identifying the spec; equal specs hash equal in every run and Python version."""
    return _canonical_hash(_converter.unstructure(spec, PodSpec))


def container_spec_hash(container: Container) -> str:
    return _canonical_hash(_converter.unstructure(container, Container))


def workload_spec_hash(obj: ReplicaSet | Deployment) -> str:
    """16 hex chars identifying a ReplicaSet's or Deployment's whole spec (replicas included).

    For change detection only (did the manifest's spec change?); metadata is not part of it.
    """
    if isinstance(obj, ReplicaSet):
        return _canonical_hash(_converter.unstructure(obj.spec, ReplicaSetSpec))
    return _canonical_hash(_converter.unstructure(obj.spec, DeploymentSpec))


def template_hash(template: PodTemplateSpec) -> str:
    """The `pod-template-hash`: 10 characters from `bcdfghjklmnpqrstvwxz2456789`.

    Safe in names (`<deployment>-<hash>`) and label values, and stable across runs and Python
    versions: sha256 of the canonical JSON of the unstructured template (labels, annotations and
    spec), read as a number and written in base 27. Equal templates hash equal whatever the key
    order of the manifest.

    Trap: hash the template as declared (a Deployment's), before a `pod-template-hash` label is added
    to it, as Kubernetes does: the label is part of the template, so adding it changes the hash.
    """
    digest = hashlib.sha256(_canonical_json(_converter.unstructure(template, PodTemplateSpec)))
    number = int.from_bytes(digest.digest()[:8], "big")
    chars: list[str] = []
    for _ in range(TEMPLATE_HASH_LENGTH):
        number, index = divmod(number, len(_SAFE_ALPHABET))
        chars.append(_SAFE_ALPHABET[index])
    return "".join(chars)


def rfc3339(epoch: float) -> str:
    """Epoch seconds -> `2026-11-23T11:47:21Z` (UTC, whole seconds, as Kubernetes prints times)."""
    return datetime.fromtimestamp(int(epoch // 1), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _docker_id(container_id: str) -> str:
    return container_id if "://" in container_id else f"docker://{container_id}"


def _state(state: ContainerState | None) -> dict[str, Any]:
    if state is None:
        return {}
    if isinstance(state, Waiting):
        waiting = {"reason": state.reason, **({"message": state.message} if state.message else {})}
        return {"waiting": waiting}
    if isinstance(state, Running):
        return {"running": {"startedAt": rfc3339(state.started_at)}}
    out: dict[str, Any] = {"exitCode": state.exit_code, "reason": state.reason}
    for key, when in (("startedAt", state.started_at), ("finishedAt", state.finished_at)):
        if when is not None:
            out[key] = rfc3339(when)
    if state.message:
        out["message"] = state.message
    if state.container_id:
        out["containerID"] = _docker_id(state.container_id)
    return {"terminated": out}


def pod_view_to_k8s(view: PodView, *, deletion_timestamp: float | None = None) -> dict[str, Any]:
    """A full Kubernetes Pod object (metadata, spec, status) as `kubectl get -o json` shows it.

    `deletionTimestamp` is shown when `view.deleting`: `deletion_timestamp` if given, else the
    creation time (the marker matters more than the instant). A pod a ReplicaSet made carries its
    controller `ownerReferences` (see `model.identity.owner_reference`).
    """
    pod = unstructure_pod(view.pod)
    meta: dict[str, Any] = pod["metadata"]
    if view.ref is not None:
        meta["uid"] = view.ref.uid
    if view.created_at is not None:
        meta["creationTimestamp"] = rfc3339(view.created_at)
    deleted_at = deletion_timestamp if deletion_timestamp is not None else view.created_at
    if view.deleting and deleted_at is not None:
        meta["deletionTimestamp"] = rfc3339(deleted_at)
        meta["deletionGracePeriodSeconds"] = view.pod.spec.termination_grace_period_seconds
    owner = owner_reference(view.owner, view.pod.metadata.namespace)
    if owner is not None:
        meta["ownerReferences"] = [owner]
    if view.node is not None:
        pod["spec"]["nodeName"] = view.node
    status = view.status
    out: dict[str, Any] = {"phase": status.phase.value}
    if status.conditions:
        out["conditions"] = [
            {
                "type": c.type.value,
                "status": "True" if c.status else "False",
                **(
                    {"lastTransitionTime": rfc3339(c.last_transition_time)}
                    if c.last_transition_time is not None
                    else {}
                ),
                **({"reason": c.reason} if c.reason else {}),
                **({"message": c.message} if c.message else {}),
            }
            for c in status.conditions
        ]
    for key, text in (("reason", status.reason), ("message", status.message)):
        if text:
            out[key] = text
    if status.host_ip:
        out["hostIP"] = status.host_ip
        out["hostIPs"] = [{"ip": status.host_ip}]
    if status.pod_ip:
        out["podIP"] = status.pod_ip
        out["podIPs"] = [{"ip": status.pod_ip}]
    if status.start_time is not None:
        out["startTime"] = rfc3339(status.start_time)
    if status.container_statuses:
        out["containerStatuses"] = [
            {
                "name": cs.name,
                "image": cs.image,
                "imageID": cs.image_id,
                **({"containerID": _docker_id(cs.container_id)} if cs.container_id else {}),
                "ready": cs.ready,
                "started": cs.started,
                "restartCount": cs.restart_count,
                "state": _state(cs.state),
                "lastState": _state(cs.last_state),
            }
            for cs in status.container_statuses
        ]
    pod["status"] = out
    return pod
