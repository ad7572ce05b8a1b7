"""What loading the manifests folder produces: objects with their place, errors with file and line.

Plain frozen data, shared by the walk (`files`), the YAML reader (`documents`) and the dispatch
(`loader`), and read by everything downstream (`scan`, `safety`, `snapshot`, the CLI). Kept apart
so those readers need neither YAML nor file access to name a result.

Trap: "ignored" messages are ManifestErrors like the others (so every caller logs them) and have no
line; `ManifestError.ignored` tells them apart from refusals.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from controller.model.meta import ObjectKey
from controller.model.pod import Pod
from controller.model.workloads import Deployment, ReplicaSet
from controller.serde import ManifestObject

IGNORED = "ignored: "
"""Start of the message of a file that was skipped without being read (see `files`' traps)."""
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
    refused: ObjectKey | None = None
    """The object Pod Security admission refused, when that is the problem (see `admission`)."""

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


class DocumentError(Exception):
    """A whole file or document refused at one line; `load_file` turns it into a ManifestError."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
