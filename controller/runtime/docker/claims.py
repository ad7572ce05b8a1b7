"""PersistentVolumeClaim volumes on one Docker engine: made before the first container mounts one,
listed for the API, never removed here.

A claim's volume (`model.claims.docker_volume_name`) is a volume of the local driver labelled
`labels.CLAIM=<namespace>/<name>` and nothing else of Podyard's: the pod volume listing (filtered
on the pod uid label) never sees it, so no pod's clean-up, and no orphan sweep, removes it. That is
the reclaim policy Retain: the data stays when pods and even the claim's file go.

Traps:
- Docker's `POST /volumes/create` for a name that exists answers with the existing volume, so
  creating is idempotent and two pods starting at once cannot make two volumes; the inspect that
  follows judges whose the volume is. A volume of that name without the claim's label (made by
  hand, or an older one) is not taken over: the container's create fails with that message.
- A mount of a missing named volume would make Docker create it unlabelled, so the volume is made
  here first, and a subPath into it can then be resolved on the host.
"""

from __future__ import annotations

from typing import Any

from aiodocker.exceptions import DockerError
from aiodocker.volumes import DockerVolume

from controller.model import labels
from controller.model.errors import CreateFailed, RuntimeFailure
from controller.model.plan import ContainerConfig
from controller.runtime.docker.calls import DockerCalls, _docker_message, _untyped
from controller.runtime.docker.json import _mapping, _str_labels

__all__ = ["ensure_claim_volumes", "list_claim_volumes"]


async def ensure_claim_volumes(calls: DockerCalls, config: ContainerConfig) -> None:
    """Make (or find) the volume of every claim `config` mounts; raise if one is not the claim's."""
    for mount in config.mounts:
        if mount.claim:
            await _ensure(calls, mount.source, mount.claim)


async def _ensure(calls: DockerCalls, name: str, claim: str) -> None:
    namespace, _, claim_name = claim.partition("/")
    body: dict[str, Any] = {
        "Name": name,
        "Driver": "local",
        "Labels": labels.claim_volume_labels(namespace, claim_name),
    }
    try:
        await calls.call(f"create volume {name}", lambda d: _untyped(d.volumes).create(body))
        data = await calls.call(
            f"inspect volume {name}", lambda d: _untyped(DockerVolume)(d, name).show()
        )
    except DockerError as exc:
        raise RuntimeFailure(f"volume {name}: {_docker_message(exc)}") from exc
    owner = _str_labels(_mapping(data).get("Labels")).get(labels.CLAIM)
    if owner != claim:
        raise CreateFailed(
            f"volume {name} exists and is not persistentvolumeclaim {claim}'s "
            f"(label {labels.CLAIM}={owner or '<none>'})"
        )


async def list_claim_volumes(calls: DockerCalls) -> dict[str, str]:
    """Claim (`<namespace>/<name>`) -> its volume's name, for the claims bound on this engine."""
    try:
        data = await calls.call(
            "list claim volumes",
            lambda d: _untyped(d.volumes).list(filters={"label": [labels.CLAIM]}),
        )
    except DockerError as exc:
        raise RuntimeFailure(
            f"{calls.node}: listing volumes failed: {_docker_message(exc)}"
        ) from exc
    found: dict[str, str] = {}
    for volume in _mapping(data).get("Volumes") or ():
        volume_json = _mapping(volume)
        claim = _str_labels(volume_json.get("Labels")).get(labels.CLAIM)
        name = volume_json.get("Name")
        if claim and name:
            found[claim] = str(name)
    return found
