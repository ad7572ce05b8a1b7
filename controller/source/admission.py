"""Pod Security admission of one folder scan: refused pods and templates become file errors.

Role: `admit_scan(scan, settings)` runs after each read of the folder (`scan_folder`) and before the
safety rules: every Pod, and every ReplicaSet's and Deployment's pod template, is checked at its
namespace's level (`decide.podsecurity`). A refused object leaves the scan's objects and becomes a
`ManifestError` of its file at its line, worded as Kubernetes words it
(`spec: pods "web" is forbidden: violates PodSecurity "baseline:latest": privileged (...)`), so it
shows in the file's status (`/podyard/v1/files`), the log, and no container is ever made for it.

A namespace's level is the `pod-security.kubernetes.io/enforce` label of its `kind: Namespace`
object in the folder, else the global setting (`--pod-security`).

Traps:
- A refused object is an error of its file, so safety rule 1 applies: a file that was admitted and
  is edited into a refused one keeps its last good objects (the running pod stays as it was), and a
  new refused object never starts. `declared` is filled so the rules know the key is still there.
- Kubernetes admits a ReplicaSet or Deployment whose template would be refused and then fails every
  pod create (FailedCreate, with a warning at apply). Podyard refuses the workload at load time
  instead: the same words, one error next to the manifest line, and no controller retrying creates.
- An enforce label with a value that is not a level is read as "restricted" (Kubernetes falls back
  to its most restrictive level when it cannot parse a namespace's policy) and reported.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from controller.config import PodSecuritySettings
from controller.decide.podsecurity import (
    ENFORCE_LABEL,
    Level,
    PodSecurityPolicy,
    forbidden_message,
    parse_level,
    violations,
)
from controller.model.claims import PersistentVolumeClaim
from controller.model.configdata import ConfigMap, Secret
from controller.model.manifests import Namespace
from controller.model.pod import Pod, PodSpec
from controller.model.workloads import Deployment, ReplicaSet
from controller.source.results import LoadedObject, ManifestError
from controller.source.snapshot import Entry, FileScan, FolderScan

_PLURALS = {"Pod": "pods", "ReplicaSet": "replicasets", "Deployment": "deployments"}


def namespace_levels(
    objects: Iterable[LoadedObject],
) -> tuple[dict[str, Level], list[ManifestError]]:
    """Each namespace's level from its Namespace object's enforce label, and bad labels."""
    levels: dict[str, Level] = {}
    problems: list[ManifestError] = []
    for loaded in objects:
        if loaded.kind != "Namespace":
            continue
        text = loaded.obj.metadata.labels.get(ENFORCE_LABEL)
        if text is None:
            continue
        level = parse_level(text)
        if level is None:
            problems.append(
                ManifestError(
                    loaded.file,
                    loaded.line,
                    f"metadata.labels[{ENFORCE_LABEL}]",
                    f'Invalid value: "{text}": must be one of privileged, baseline, '
                    "restricted; enforcing restricted",
                )
            )
            level = Level.RESTRICTED
        levels[loaded.obj.metadata.name] = level
    return levels, problems


def refusal(loaded: LoadedObject, policy: PodSecurityPolicy) -> tuple[str, str] | None:
    """(field path, message) when the object's pod spec is refused at `policy`, else None."""
    obj = loaded.obj
    if isinstance(obj, Namespace | ConfigMap | Secret | PersistentVolumeClaim):
        return None  # no pod in it
    path, spec = ("spec", obj.spec) if isinstance(obj, Pod) else _template(obj)
    found = violations(spec, policy)
    if not found:
        return None
    plural = _PLURALS[loaded.kind]
    return path, f'{plural} "{obj.metadata.name}" is forbidden: ' + forbidden_message(
        policy.level, found
    )


def _template(obj: ReplicaSet | Deployment) -> tuple[str, PodSpec]:
    return "spec.template.spec", obj.spec.template.spec


def admit_scan(scan: FolderScan, settings: PodSecuritySettings) -> FolderScan:
    """The scan with every refused object moved into its file's errors."""
    levels, problems = namespace_levels(
        loaded for file in scan.files.values() for loaded, _ in file.objects
    )
    default = Level(settings.level)
    files: dict[str, FileScan] = {}
    for name, file in scan.files.items():
        kept: list[Entry] = []
        refused: list[ManifestError] = []
        for entry in file.objects:
            loaded = entry[0]
            level = levels.get(loaded.obj.metadata.namespace, default)
            found = refusal(loaded, PodSecurityPolicy(level, settings.allowed_host_paths))
            if found is None:
                kept.append(entry)
            else:
                refused.append(ManifestError(loaded.file, entry[1], *found, refused=loaded.key))
        refused += [p for p in problems if p.file.as_posix() == name]
        if not refused:
            files[name] = file
            continue
        declared = file.declared
        if not file.errors:
            declared = frozenset(loaded.key for loaded, _ in file.objects)
        errors = tuple(sorted((*file.errors, *refused), key=lambda e: e.line))
        files[name] = attrs.evolve(file, objects=tuple(kept), errors=errors, declared=declared)
    return attrs.evolve(scan, files=files)


def admit_loaded(
    objects: list[LoadedObject], settings: PodSecuritySettings
) -> tuple[list[LoadedObject], list[ManifestError]]:
    """`podyard validate`'s admission of a loaded folder: the admitted objects and the refusals
    (each at the line where its object starts)."""
    levels, errors = namespace_levels(objects)
    default = Level(settings.level)
    admitted: list[LoadedObject] = []
    for loaded in objects:
        level = levels.get(loaded.obj.metadata.namespace, default)
        found = refusal(loaded, PodSecurityPolicy(level, settings.allowed_host_paths))
        if found is None:
            admitted.append(loaded)
        else:
            errors.append(ManifestError(loaded.file, loaded.line, *found, refused=loaded.key))
    return admitted, errors
