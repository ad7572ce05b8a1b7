"""A workload's value rules: ReplicaSet and Deployment names, counts, selectors and strategies.

`validate_replicaset` and `validate_deployment` check what the two kinds share (`_workload_spec`:
replica counts, a selector that must match its template's labels) and then what is their own; the
pod template itself is checked by `pod_validation.validate_pod_spec`, under `spec.template.spec`.
Kept apart from `pod_validation` because these rules follow the workload controllers (pod and
ReplicaSet naming, rollout strategy), not the pod.

Traps:
- Workload names are shorter than Kubernetes allows (57 for a ReplicaSet, 46 for a Deployment), and
  pod templates may use any restartPolicy: see `validate_replicaset` for why.
- Kubernetes says "empty selector is invalid for deployment" for ReplicaSets too; so do we, word
  for word, so the message can be searched for.
"""

from __future__ import annotations

from controller.model.validation.meta import (
    DNS1123_LABEL_MAX,
    FieldError,
    annotation_errors,
    invalid,
    label_errors,
    label_value_problems,
    metadata_errors,
    negative,
    qualified_name_problems,
    required,
)
from controller.model.validation.pod import validate_pod_spec
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
    errors = metadata_errors(rs.metadata, MAX_REPLICASET_NAME, _REPLICASET_NAME_WHY)
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
    errors = metadata_errors(deployment.metadata, MAX_DEPLOYMENT_NAME, _DEPLOYMENT_NAME_WHY)
    errors += _workload_spec(spec)
    errors += _strategy("spec.strategy", spec.strategy)
    if spec.revision_history_limit < 0:
        errors.append(negative("spec.revisionHistoryLimit", spec.revision_history_limit))
    deadline = spec.progress_deadline_seconds
    if deadline < 0:
        errors.append(negative("spec.progressDeadlineSeconds", deadline))
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
    errors = label_errors(f"{path}.matchLabels", selector.match_labels)
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


def _workload_spec(spec: ReplicaSetSpec | DeploymentSpec) -> list[FieldError]:
    """What ReplicaSet and Deployment specs share: counts, selector, template (in that order).

    The selector/template match is only checked when the selector itself is sound: a selector with
    errors (an `In` without values) would add a mismatch message that only repeats them.
    """
    errors: list[FieldError] = []
    if spec.replicas < 0:
        errors.append(negative("spec.replicas", spec.replicas))
    if spec.min_ready_seconds < 0:
        errors.append(negative("spec.minReadySeconds", spec.min_ready_seconds))
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
    errors += label_errors("spec.template.metadata.labels", labels)
    errors += annotation_errors("spec.template.metadata.annotations", template.metadata.annotations)
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
            errors.append(negative(f"{rpath}.{name}", _int_or_percent(value)))
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
