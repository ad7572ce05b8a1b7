"""Load every manifest of a folder: pods, ReplicaSets, Deployments, and errors with file and line.

`load_directory(root)` reads `*.yaml`, `*.yml` and `*.json` below `root` (sorted, so results and
conflict winners are stable), splits files into documents, expands `kind: List`, dispatches on
`kind` (`KINDS`) and structures each object with serde. Field errors are mapped back to the line of
the field in the file through the YAML node tree, so a message reads `web.yaml:12:
spec.containers[0].ports[0].containerPort: Invalid value: "80": must be an integer`.

This module holds the entry points and the dispatch; the parts live beside it: `files` (which
files, and reading one without trusting the path), `documents` (YAML text to plain values with
lines), `results` (what a load produces). It stays the package's public face: its many importers
take the names of those parts from here (`__all__`).

Traps (one bad file must not hurt the others; the parts' docstrings hold their own):
- JSON is parsed as YAML (it is a subset) after turning tabs into spaces, which is safe because
  JSON strings cannot hold raw tabs.
- Two documents declaring the same kind, namespace and name: the first in file order wins, the
  second is an error naming the first, so adding a file never silently replaces a running pod. A
  Pod and a ReplicaSet may share a name (keys are per kind, as in Kubernetes).
- A document that fails for an unexpected reason is reported at its line; the file's other
  documents are still loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from yaml.nodes import Node

from controller.model.meta import ObjectKey
from controller.serde import (
    ManifestInvalid,
    ManifestObject,
    structure_claim,
    structure_config_map,
    structure_deployment,
    structure_namespace,
    structure_pod,
    structure_replicaset,
    structure_secret,
)
from controller.source.documents import (
    MAX_DEPTH,
    MAX_DOCUMENTS,
    build_value,
    line_for,
    parse_documents,
)
from controller.source.files import (
    MAX_FILE_BYTES,
    SUFFIXES,
    FileIgnored,
    folder_of,
    manifest_files,
    read_text,
    walk_folder,
)
from controller.source.results import (
    FOLDER_LINK,
    IGNORED,
    DocumentError,
    LoadedObject,
    LoadResult,
    ManifestError,
)

__all__ = [
    "FOLDER_LINK",
    "IGNORED",
    "KINDS",
    "MAX_DEPTH",
    "MAX_DOCUMENTS",
    "MAX_FILE_BYTES",
    "SUFFIXES",
    "LoadResult",
    "LoadedObject",
    "ManifestError",
    "load_directory",
    "load_file",
    "manifest_files",
]

KINDS: dict[str, Callable[[object], ManifestObject]] = {
    "Pod": structure_pod,
    "ReplicaSet": structure_replicaset,
    "Deployment": structure_deployment,
    "Namespace": structure_namespace,
    "ConfigMap": structure_config_map,
    "Secret": structure_secret,
    "PersistentVolumeClaim": structure_claim,
}
"""Kind -> structuring function; a kind missing here is reported as not supported yet."""


def load_directory(root: Path) -> LoadResult:
    """Every object declared below `root`, and every problem found, never raising for bad input."""
    objects: list[LoadedObject] = []
    if not root.is_dir():
        return LoadResult([], [ManifestError(root, 0, "", "not a readable directory")])
    paths, errors = walk_folder(root)
    first: dict[ObjectKey, LoadedObject] = {}
    for path in paths:
        relative = path.relative_to(root)
        loaded, file_errors = load_file(path, relative)
        errors += file_errors
        for obj, name_line in loaded:
            key = obj.key
            winner = first.get(key)
            if winner is None:
                first[key] = obj
                objects.append(obj)
            else:
                errors.append(
                    ManifestError(
                        relative,
                        name_line,
                        "metadata.name",
                        f"{key.kind.lower()} {key.namespace}/{key.name} is already declared in "
                        f"{winner.file}:{winner.line}; this declaration is ignored",
                    )
                )
    errors.sort(key=lambda e: e.file.parts)  # stable: a file's errors keep their order
    return LoadResult(objects, errors)


def load_file(
    path: Path, relative: Path
) -> tuple[list[tuple[LoadedObject, int]], list[ManifestError]]:
    """Objects of one file (each with the line of its metadata.name) and the file's errors.

    `relative` must be `path` relative to the folder: the folder is `path` without those trailing
    parts, and a symbolic link is only followed when it resolves inside it. Never blocks on a FIFO.
    """
    try:
        text = read_text(path, folder_of(path, relative))
    except FileIgnored as exc:
        return [], [ManifestError(relative, 0, "", f"{IGNORED}{exc}")]
    except DocumentError as exc:
        return [], [ManifestError(relative, exc.line, "", exc.message)]
    if path.suffix == ".json":
        text = text.replace("\t", " ")
    objects: list[tuple[LoadedObject, int]] = []
    errors: list[ManifestError] = []
    for index, (node, offset) in enumerate(parse_documents(text, relative, errors)):
        try:
            _load_document(node, offset, relative, index, objects, errors)
        except DocumentError as exc:
            errors.append(ManifestError(relative, exc.line, "", exc.message))
        except Exception as exc:  # a bug must not hide the other documents
            line = node.start_mark.line + offset + 1
            errors.append(ManifestError(relative, line, "", f"cannot load this document: {exc!r}"))
    return objects, errors


def _load_document(
    node: Node,
    offset: int,
    relative: Path,
    index: int,
    objects: list[tuple[LoadedObject, int]],
    errors: list[ManifestError],
) -> None:
    lines: dict[str, int] = {}
    value = build_value(node, "", lines, offset)
    if value is None:
        return
    if isinstance(value, dict) and value.get("kind") == "List":
        items = value.get("items")
        if not isinstance(items, list):
            raise DocumentError(
                lines.get("items", lines[""]), "items: a List needs a list of items"
            )
        for i, item in enumerate(items):
            _load_object(item, f"items[{i}]", lines, relative, index, objects, errors)
    else:
        _load_object(value, "", lines, relative, index, objects, errors)


def _load_object(
    value: object,
    prefix: str,
    lines: dict[str, int],
    relative: Path,
    index: int,
    objects: list[tuple[LoadedObject, int]],
    errors: list[ManifestError],
) -> None:
    def located(path: str, message: str) -> ManifestError:
        full = _join(prefix, path)
        return ManifestError(relative, line_for(full, lines), full, message)

    def error(path: str, message: str) -> None:
        errors.append(located(path, message))

    if not isinstance(value, dict):
        error("", f"a manifest must be a mapping (a Kubernetes object), not {type(value).__name__}")
        return
    kind = value.get("kind")
    if kind is None or kind == "":
        error("kind", "Required value")
        return
    if not isinstance(kind, str):
        error("kind", f"Invalid value: {kind!r}: must be a string")
        return
    structure = KINDS.get(kind)
    if structure is None:
        line = line_for(_join(prefix, "kind"), lines)
        errors.append(ManifestError(relative, line, prefix, f"kind {kind} is not supported yet"))
        return
    try:
        obj = structure(value)
    except ManifestInvalid as exc:
        found = [located(field.path, field.message) for field in exc.errors]
        errors.extend(sorted(found, key=lambda e: e.line))  # stable: same line keeps its order
        return
    start = line_for(prefix, lines)
    name_line = line_for(_join(prefix, "metadata.name"), lines)
    objects.append((LoadedObject(relative, index, start, obj), name_line))


def _join(prefix: str, path: str) -> str:
    if not prefix or not path:
        return prefix or path
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"
