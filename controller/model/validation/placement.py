"""The rules of a pod's placement fields: nodeName, nodeSelector, tolerations, node affinity.

Kubernetes' own (ValidateTolerations, ValidateNodeSelector and friends in core validation), with
its paths and words, so a manifest refused here is one the API server would refuse too and the
error sits next to the line. Called from `pod_validation.validate_pod_spec` for pods and pod
templates alike. Enum fields (effects, operators) are already checked by serde.

Traps:
- An empty toleration key means "every key" and is only valid with Exists; Exists wants no value.
- tolerationSeconds only means something for NoExecute (how long a pod stays once the taint
  appears), so it is refused with any other effect, also with none.
- matchFields knows one field, `metadata.name`, with In or NotIn and exactly one value.
- Gt and Lt compare integers: one value that parses as one.
"""

from __future__ import annotations

from collections.abc import Mapping

from controller.model.placement import (
    Affinity,
    NodeSelector,
    NodeSelectorOperator,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    TaintEffect,
    Toleration,
    TolerationOperator,
)
from controller.model.validation.meta import (
    FieldError,
    dns1123_subdomain_problems,
    invalid,
    label_errors,
    label_value_problems,
    qualified_name_problems,
    required,
)

NODE_NAME_FIELD = "metadata.name"
_IN_OR_NOT_IN = (NodeSelectorOperator.IN, NodeSelectorOperator.NOT_IN)
_GT_OR_LT = (NodeSelectorOperator.GT, NodeSelectorOperator.LT)


def placement_errors(
    path: str,
    node_name: str | None,
    node_selector: Mapping[str, str],
    affinity: Affinity | None,
    tolerations: tuple[Toleration, ...],
) -> list[FieldError]:
    """Every problem of a PodSpec's placement fields found at `path` (`spec`, or a template's)."""
    errors: list[FieldError] = []
    if node_name:
        problems = dns1123_subdomain_problems(node_name)
        errors += [invalid(f"{path}.nodeName", node_name, p) for p in problems]
    errors += label_errors(f"{path}.nodeSelector", node_selector)
    for i, toleration in enumerate(tolerations):
        errors += toleration_errors(f"{path}.tolerations[{i}]", toleration)
    if affinity is not None and affinity.node_affinity is not None:
        node = affinity.node_affinity
        apath = f"{path}.affinity.nodeAffinity"
        hard = node.required_during_scheduling_ignored_during_execution
        if hard is not None:
            errors += node_selector_errors(
                f"{apath}.requiredDuringSchedulingIgnoredDuringExecution", hard
            )
        soft = node.preferred_during_scheduling_ignored_during_execution
        for i, term in enumerate(soft):
            tpath = f"{apath}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
            if not 1 <= term.weight <= 100:
                errors.append(invalid(f"{tpath}.weight", term.weight, "must be in the range 1-100"))
            errors += term_errors(f"{tpath}.preference", term.preference)
    return errors


def toleration_errors(path: str, toleration: Toleration) -> list[FieldError]:
    errors: list[FieldError] = []
    key, operator = toleration.key, toleration.operator
    if key:
        errors += [invalid(f"{path}.key", key, p) for p in qualified_name_problems(key)]
    elif operator is not TolerationOperator.EXISTS:
        errors.append(
            invalid(
                f"{path}.operator",
                operator.value,
                'operator must be Exists when `key` is empty, which means "match all values and '
                'all keys"',
            )
        )
    if (
        toleration.toleration_seconds is not None
        and toleration.effect is not TaintEffect.NO_EXECUTE
    ):
        effect = toleration.effect.value if toleration.effect is not None else ""
        errors.append(
            invalid(
                f"{path}.effect",
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            )
        )
    if operator is TolerationOperator.EXISTS and toleration.value:
        errors.append(
            invalid(
                f"{path}.operator",
                operator.value,
                "value must be empty when `operator` is 'Exists'",
            )
        )
    elif operator is TolerationOperator.EQUAL:
        value = toleration.value
        errors += [invalid(f"{path}.value", value, p) for p in label_value_problems(value)]
    return errors


def node_selector_errors(path: str, selector: NodeSelector) -> list[FieldError]:
    if not selector.node_selector_terms:
        return [required(f"{path}.nodeSelectorTerms", "must have at least one node selector term")]
    errors: list[FieldError] = []
    for i, term in enumerate(selector.node_selector_terms):
        errors += term_errors(f"{path}.nodeSelectorTerms[{i}]", term)
    return errors


def term_errors(path: str, term: NodeSelectorTerm) -> list[FieldError]:
    errors: list[FieldError] = []
    for j, expression in enumerate(term.match_expressions):
        errors += requirement_errors(f"{path}.matchExpressions[{j}]", expression)
    for j, field in enumerate(term.match_fields):
        errors += field_requirement_errors(f"{path}.matchFields[{j}]", field)
    return errors


def requirement_errors(path: str, requirement: NodeSelectorRequirement) -> list[FieldError]:
    errors: list[FieldError] = []
    operator, values = requirement.operator, requirement.values
    if operator in _IN_OR_NOT_IN and not values:
        errors.append(
            required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'")
        )
    elif operator in _GT_OR_LT:
        if len(values) != 1:
            errors.append(
                required(
                    f"{path}.values",
                    "must be specified single value when `operator` is 'Lt' or 'Gt'",
                )
            )
        elif not _is_integer(values[0]):
            errors.append(
                invalid(
                    f"{path}.values[0]",
                    values[0],
                    "must be an integer when `operator` is 'Lt' or 'Gt'",
                )
            )
    elif operator not in _IN_OR_NOT_IN and values:
        errors.append(
            FieldError(
                f"{path}.values",
                "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )
        )
    key = requirement.key
    problems = qualified_name_problems(key) if key else ["name part must be non-empty"]
    return errors + [invalid(f"{path}.key", key, p) for p in problems]


def field_requirement_errors(path: str, requirement: NodeSelectorRequirement) -> list[FieldError]:
    errors: list[FieldError] = []
    if requirement.operator not in _IN_OR_NOT_IN:
        errors.append(
            invalid(f"{path}.operator", requirement.operator.value, "not a valid selector operator")
        )
    elif len(requirement.values) != 1:
        errors.append(
            required(
                f"{path}.values",
                "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
            )
        )
    if requirement.key != NODE_NAME_FIELD:
        errors.append(invalid(f"{path}.key", requirement.key, "not a valid field selector key"))
    else:
        for i, value in enumerate(requirement.values):
            problems = dns1123_subdomain_problems(value)
            errors += [invalid(f"{path}.values[{i}]", value, p) for p in problems]
    return errors


def _is_integer(text: str) -> bool:
    try:
        int(text, 10)
    except ValueError:
        return False
    return True
