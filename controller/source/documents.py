"""Turn a manifest file's text into plain values, one per YAML document, each field with its line.

`parse_documents(text, relative, errors)` yields the root node of every document with its line
offset, recording syntax errors; `build_value(node, "", lines, offset)` turns a node into plain
dicts, lists and scalars and records the line of every field path in `lines`, which is how a field
error from serde is later mapped back to its line in the file. Kept apart from the dispatch on
`kind` because this is the only code that must defend against what YAML itself allows.

Traps (the folder may hold anything, and one bad file must not hurt the others):
- YAML is composed with a SafeLoader subclass that refuses aliases (Kubernetes manifests never need
  them; refusing them defeats "billion laughs" at the first `*`), nesting deeper than 64 levels and
  unknown tags; duplicate keys are errors (Kubernetes' strict decoding refuses them too).
- A file holds at most 100 documents.
- Each `---` section is parsed on its own, so a syntax error in one document does not hide the
  documents after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controller.serde import field_path
from controller.source.results import DocumentError, ManifestError

MAX_DOCUMENTS = 100
MAX_DEPTH = 64
_DOC_START = re.compile(r"^---(?=[ \t\r]|$)", re.MULTILINE)
_TAG = "tag:yaml.org,2002:"
_LAST_STEP = re.compile(r"(\[[^\[\]]*\]|\.[^.\[\]]*)$")
_PLAIN_TAGS = {f"{_TAG}{name}" for name in ("null", "bool", "int", "float", "str")}


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases and deep nesting while composing the node tree."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            raise ComposerError(None, None, "aliases (*name) are not allowed in manifests", mark)
        if self._depth >= MAX_DEPTH:
            raise ComposerError(None, None, f"nesting deeper than {MAX_DEPTH} levels", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _too_many(relative: Path, line: int) -> ManifestError:
    message = f"more than {MAX_DOCUMENTS} documents in one file; the rest of the file is ignored"
    return ManifestError(relative, line, "", message)


def _chunks(text: str) -> Iterator[tuple[str, int]]:
    """Split at `---` lines: (text, 0-based line of its first line). Directive lines go along."""
    starts = [0, *(m.start() for m in _DOC_START.finditer(text) if m.start())]
    pending = ""
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        chunk = text[begin:end]
        meaningful = [ln for ln in chunk.splitlines() if ln.strip() and not ln.startswith("#")]
        if meaningful and all(ln.startswith("%") for ln in meaningful) and end < len(text):
            pending += chunk
            continue
        yield pending + chunk, text.count("\n", 0, begin) - pending.count("\n")
        pending = ""


def parse_documents(
    text: str, relative: Path, errors: list[ManifestError]
) -> Iterator[tuple[Node, int]]:
    """Root nodes of the file's documents, each with its line offset; syntax errors recorded.

    At most MAX_DOCUMENTS documents (or `---` sections, so a file of broken sections cannot
    produce a flood of errors); past that, one error and the rest of the file is ignored.
    """
    count = sections = 0
    for chunk, offset in _chunks(text):
        if not chunk.strip():
            continue
        sections += 1
        if sections > MAX_DOCUMENTS:
            errors.append(_too_many(relative, offset + 1))
            return
        loader: _Loader | None = None
        try:
            loader = _Loader(chunk)  # refuses non-printable characters at once
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                if count == MAX_DOCUMENTS:
                    errors.append(_too_many(relative, node.start_mark.line + offset + 1))
                    return
                count += 1
                yield node, offset
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            last = offset + max(len(chunk.splitlines()), 1)  # "<stream end>" is past the chunk
            line = min(offset + (mark.line + 1 if mark else 1), last)
            problem = ": ".join(filter(None, (exc.context, exc.problem)))
            errors.append(ManifestError(relative, line, "", f"YAML syntax error: {problem}"))
        except yaml.reader.ReaderError as exc:
            line = offset + chunk.count("\n", 0, exc.position) + 1
            errors.append(
                ManifestError(
                    relative,
                    line,
                    "",
                    f"YAML error: unacceptable character #x{exc.character:04x}: {exc.reason}",
                )
            )
        except yaml.YAMLError as exc:
            errors.append(ManifestError(relative, offset + 1, "", f"YAML error: {exc}"))
        finally:
            if loader is not None:
                loader.dispose()


def build_value(node: Node, path: str, lines: dict[str, int], offset: int) -> Any:
    """The plain value of `node`; records the line of every field path into `lines`."""
    line = node.start_mark.line + offset + 1
    lines.setdefault(path, line)
    if isinstance(node, MappingNode):
        if node.tag != f"{_TAG}map":
            raise DocumentError(line, f"YAML tag {node.tag} is not allowed in manifests")
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + offset + 1
            if not isinstance(key_node, ScalarNode):
                raise DocumentError(key_line, "mapping keys must be plain strings")
            key = str(key_node.value)
            if key in seen:
                raise DocumentError(
                    key_line,
                    f'duplicate key "{key}" in {path or "the document"} '
                    f"(first at line {seen[key]})",
                )
            seen[key] = key_line
            child = field_path(path, key)
            lines[child] = key_line
            result[key] = build_value(value_node, child, lines, offset)
        return result
    if isinstance(node, SequenceNode):
        if node.tag != f"{_TAG}seq":
            raise DocumentError(line, f"YAML tag {node.tag} is not allowed in manifests")
        return [
            build_value(item, f"{path}[{i}]", lines, offset) for i, item in enumerate(node.value)
        ]
    assert isinstance(node, ScalarNode)
    if node.tag == f"{_TAG}timestamp":
        return node.value
    if node.tag not in _PLAIN_TAGS:
        raise DocumentError(line, f"YAML tag {node.tag} is not allowed in manifests")
    try:
        return yaml.SafeLoader.yaml_constructors[node.tag](_SCALARS, node)
    except (ValueError, KeyError, yaml.YAMLError):  # `!!int abc`, `!!bool maybe`
        raise DocumentError(line, f"invalid {node.tag} value {node.value!r}") from None


def line_for(path: str, lines: dict[str, int]) -> int:
    """Line of `path`, else of its nearest recorded ancestor, else of the document."""
    while path not in lines and path:
        match = _LAST_STEP.search(path)
        path = path[: match.start()] if match else ""
    return lines.get(path, 1)


_SCALARS = yaml.SafeLoader("")
"""Passed as `self` to SafeLoader's scalar constructors, which read only class-level tables (no
per-document state, unlike `construct_object`, which would remember every node)."""
