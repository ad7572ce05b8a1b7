"""Load every manifest of a folder: pods, ReplicaSets, Deployments, and errors with file and line.

`load_directory(root)` reads `*.yaml`, `*.yml` and `*.json` below `root` (sorted, so results and
conflict winners are stable), splits files into documents, expands `kind: List`, dispatches on
`kind` (`KINDS`) and structures each object with serde. Field errors are mapped back to the line of
the field in the file through the YAML node tree, so a message reads `web.yaml:12:
spec.containers[0].ports[0].containerPort: Invalid value: "80": must be an integer`.

Traps (the folder may hold anything, and one bad file must not hurt the others):
- YAML is composed with a SafeLoader subclass that refuses aliases (Kubernetes manifests never need
  them; refusing them defeats "billion laughs" at the first `*`), nesting deeper than 64 levels and
  unknown tags; duplicate keys are errors (Kubernetes' strict decoding refuses them too).
- Files over 1 MiB are refused from their size without being read; non-UTF-8 files are refused; a
  file holds at most 100 documents.
- Each `---` section is parsed on its own, so a syntax error in one document does not hide the
  documents after it. JSON is parsed as YAML (it is a subset) after turning tabs into spaces, which
  is safe because JSON strings cannot hold raw tabs.
- Two documents declaring the same kind, namespace and name: the first in file order wins, the
  second is an error naming the first, so adding a file never silently replaces a running pod. A
  Pod and a ReplicaSet may share a name (keys are per kind, as in Kubernetes).
- Hidden files and folders and editor leftovers (`.#x`, `x~`, `*.swp`, `*.bak`, ...) are skipped.
- Only regular files are opened. A FIFO would block the reader forever, a device could be endless:
  anything else (FIFO, socket, device, folder) is reported as `ignored: ...` from `os.lstat`/
  `os.stat` and never opened; the open itself is non-blocking and re-checked with `fstat`, in case
  the file was swapped between the check and the open.
- Symbolic links to files are followed only when their target resolves inside the folder; a link
  leading out (`secrets.yaml -> /etc/shadow`), a dangling link and a link loop are `ignored: ...`.
  Links to folders are not followed at all (`os.walk(followlinks=False)`), so a loop such as
  `loop -> .` cannot make the walk endless; they are reported as `ignored: ...` too.
- "ignored" messages are ManifestErrors like the others (so every caller logs them) and have no
  line; `ManifestError.ignored` tells them apart.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from controller.model.meta import ObjectKey
from controller.model.pod import Pod
from controller.model.workloads import Deployment, ReplicaSet
from controller.serde import (
    ManifestInvalid,
    ManifestObject,
    field_path,
    structure_deployment,
    structure_pod,
    structure_replicaset,
)

MAX_FILE_BYTES = 1 << 20
MAX_DOCUMENTS = 100
MAX_DEPTH = 64
SUFFIXES = (".yaml", ".yml", ".json")
_LEFTOVER_SUFFIXES = (".swp", ".swo", ".swx", ".bak", ".orig", ".tmp", ".rej")
_DOC_START = re.compile(r"^---(?=[ \t\r]|$)", re.MULTILINE)
_LAST_STEP = re.compile(r"(\[[^\[\]]*\]|\.[^.\[\]]*)$")
_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{name}" for name in ("null", "bool", "int", "float", "str")}

KINDS: dict[str, Callable[[object], ManifestObject]] = {
    "Pod": structure_pod,
    "ReplicaSet": structure_replicaset,
    "Deployment": structure_deployment,
}
"""Kind -> structuring function; a kind missing here is reported as not supported yet."""
IGNORED = "ignored: "
"""Start of the message of a file that was skipped without being read (see the module's traps)."""
FOLDER_LINK = "a symbolic link to a folder (folder links are not followed)"
"""What follows IGNORED for a link to a folder met by the walk."""


@attrs.frozen
class LoadedObject:
    """One object declared in the folder, and where: file, document and line."""

    file: Path
    """Relative to the folder."""
    document: int
    """0-based index of the document in its file."""
    line: int
    """1-based line where the object starts."""
    obj: ManifestObject

    @property
    def kind(self) -> str:
        return self.obj.kind

    @property
    def key(self) -> ObjectKey:
        meta = self.obj.metadata
        return ObjectKey(self.obj.kind, meta.namespace, meta.name)

    @property
    def pod(self) -> Pod:
        """The object as a Pod; TypeError if it is another kind."""
        if not isinstance(self.obj, Pod):
            raise TypeError(f"{self.key} is a {self.kind}, not a Pod")
        return self.obj

    @property
    def replicaset(self) -> ReplicaSet:
        """The object as a ReplicaSet; TypeError if it is another kind."""
        if not isinstance(self.obj, ReplicaSet):
            raise TypeError(f"{self.key} is a {self.kind}, not a ReplicaSet")
        return self.obj

    @property
    def deployment(self) -> Deployment:
        """The object as a Deployment; TypeError if it is another kind."""
        if not isinstance(self.obj, Deployment):
            raise TypeError(f"{self.key} is a {self.kind}, not a Deployment")
        return self.obj


@attrs.frozen
class ManifestError:
    file: Path
    line: int
    """1-based; of the offending field when known, else of the document; 0 for the folder."""
    path: str
    """Field path inside the document (`spec.containers[0].image`), or ""."""
    message: str

    @property
    def ignored(self) -> bool:
        """The file was skipped unread (a FIFO, a link out of the folder, ...), not refused."""
        return self.message.startswith(IGNORED)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@attrs.frozen
class LoadResult:
    objects: list[LoadedObject]
    """Every accepted object, in file order (first declaration of each key)."""
    errors: list[ManifestError]

    @property
    def pods(self) -> list[LoadedObject]:
        """The Pods among `objects` (each entry's `.pod` is the Pod)."""
        return [o for o in self.objects if isinstance(o.obj, Pod)]

    @property
    def replicasets(self) -> list[LoadedObject]:
        return [o for o in self.objects if isinstance(o.obj, ReplicaSet)]

    @property
    def deployments(self) -> list[LoadedObject]:
        return [o for o in self.objects if isinstance(o.obj, Deployment)]


class _Ignored(Exception):
    """The path is not a regular file inside the folder: reported, never opened."""


class _DocumentError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


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


def load_directory(root: Path) -> LoadResult:
    """Every object declared below `root`, and every problem found, never raising for bad input."""
    objects: list[LoadedObject] = []
    if not root.is_dir():
        return LoadResult([], [ManifestError(root, 0, "", "not a readable directory")])
    paths, errors = _walk(root)
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


def manifest_files(root: Path) -> list[Path]:
    """Manifest files below `root`, sorted by path; hidden entries and leftovers skipped.

    Named like manifests, not checked: a FIFO or a link out of the folder is listed, and
    `load_file` reports it as ignored without opening it. Folder links are neither listed nor
    followed (`load_directory` reports them).
    """
    return _walk(root)[0]


def _walk(root: Path) -> tuple[list[Path], list[ManifestError]]:
    """`manifest_files`, plus what the walk itself skipped: folder links, unreadable folders."""
    found: list[Path] = []
    skipped: list[ManifestError] = []

    def unreadable(exc: OSError) -> None:
        where = Path(os.path.relpath(exc.filename, root)) if exc.filename else Path(".")
        skipped.append(ManifestError(where, 0, "", f"cannot read: {exc.strerror or exc}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=False):
        kept: list[str] = []
        for name in dirs:
            if name.startswith("."):
                continue
            if os.path.islink(os.path.join(folder, name)):
                skipped.append(
                    ManifestError(
                        Path(folder, name).relative_to(root),
                        0,
                        "",
                        IGNORED + FOLDER_LINK,
                    )
                )
                continue
            kept.append(name)
        dirs[:] = kept
        for name in files:
            if name.endswith(SUFFIXES) and not _is_leftover(name):
                found.append(Path(folder, name))
    found.sort(key=lambda p: p.relative_to(root).parts)
    skipped.sort(key=lambda e: e.file.parts)
    return found, skipped


def _is_leftover(name: str) -> bool:
    return (
        name.startswith((".", "#"))
        or name.endswith(("~", "#"))
        or name.lower().endswith(_LEFTOVER_SUFFIXES)
    )


def load_file(
    path: Path, relative: Path
) -> tuple[list[tuple[LoadedObject, int]], list[ManifestError]]:
    """Objects of one file (each with the line of its metadata.name) and the file's errors.

    `relative` must be `path` relative to the folder: the folder is `path` without those trailing
    parts, and a symbolic link is only followed when it resolves inside it. Never blocks on a FIFO.
    """
    try:
        text = _read_text(path, _folder_of(path, relative))
    except _Ignored as exc:
        return [], [ManifestError(relative, 0, "", f"{IGNORED}{exc}")]
    except _DocumentError as exc:
        return [], [ManifestError(relative, exc.line, "", exc.message)]
    if path.suffix == ".json":
        text = text.replace("\t", " ")
    objects: list[tuple[LoadedObject, int]] = []
    errors: list[ManifestError] = []
    for index, (node, offset) in enumerate(_documents(text, relative, errors)):
        try:
            _load_document(node, offset, relative, index, objects, errors)
        except _DocumentError as exc:
            errors.append(ManifestError(relative, exc.line, "", exc.message))
        except Exception as exc:  # a bug must not hide the other documents
            line = node.start_mark.line + offset + 1
            errors.append(ManifestError(relative, line, "", f"cannot load this document: {exc!r}"))
    return objects, errors


def _folder_of(path: Path, relative: Path) -> Path:
    steps = len(relative.parts)
    if steps and path.parts[-steps:] == relative.parts:
        return path.parents[steps - 1]
    return path.parent


def _read_text(path: Path, folder: Path) -> str:
    try:
        target, size = _regular_file(path, folder)
        if size > MAX_FILE_BYTES:
            raise _DocumentError(
                1, f"file is {size} bytes, larger than the {MAX_FILE_BYTES} bytes allowed; refused"
            )
        data = _read_regular(target)
    except OSError as exc:
        raise _DocumentError(0, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise _DocumentError(1, f"file is larger than the {MAX_FILE_BYTES} bytes allowed; refused")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _DocumentError(
            line,
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); manifests must be UTF-8",
        ) from None


def _regular_file(path: Path, folder: Path) -> tuple[Path, int]:
    """The resolved path of `path` and its size, or _Ignored; opens nothing.

    `os.lstat` first, so a link is known as a link; then the target must resolve inside `folder`
    (also guards a path reached through a folder link) and be a regular file.
    """
    link = stat.S_ISLNK(os.lstat(path).st_mode)
    target = Path(os.path.realpath(path))
    if not target.is_relative_to(os.path.realpath(folder)):
        raise _Ignored("a symbolic link that leads outside the folder")
    try:
        info = os.stat(target)
    except OSError as exc:
        if link and exc.errno == errno.ELOOP:
            raise _Ignored("a symbolic link loop") from None
        if link and exc.errno == errno.ENOENT:
            raise _Ignored("a symbolic link to a missing file") from None
        raise
    if not stat.S_ISREG(info.st_mode):
        raise _Ignored(f"{_file_type(info.st_mode)}, not a regular file")
    return target, info.st_size


def _read_regular(target: Path) -> bytes:
    """Read at most MAX_FILE_BYTES + 1 bytes; non-blocking open, checked again with fstat.

    The checks in `_regular_file` happen before the open; should the file have been swapped for a
    FIFO in between, O_NONBLOCK keeps the open from hanging and fstat refuses it.
    """
    fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    with open(fd, "rb", closefd=True) as stream:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _Ignored(f"{_file_type(mode)}, not a regular file")
        return stream.read(MAX_FILE_BYTES + 1)


def _file_type(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


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


def _documents(
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


def _load_document(
    node: Node,
    offset: int,
    relative: Path,
    index: int,
    objects: list[tuple[LoadedObject, int]],
    errors: list[ManifestError],
) -> None:
    lines: dict[str, int] = {}
    value = _build(node, "", lines, offset)
    if value is None:
        return
    if isinstance(value, dict) and value.get("kind") == "List":
        items = value.get("items")
        if not isinstance(items, list):
            raise _DocumentError(
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
        return ManifestError(relative, _line_for(full, lines), full, message)

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
        line = _line_for(_join(prefix, "kind"), lines)
        errors.append(ManifestError(relative, line, prefix, f"kind {kind} is not supported yet"))
        return
    try:
        obj = structure(value)
    except ManifestInvalid as exc:
        found = [located(field.path, field.message) for field in exc.errors]
        errors.extend(sorted(found, key=lambda e: e.line))  # stable: same line keeps its order
        return
    start = _line_for(prefix, lines)
    name_line = _line_for(_join(prefix, "metadata.name"), lines)
    objects.append((LoadedObject(relative, index, start, obj), name_line))


def _build(node: Node, path: str, lines: dict[str, int], offset: int) -> Any:
    """The plain value of `node`; records the line of every field path into `lines`."""
    line = node.start_mark.line + offset + 1
    lines.setdefault(path, line)
    if isinstance(node, MappingNode):
        if node.tag != f"{_TAG}map":
            raise _DocumentError(line, f"YAML tag {node.tag} is not allowed in manifests")
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + offset + 1
            if not isinstance(key_node, ScalarNode):
                raise _DocumentError(key_line, "mapping keys must be plain strings")
            key = str(key_node.value)
            if key in seen:
                raise _DocumentError(
                    key_line,
                    f'duplicate key "{key}" in {path or "the document"} '
                    f"(first at line {seen[key]})",
                )
            seen[key] = key_line
            child = field_path(path, key)
            lines[child] = key_line
            result[key] = _build(value_node, child, lines, offset)
        return result
    if isinstance(node, SequenceNode):
        if node.tag != f"{_TAG}seq":
            raise _DocumentError(line, f"YAML tag {node.tag} is not allowed in manifests")
        return [_build(item, f"{path}[{i}]", lines, offset) for i, item in enumerate(node.value)]
    assert isinstance(node, ScalarNode)
    if node.tag == f"{_TAG}timestamp":
        return node.value
    if node.tag not in _PLAIN_TAGS:
        raise _DocumentError(line, f"YAML tag {node.tag} is not allowed in manifests")
    try:
        return yaml.SafeLoader.yaml_constructors[node.tag](_SCALARS, node)
    except (ValueError, KeyError, yaml.YAMLError):  # `!!int abc`, `!!bool maybe`
        raise _DocumentError(line, f"invalid {node.tag} value {node.value!r}") from None


_SCALARS = yaml.SafeLoader("")
"""Passed as `self` to SafeLoader's scalar constructors, which read only class-level tables (no
per-document state, unlike `construct_object`, which would remember every node)."""


def _join(prefix: str, path: str) -> str:
    if not prefix or not path:
        return prefix or path
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"


def _line_for(path: str, lines: dict[str, int]) -> int:
    """Line of `path`, else of its nearest recorded ancestor, else of the document."""
    while path not in lines and path:
        match = _LAST_STEP.search(path)
        path = path[: match.start()] if match else ""
    return lines.get(path, 1)
