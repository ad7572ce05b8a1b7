"""The one cattrs converter behind serde, and its hooks: Kubernetes' strictness, leaf by leaf.

`converter` structures a plain dict (as loaded from YAML or JSON) into model types and unstructures
them back, with Kubernetes' camelCase names (`serde.fields`). It is separate from the public
functions (`serde.structure`, `serde.unstructure`) because it is the part that speaks cattrs: when
it fails it raises cattrs' error tree, whose leaves are `InvalidValue` (a wrong value, with its
complete message) and `KeyProblem` (a key that cannot be accepted); `serde.structure` turns that
tree into field errors.

Traps:
- No coercion: `containerPort: "80"`, `image: 3`, `readOnly: "yes"` and an env `value: 8080` are
  errors, as in Kubernetes. Quantities alone may be numbers (`cpu: 0.5`, `memory: 1000`); their text
  is kept and echoed back.
- `null` means "not set" (Kubernetes' JSON semantics), and so does "" for an optional field.
- `maxSurge`/`maxUnavailable` are Kubernetes' IntOrString: an integer, or a string `"NN%"`; `"25"`
  (a string without `%`) is an error, as in Kubernetes. Both must fit in 32 bits.
- A probe's `port` is IntOrString too: an integer, or a non-empty string naming a container port.
  A number within a string (`"8080"`) stays a string, as in Kubernetes, and validation then refuses
  it as a port name (it has no letter).
- A probe's `timeoutSeconds`, `periodSeconds`, `successThreshold` and `failureThreshold` of 0 mean
  the default, as Kubernetes' defaulting makes them before it validates: the model never holds a 0
  there, so the engine need not know the rule and `timeoutSeconds: 0` hashes as if unset.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, get_origin

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.errors import ClassValidationError, IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from controller.model.claims import AccessMode, VolumeMode
from controller.model.placement import NodeSelectorOperator, TaintEffect, TolerationOperator
from controller.model.pod import (
    AppArmorProfileType,
    HostPathType,
    PortProtocol,
    PullPolicy,
    RestartPolicy,
    SeccompProfileType,
    StorageMedium,
)
from controller.model.probes import PortRef, Probe, URIScheme
from controller.model.quantity import Quantity, QuantityError
from controller.model.validation import show_value
from controller.model.workloads import IntOrPercent, SelectorOperator, StrategyType
from controller.serde.fields import (
    ALWAYS_SHOWN,
    EMPTY_IF_MISSING,
    IGNORED,
    K8S_ONLY_VALUES,
    asks_nothing,
    k8s_name,
    known_unsupported,
)

__all__ = ["InvalidValue", "KeyProblem", "converter", "wrong_type"]

_PERCENT = re.compile(r"[0-9]+%")
_PERCENT_MSG = (
    "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or "
    "'93%', regex used for validation is '[0-9]+%')"
)
_INT32_MAX = 2**31 - 1


class InvalidValue(ValueError):
    """A leaf value is wrong; the message is complete (`Invalid value: "80": must be ...`)."""


class KeyProblem(Exception):
    """A key of an object that cannot be accepted (`unknown field`, `not supported`)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def wrong_type(value: object, expected: str) -> InvalidValue:
    """The error for a value of the wrong JSON type, worded as Kubernetes words it."""
    return InvalidValue(f"Invalid value: {show_value(value)}: must be {expected}")


def _structure_str(value: object, _: object) -> str:
    if isinstance(value, str):
        return value
    raise wrong_type(value, "a string")


def _structure_int(value: object, _: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise wrong_type(value, "an integer")


def _structure_bool(value: object, _: object) -> bool:
    if isinstance(value, bool):
        return value
    raise wrong_type(value, "a boolean (true or false)")


def _structure_quantity(value: object, _: object) -> Quantity:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise wrong_type(value, "a quantity (a string or a number)")
    try:
        return Quantity.parse(value)
    except QuantityError as exc:
        detail = re.sub(r": '[^']*'$", "", str(exc))
        raise InvalidValue(f"Invalid value: {show_value(value)}: {detail}") from None


def _structure_int_or_percent(value: object, _: object) -> IntOrPercent:
    """`3` or `"25%"`; a number within a string (`"3"`) is refused, as Kubernetes refuses it."""
    if isinstance(value, int) and not isinstance(value, bool):
        parsed = IntOrPercent(value)
    elif isinstance(value, str):
        if not _PERCENT.fullmatch(value):
            raise InvalidValue(f"Invalid value: {show_value(value)}: {_PERCENT_MSG}")
        parsed = IntOrPercent(int(value[:-1]), percent=True)
    else:
        raise wrong_type(value, "an integer or a percentage (e.g. '5%')")
    if not -_INT32_MAX - 1 <= parsed.value <= _INT32_MAX:
        raise wrong_type(value, "a 32-bit integer")
    return parsed


def _unstructure_int_or_percent(value: IntOrPercent) -> int | str:
    return str(value) if value.percent else value.value


def _structure_port_ref(value: object, _: object) -> PortRef:
    """`8080` or `"http"` (a container port's name); ranges and name rules are validation's."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not -_INT32_MAX - 1 <= value <= _INT32_MAX:
            raise wrong_type(value, "a 32-bit integer")
        return PortRef(value)
    if isinstance(value, str) and value:
        return PortRef(value)
    raise wrong_type(value, "a port number or the name of a container port")


def _unstructure_port_ref(value: PortRef) -> int | str:
    return value.value


_DEFAULT_PROBE = Probe()


def _default_zero_timings(probe: Probe) -> Probe:
    """Kubernetes' SetDefaults_Probe: a timeout, period or threshold of 0 means the default."""
    return attrs.evolve(
        probe,
        timeout_seconds=probe.timeout_seconds or _DEFAULT_PROBE.timeout_seconds,
        period_seconds=probe.period_seconds or _DEFAULT_PROBE.period_seconds,
        success_threshold=probe.success_threshold or _DEFAULT_PROBE.success_threshold,
        failure_threshold=probe.failure_threshold or _DEFAULT_PROBE.failure_threshold,
    )


def _probe_hook() -> Callable[[object, object], Probe]:
    """The attrs hook of `Probe`, then Kubernetes' defaulting of its zero timings."""
    generic = _attrs_structure_hook(Probe)

    def structure(value: object, _: object) -> Probe:
        probe = generic(value, Probe)
        assert isinstance(probe, Probe)
        return _default_zero_timings(probe)

    return structure


def _structure_operator(value: object, _: object) -> SelectorOperator:
    """Kubernetes words an unknown operator as an invalid value, not as an unsupported one."""
    if not isinstance(value, str):
        raise wrong_type(value, "a string")
    try:
        return SelectorOperator(value)
    except ValueError:
        raise InvalidValue(
            f"Invalid value: {show_value(value)}: not a valid selector operator"
        ) from None


def _structure_str_map(value: object, _: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise wrong_type(value, "an object")
    errors: list[Exception] = []
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            exc = wrong_type(key if not isinstance(key, str) else item, "a string")
            exc.__notes__ = [IterableValidationNote(f"mapping value @ {key!r}", str(key), str)]
            errors.append(exc)
    if errors:
        raise IterableValidationError("While structuring a mapping", errors, dict)
    return dict(value)


def _enum_hook(cl: type[enum.Enum]) -> Callable[[object, object], enum.Enum]:
    supported = ", ".join(json.dumps(member.value) for member in cl)
    k8s_only = K8S_ONLY_VALUES.get(cl, ())

    def structure(value: object, _: object) -> enum.Enum:
        if not isinstance(value, str):
            raise wrong_type(value, "a string")
        try:
            return cl(value)
        except ValueError:
            pass
        known = value in k8s_only or (cl is StorageMedium and value.startswith("HugePages-"))
        note = "not supported; " if known else ""
        raise InvalidValue(
            f"Unsupported value: {show_value(value)}: {note}supported values: {supported}"
        )

    return structure


def _tuple_hook(t: Any) -> Callable[[object, object], tuple[Any, ...]]:
    as_list = list_structure_factory(t, converter)

    def structure(value: object, _: object) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise wrong_type(value, "a list")
        return tuple(as_list(value, t))

    return structure


def _attrs_structure_hook(cl: type) -> Callable[[object, object], object]:
    fields = attrs.fields(cl)
    by_key = {k8s_name(a.name): a for a in fields}
    renames = {a.name: override(rename=key) for key, a in by_key.items()}
    make: Any = make_dict_structure_fn  # its overloads do not type **overrides
    inner: Callable[[Mapping[str, Any], Any], object] = make(cl, converter, **renames)

    def structure(value: object, _: object) -> object:
        if not isinstance(value, dict):
            raise wrong_type(value, "an object")
        clean: dict[str, object] = {}
        problems: list[Exception] = []
        for key, item in value.items():
            key = str(key)
            if key in by_key:
                optional = by_key[key].default is not attrs.NOTHING
                if item is None or (optional and isinstance(item, str) and item == ""):
                    continue
                clean[key] = item
            elif (cl, key) in IGNORED:
                continue
            elif known_unsupported(cl, key):
                if not asks_nothing(cl, key, item):
                    problems.append(KeyProblem(key, "not supported"))
            else:
                problems.append(KeyProblem(key, "unknown field"))
        for key, attribute in by_key.items():
            if key not in clean and (cl, attribute.name) in EMPTY_IF_MISSING:
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
            rename=k8s_name(a.name),
            omit_if_default=False if (cl, a.name) in ALWAYS_SHOWN else None,
        )
        for a in attrs.fields(cl)
    }
    make: Any = make_dict_unstructure_fn  # its overloads do not type **overrides
    hook: Callable[[Any], dict[str, Any]] = make(
        cl, converter, _cattrs_omit_if_default=True, **renames
    )
    return hook


def _enum_value(member: enum.Enum) -> object:
    return member.value


def _is_tuple(t: Any) -> bool:
    return get_origin(t) is tuple


def _is_mapping(t: Any) -> bool:
    return get_origin(t) in (Mapping, dict)


converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
converter.register_structure_hook(str, _structure_str)
converter.register_structure_hook(int, _structure_int)
converter.register_structure_hook(bool, _structure_bool)
converter.register_structure_hook(Quantity, _structure_quantity)
converter.register_structure_hook(IntOrPercent, _structure_int_or_percent)
converter.register_unstructure_hook(IntOrPercent, _unstructure_int_or_percent)
converter.register_structure_hook(PortRef, _structure_port_ref)
converter.register_unstructure_hook(PortRef, _unstructure_port_ref)
# Class hooks win over predicates in cattrs, and the model's enums are `str` subclasses: each enum
# needs its own class hook, or the `str` hooks would take them (no value check, no `.value`).
_ENUMS = (
    RestartPolicy,
    PullPolicy,
    PortProtocol,
    StorageMedium,
    HostPathType,
    StrategyType,
    URIScheme,
    TaintEffect,
    TolerationOperator,
    NodeSelectorOperator,
    SeccompProfileType,
    AppArmorProfileType,
    AccessMode,
    VolumeMode,
)
for _enum in _ENUMS:
    converter.register_structure_hook(_enum, _enum_hook(_enum))
    converter.register_unstructure_hook(_enum, _enum_value)
converter.register_structure_hook(SelectorOperator, _structure_operator)
converter.register_unstructure_hook(SelectorOperator, _enum_value)
converter.register_structure_hook_factory(_is_tuple, _tuple_hook)
converter.register_structure_hook_factory(_is_mapping, lambda _: _structure_str_map)
converter.register_structure_hook_factory(attrs.has, _attrs_structure_hook)
converter.register_structure_hook(Probe, _probe_hook())
converter.register_unstructure_hook(Quantity, str)
converter.register_unstructure_hook_factory(
    _is_tuple, lambda _: lambda items: [converter.unstructure(item) for item in items]
)
converter.register_unstructure_hook_factory(_is_mapping, lambda _: dict)
converter.register_unstructure_hook_factory(attrs.has, _attrs_unstructure_hook)
