"""Which objects a list or watch asks for: its `labelSelector` and `fieldSelector` query parameters.

The strings are parsed by `controller.model.selector_text` (labels into the workloads' own
`LabelSelector`, so matching is the same code the ReplicaSets use); this module knows which fields
each resource can be selected on, reads them from the object's Kubernetes JSON, and turns a bad
selector into Kubernetes' 400 (`field label not supported: spec.foo`).

Fields, as the API server offers them: `metadata.name` and `metadata.namespace` everywhere; pods
add `spec.nodeName` and `status.phase`; events add what `kubectl events --for` and `kubectl
describe` send (`involvedObject.*`, `reason`, `type`, `source`, `reportingComponent`). A field the
object lacks reads as the empty string, so `spec.nodeName=` selects unscheduled pods.

Trap: the namespace in the path is applied elsewhere (`controller.api.watch.current`); a selection
is only what the query adds to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs
from aiohttp import web

from controller.api.responses import JSON, status_response
from controller.model.selector_text import (
    FieldRequirement,
    SelectorSyntaxError,
    parse_field_selector,
    parse_label_selector,
)
from controller.model.workloads import LabelSelector

FieldReader = Callable[[JSON], str]
FieldSet = Mapping[str, FieldReader]


def _at(*keys: str) -> FieldReader:
    """Reads the string at `keys` in an object, or "" when any step is missing."""

    def read(obj: JSON) -> str:
        node: object = obj
        for key in keys:
            if not isinstance(node, dict):
                return ""
            node = node.get(key)
        return "" if node is None else str(node)

    return read


META_FIELDS: FieldSet = {
    "metadata.name": _at("metadata", "name"),
    "metadata.namespace": _at("metadata", "namespace"),
}
POD_FIELDS: FieldSet = {
    **META_FIELDS,
    "spec.nodeName": _at("spec", "nodeName"),
    "status.phase": _at("status", "phase"),
}
EVENT_FIELDS: FieldSet = {
    **META_FIELDS,
    **{
        f"involvedObject.{part}": _at("involvedObject", part)
        for part in ("kind", "name", "namespace", "uid", "apiVersion")
    },
    "reason": _at("reason"),
    "type": _at("type"),
    "source": _at("source", "component"),
    "reportingComponent": _at("reportingComponent"),
}


class BadSelector(Exception):
    """A query whose selector does not parse or names a field the resource lacks."""

    def response(self) -> web.Response:
        return status_response(400, "BadRequest", str(self))


@attrs.frozen
class Selection:
    """The labels and fields a request selects on; empty, it selects everything."""

    labels: LabelSelector = attrs.field(factory=LabelSelector)
    fields: tuple[tuple[FieldReader, FieldRequirement], ...] = ()

    def matches(self, obj: JSON) -> bool:
        labels = obj["metadata"].get("labels") or {}
        if not self.labels.matches(labels):
            return False
        return all(requirement.matches(read(obj)) for read, requirement in self.fields)


def selection_of(request: web.Request, fields: FieldSet) -> Selection:
    """The request's selection over a resource with `fields`; raises BadSelector."""
    label_text = request.query.get("labelSelector", "")
    field_text = request.query.get("fieldSelector", "")
    try:
        labels = parse_label_selector(label_text)
    except SelectorSyntaxError as problem:
        raise BadSelector(f'unable to parse labelSelector "{label_text}": {problem}') from None
    try:
        requirements = parse_field_selector(field_text)
    except SelectorSyntaxError as problem:
        raise BadSelector(str(problem)) from None
    return Selection(labels, tuple((_reader(fields, r.field), r) for r in requirements))


def _reader(fields: FieldSet, name: str) -> FieldReader:
    try:
        return fields[name]
    except KeyError:
        raise BadSelector(f"field label not supported: {name}") from None
