"""The nodes file: which Docker engines are this controller's nodes, and what each one offers.

`load_nodes_file(path)` reads `podyard run --nodes FILE` into `NodeSettings`, or refuses it with
one `ManifestError` per problem (file, line, field path, Kubernetes' wording), the way manifests
are refused: `nodes.yaml:7: nodes[1].dockerHost: Required value`. The shape is fixed so that
other tools can write it:

    nodes:
    - name: n1                                  # required, a DNS-1123 subdomain, unique
      dockerHost: unix:///run/n1/docker.sock    # required: unix://PATH, tcp://HOST:PORT, ssh://[USER@]HOST[:PORT]
      hostIP: 127.0.0.1                         # where host ports bind (default 127.0.0.1)
      labels: {zone: a}                         # label syntax as Kubernetes'
      taints: [{key: gpu, value: "yes", effect: NoSchedule}]
      capacity: {cpu: "4", memory: 8Gi, pods: 110}   # wins over the engine's /info
      tls: {caFile: ca.pem, certFile: cert.pem, keyFile: key.pem, verify: true}   # tcp:// only

Traps:
- Everything is checked before anything is used: a file with one bad node starts no node, since
  a controller missing a node would see that node's pods as gone.
- Two nodes on one engine (the same socket, the same host and port) are refused: both would
  relist the same containers and fight over them.
- Relative TLS file names are taken from the nodes file's folder (a generated file travels with
  its certificates); the files must exist when the file is read.
- YAML is read by `documents` (no aliases, no duplicate keys, no tags), so this module only checks
  plain values.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from controller.config import CapacityOverrides, NodeSettings, TlsSettings
from controller.model.placement import Taint, TaintEffect
from controller.model.quantity import Quantity, QuantityError
from controller.model.validation.meta import (
    FieldError,
    invalid,
    label_errors,
    label_value_problems,
    name_errors,
    qualified_name_problems,
    required,
    show_value,
)
from controller.serde import field_path
from controller.source.documents import build_value, line_for, parse_documents
from controller.source.engine_address import engine_address, engine_identity
from controller.source.files import FileIgnored, read_text
from controller.source.results import DocumentError, ManifestError

_NODE_FIELDS = ("name", "dockerHost", "hostIP", "labels", "taints", "capacity", "tls")
_TAINT_FIELDS = ("key", "value", "effect")
_CAPACITY_FIELDS = ("cpu", "memory", "pods")
_TLS_FIELDS = ("caFile", "certFile", "keyFile", "verify")


class NodesFileInvalid(ValueError):
    """The nodes file was refused; `errors` says where and why, one problem each."""

    def __init__(self, errors: list[ManifestError]) -> None:
        super().__init__("\n".join(map(str, errors)))
        self.errors = errors


def load_nodes_file(path: Path) -> tuple[NodeSettings, ...]:
    """The nodes the file declares, in file order; NodesFileInvalid when anything is wrong."""
    shown = Path(path)
    try:
        text = read_text(path, Path(os.path.realpath(path)).parent)
    except FileIgnored as exc:
        raise NodesFileInvalid([ManifestError(shown, 0, "", str(exc))]) from None
    except DocumentError as exc:
        raise NodesFileInvalid([ManifestError(shown, exc.line, "", exc.message)]) from None
    errors: list[ManifestError] = []
    documents = list(parse_documents(text, shown, errors))
    if errors:
        raise NodesFileInvalid(errors)
    if len(documents) > 1:
        line = documents[1][0].start_mark.line + documents[1][1] + 1
        raise NodesFileInvalid([ManifestError(shown, line, "", "a nodes file holds one document")])
    lines: dict[str, int] = {}
    try:
        value = build_value(documents[0][0], "", lines, documents[0][1]) if documents else None
    except DocumentError as exc:
        raise NodesFileInvalid([ManifestError(shown, exc.line, "", exc.message)]) from None
    found: list[FieldError] = []
    nodes = _file(value, found, Path(os.path.realpath(path)).parent)
    if found:
        located = [ManifestError(shown, line_for(e.path, lines), e.path, e.message) for e in found]
        raise NodesFileInvalid(sorted(located, key=lambda e: e.line))
    return nodes


def _file(value: Any, errors: list[FieldError], folder: Path) -> tuple[NodeSettings, ...]:
    if value is None or (isinstance(value, dict) and value.get("nodes") is None):
        errors.append(required("nodes", "a list of nodes, each with a name and a dockerHost"))
        return ()
    if not _fields(value, "", ("nodes",), errors):
        return ()
    items = value["nodes"]
    if not isinstance(items, list) or not items:
        errors.append(invalid("nodes", items, "must be a non-empty list of nodes"))
        return ()
    nodes = [_node(item, f"nodes[{i}]", errors, folder) for i, item in enumerate(items)]
    _unique(nodes, errors)
    return tuple(node for node in nodes if node is not None)


def _fields(value: Any, path: str, known: tuple[str, ...], errors: list[FieldError]) -> bool:
    """Whether `value` is a mapping; its keys other than `known` are errors at their own line."""
    if not isinstance(value, dict):
        errors.append(
            invalid(path, value, "must be a mapping")
            if path
            else FieldError("", "a nodes file must be a mapping with a `nodes` list")
        )
        return False
    errors += [
        FieldError(field_path(path, key), "unknown field") for key in value if key not in known
    ]
    return True


def _node(item: Any, path: str, errors: list[FieldError], folder: Path) -> NodeSettings | None:
    before = len(errors)
    if not _fields(item, path, _NODE_FIELDS, errors):
        return None
    name = _string(item, path, "name", errors, required_=True)
    if name:
        errors += name_errors(f"{path}.name", name, rules="subdomain")
    host = _string(item, path, "dockerHost", errors, required_=True)
    endpoint = engine_address(host, f"{path}.dockerHost", errors) if host else None
    host_ip = _string(item, path, "hostIP", errors) or "127.0.0.1"
    if "hostIP" in item and isinstance(item["hostIP"], str):
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            errors.append(invalid(f"{path}.hostIP", host_ip, "must be a valid IP address"))
    labels = _labels(item.get("labels"), f"{path}.labels", errors)
    taints = _taints(item.get("taints"), f"{path}.taints", errors)
    capacity = _capacity(item.get("capacity"), f"{path}.capacity", errors)
    tls = _tls(item.get("tls"), f"{path}.tls", errors, folder)
    if tls is not None and endpoint is not None and endpoint.scheme != "tcp":
        errors.append(invalid(f"{path}.tls", host, "tls needs a tcp:// dockerHost"))
    if len(errors) > before or name is None or host is None:
        return None
    return NodeSettings(
        name=name,
        docker_host=host,
        host_ip=host_ip,
        labels=labels,
        taints=taints,
        capacity=capacity,
        tls=tls,
    )


def _string(
    item: Mapping[str, Any], path: str, key: str, errors: list[FieldError], required_: bool = False
) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        if required_:
            errors.append(required(f"{path}.{key}"))
        return None
    if not isinstance(value, str):
        errors.append(invalid(f"{path}.{key}", value, "must be a string"))
        return None
    return value


def _unique(nodes: list[NodeSettings | None], errors: list[FieldError]) -> None:
    names: set[str] = set()
    engines: set[tuple[str, ...]] = set()
    for i, node in enumerate(nodes):
        if node is None:
            continue
        if node.name in names:
            errors.append(
                FieldError(f"nodes[{i}].name", f"Duplicate value: {show_value(node.name)}")
            )
        names.add(node.name)
        assert node.docker_host is not None
        engine = engine_identity(node.docker_host)
        if engine in engines:
            errors.append(
                FieldError(
                    f"nodes[{i}].dockerHost",
                    f"Duplicate value: {show_value(node.docker_host)}: another node uses this engine",
                )
            )
        engines.add(engine)


def _labels(value: Any, path: str, errors: list[FieldError]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(invalid(path, value, "must be a mapping of label keys to values"))
        return {}
    labels: dict[str, str] = {}
    for key, text in value.items():
        where = field_path(path, key)
        if not isinstance(text, str):
            errors.append(invalid(where, text, "must be a string (quote it)"))
            continue
        errors += [FieldError(where, e.message) for e in label_errors(path, {key: text})]
        labels[key] = text
    return labels


def _taints(value: Any, path: str, errors: list[FieldError]) -> tuple[Taint, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.append(invalid(path, value, "must be a list of taints"))
        return ()
    taints: list[Taint] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if not _fields(item, where, _TAINT_FIELDS, errors):
            continue
        key = _string(item, where, "key", errors, required_=True)
        text = _string(item, where, "value", errors) or ""
        effect = _string(item, where, "effect", errors, required_=True)
        if key:
            errors += [invalid(f"{where}.key", key, p) for p in qualified_name_problems(key)]
        errors += [invalid(f"{where}.value", text, p) for p in label_value_problems(text)]
        if effect is not None and effect not in set(TaintEffect):
            supported = ", ".join(f'"{e.value}"' for e in TaintEffect)
            errors.append(
                FieldError(
                    f"{where}.effect",
                    f"Unsupported value: {show_value(effect)}: supported values: {supported}",
                )
            )
            effect = None
        if key is None or effect is None:
            continue
        if (key, effect) in seen:
            errors.append(
                FieldError(
                    where,
                    f"Duplicate value: {show_value(f'{key}:{effect}')}: "
                    "taints must be unique by key and effect pair",
                )
            )
        seen.add((key, effect))
        taints.append(Taint(key, TaintEffect(effect), text))
    return tuple(taints)


def _quantity(
    value: Any, path: str, errors: list[FieldError], convert: Callable[[Quantity], int]
) -> int | None:
    if value is None:
        return None
    try:
        return convert(Quantity.parse(value))
    except QuantityError as exc:
        errors.append(invalid(path, value, str(exc)))
        return None


def _capacity(value: Any, path: str, errors: list[FieldError]) -> CapacityOverrides:
    if value is None or not _fields(value, path, _CAPACITY_FIELDS, errors):
        return CapacityOverrides()
    cpu = _quantity(value.get("cpu"), f"{path}.cpu", errors, Quantity.millis)
    memory = _quantity(value.get("memory"), f"{path}.memory", errors, Quantity.whole)
    pods = _quantity(value.get("pods"), f"{path}.pods", errors, Quantity.whole)
    if pods is not None and Quantity.parse(value["pods"]).value != pods:
        errors.append(invalid(f"{path}.pods", value["pods"], "must be a whole number"))
    return CapacityOverrides(cpu_millis=cpu, memory_bytes=memory, pods=pods)


def _tls(value: Any, path: str, errors: list[FieldError], folder: Path) -> TlsSettings | None:
    if value is None or not _fields(value, path, _TLS_FIELDS, errors):
        return None
    files: dict[str, str | None] = {}
    for key in ("caFile", "certFile", "keyFile"):
        text = _string(value, path, key, errors)
        full = str(folder / text) if text else None
        if full is not None and not os.path.isfile(full):
            errors.append(FieldError(f"{path}.{key}", f"Not found: {show_value(text)}"))
        files[key] = full
    if (files["certFile"] is None) != (files["keyFile"] is None):
        errors.append(required(path, "certFile and keyFile go together"))
    verify = value.get("verify", True)
    if not isinstance(verify, bool):
        errors.append(invalid(f"{path}.verify", verify, "must be true or false"))
        verify = True
    return TlsSettings(files["caFile"], files["certFile"], files["keyFile"], verify)
