"""The vocabulary every kind's validation shares: `FieldError`, Kubernetes' string formats, ObjectMeta.

`FieldError` and its builders (`invalid`, `required`, `negative`) spell messages as Kubernetes does
(`Required value`, `Invalid value: "x": ...`), so users can search for them. The `*_problems`
functions are Kubernetes' IsDNS1123Label, IsQualifiedName, IsValidLabelValue and friends: they take a
string and return the messages for it (empty when valid), with no path, so any rule can attach them
to its own field. `metadata_errors`, `label_errors` and `annotation_errors` hold ObjectMeta's rules,
which pods, ReplicaSets and Deployments all obey. Kept apart from `pod` and
`workloads` because both depend on it and it depends on neither.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import attrs

from controller.model.manifests import Namespace
from controller.model.meta import ObjectMeta


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
    """Kubernetes' `Invalid value: <value>: <detail>`, the value shown as `show_value` prints it."""
    return FieldError(path, f"Invalid value: {show_value(value)}: {detail}")


def required(path: str, detail: str = "") -> FieldError:
    """Kubernetes' `Required value` for a field that is missing or empty."""
    return FieldError(path, f"Required value: {detail}" if detail else "Required value")


def negative(path: str, value: int | str) -> FieldError:
    """The message Kubernetes gives a count, duration or quantity below zero."""
    return invalid(path, value, "must be greater than or equal to 0")


DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(f"^{_LABEL_FMT}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL_FMT}(\.{_LABEL_FMT})*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[-a-z0-9]+$")
_HTTP_HEADER_NAME = re.compile(r"^[-A-Za-z0-9]+$")

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

MAX_ANNOTATIONS_BYTES = 256 * 1024


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


def http_header_name_problems(value: str) -> list[str]:
    """Kubernetes' IsHTTPHeaderName: Go's header names, stricter than RFC 7230 (no `_`, no `.`)."""
    if _HTTP_HEADER_NAME.match(value):
        return []
    return [
        "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. "
        "'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')"
    ]


def label_value_problems(value: str) -> list[str]:
    """Kubernetes' IsValidLabelValue: the messages for `value`, empty when it is valid."""
    problems = ["must be no more than 63 characters"] if len(value) > 63 else []
    return problems + ([] if _LABEL_VALUE.match(value) else [_LABEL_VALUE_MSG])


def name_errors(path: str, value: str, rules: str = "label") -> list[FieldError]:
    """A required name at `path`, checked as a DNS-1123 label or, with `rules="subdomain"`, subdomain."""
    if not value:
        return [required(path)]
    check = dns1123_label_problems if rules == "label" else dns1123_subdomain_problems
    return [invalid(path, value, problem) for problem in check(value)]


def metadata_errors(
    meta: ObjectMeta, max_name: int | None = None, why: str = ""
) -> list[FieldError]:
    """ObjectMeta's rules; `max_name` and `why` let a workload ask for a shorter name, and say why."""
    errors = name_errors("metadata.name", meta.name, rules="subdomain")
    if max_name is not None and len(meta.name) > max_name:
        errors.append(
            invalid(
                "metadata.name", meta.name, f"must be no more than {max_name} characters: {why}"
            )
        )
    errors += name_errors("metadata.namespace", meta.namespace)
    errors += label_errors("metadata.labels", meta.labels)
    errors += annotation_errors("metadata.annotations", meta.annotations)
    return errors


def label_errors(path: str, labels: Mapping[str, str]) -> list[FieldError]:
    """Every key must be a qualified name and every value a label value; matchLabels too."""
    errors: list[FieldError] = []
    for key, value in labels.items():
        errors += [invalid(path, key, p) for p in qualified_name_problems(key)]
        errors += [invalid(path, value, p) for p in label_value_problems(value)]
    return errors


def annotation_errors(path: str, annotations: Mapping[str, str]) -> list[FieldError]:
    """Keys are qualified names; values are free text but all of them share a 256 KiB budget."""
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


def validate_namespace(namespace: Namespace) -> list[FieldError]:
    """A Namespace's name is a DNS label; it has no namespace of its own."""
    meta = namespace.metadata
    errors = name_errors("metadata.name", meta.name)
    errors += label_errors("metadata.labels", meta.labels)
    return errors
