"""The label contract on every container and volume Podyard creates.

These labels are documented for users (`docker ps --filter label=io.podyard.pod.name=web`) and are
the controller's only memory: after a crash it relists the engine and rebuilds everything from them.
Reading is tolerant: a container with missing or malformed labels yields None and is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from controller.model.meta import PodRef, PodUid
from controller.model.observed import DEFAULT_HOST_IP, ContainerIdentity, ContainerRole, HostPort

PREFIX = "io.podyard."
POD_NAMESPACE = "io.podyard.pod.namespace"
POD_NAME = "io.podyard.pod.name"
POD_UID = "io.podyard.pod.uid"
POD_SPEC_HASH = "io.podyard.pod.spec-hash"
POD_CREATED_AT = "io.podyard.pod.created-at"
POD_OWNER = "io.podyard.pod.owner"
POD_GRACE = "io.podyard.pod.termination-grace-seconds"
CONTAINER_NAME = "io.podyard.container.name"
CONTAINER_ROLE = "io.podyard.container.role"
CONTAINER_ATTEMPT = "io.podyard.container.restart-count"
CONTAINER_SPEC_HASH = "io.podyard.container.spec-hash"
CONTAINER_BACKOFF = "io.podyard.container.backoff-seconds"
SANDBOX_ATTEMPT = "io.podyard.sandbox.attempt"
INIT_INDEX = "io.podyard.container.init-index"
"""On init containers and sidecars only: the place in `initContainers`, so sidecars stop in
reverse order even when the pod's manifest is gone."""
VOLUME_NAME = "io.podyard.volume.name"
CLAIM = "io.podyard.pvc"
"""On a PersistentVolumeClaim's Docker volume: `<namespace>/<name>` of the claim. Such a volume
never carries POD_UID, so no pod clean-up ever removes it (see `model.claims`)."""
POD_SOURCE = "io.podyard.pod.source"
"""On the sandbox: the manifest file (relative to the folder) that declared the pod or its owner.
While that file is broken, the pod is never torn down, even by a controller that just started."""
POD_MANIFEST = "io.podyard.pod.manifest"
"""On the sandbox: the pod object as JSON, so pods made by a controller (a ReplicaSet) can be
recovered whole after a restart, even when their owner's template has changed since."""

POD_HOST_PORTS = "io.podyard.pod.host-ports"
"""On the sandbox: the host ports it binds (`127.0.0.1:8080/TCP,...`), so placing the next pod
knows which ports each node holds without parsing every manifest."""

PRE_STOP = "io.podyard.container.pre-stop"
"""On an app container with a preStop hook: the handler (see `model.lifecycle`), so the hook runs
before any stop, even once the pod's manifest is gone."""

REQUIRED = (POD_NAMESPACE, POD_NAME, POD_UID, CONTAINER_NAME)


def identity_labels(identity: ContainerIdentity) -> dict[str, str]:
    """The labels that let `identity_from_labels` rebuild `identity` exactly."""
    return {
        POD_NAMESPACE: identity.pod.namespace,
        POD_NAME: identity.pod.name,
        POD_UID: identity.pod.uid,
        POD_SPEC_HASH: identity.pod_spec_hash,
        POD_CREATED_AT: repr(identity.pod_created_at),
        POD_OWNER: identity.owner,
        CONTAINER_NAME: identity.container_name,
        CONTAINER_ROLE: identity.role.value,
        CONTAINER_ATTEMPT: str(identity.attempt),
        CONTAINER_SPEC_HASH: identity.spec_hash,
        CONTAINER_BACKOFF: repr(identity.backoff_seconds),
        SANDBOX_ATTEMPT: str(identity.sandbox_attempt),
        POD_GRACE: str(identity.grace_seconds),
        **({INIT_INDEX: str(identity.init_index)} if identity.init_index >= 0 else {}),
    }


def identity_from_labels(labels: Mapping[str, str]) -> ContainerIdentity | None:
    """Rebuild the identity, or None when the required labels are missing or malformed."""
    if any(not labels.get(key) for key in REQUIRED):
        return None
    try:
        role = ContainerRole(labels.get(CONTAINER_ROLE, ContainerRole.APP.value))
        return ContainerIdentity(
            pod=PodRef(labels[POD_NAMESPACE], labels[POD_NAME], PodUid(labels[POD_UID])),
            container_name=labels[CONTAINER_NAME],
            role=role,
            attempt=int(labels.get(CONTAINER_ATTEMPT, "0")),
            spec_hash=labels.get(CONTAINER_SPEC_HASH, ""),
            pod_spec_hash=labels.get(POD_SPEC_HASH, ""),
            pod_created_at=float(labels.get(POD_CREATED_AT, "0")),
            backoff_seconds=float(labels.get(CONTAINER_BACKOFF, "0")),
            owner=labels.get(POD_OWNER, ""),
            sandbox_attempt=int(labels.get(SANDBOX_ATTEMPT, "0")),
            grace_seconds=int(labels.get(POD_GRACE, "30")),
            init_index=int(labels.get(INIT_INDEX, "-1")),
        )
    except ValueError:
        return None


def volume_labels(pod: PodRef, volume_name: str) -> dict[str, str]:
    return {
        POD_NAMESPACE: pod.namespace,
        POD_NAME: pod.name,
        POD_UID: pod.uid,
        VOLUME_NAME: volume_name,
    }


def host_ports_label(ports: Iterable[HostPort]) -> str:
    return ",".join(str(port) for port in sorted(set(ports)))


def _parse_host_port(text: str) -> HostPort | None:
    address, _, protocol = text.strip().partition("/")
    ip, _, port = address.rpartition(":")
    if not port.isdigit():
        return None
    return HostPort(ip, int(port), protocol or "TCP")


def host_ports_from_labels(container_labels: Mapping[str, str]) -> tuple[HostPort, ...]:
    """A sandbox's host ports: its host-ports label, else (a sandbox made before that label
    existed) the ports of the pod manifest it carries. Tolerant: what does not parse is skipped."""
    text = container_labels.get(POD_HOST_PORTS)
    if text is not None:
        parsed = (_parse_host_port(part) for part in text.split(",") if part.strip())
        return tuple(port for port in parsed if port is not None)
    manifest = container_labels.get(POD_MANIFEST)
    if not manifest:
        return ()
    try:
        pod = json.loads(manifest)
    except ValueError:
        return ()
    return tuple(sorted(set(_manifest_host_ports(pod))))


def _manifest_host_ports(pod: Any) -> Iterable[HostPort]:
    spec = pod.get("spec") if isinstance(pod, dict) else None
    containers = spec.get("containers") if isinstance(spec, dict) else None
    for container in containers if isinstance(containers, list) else ():
        ports = container.get("ports") if isinstance(container, dict) else None
        for port in ports if isinstance(ports, list) else ():
            if not isinstance(port, dict):
                continue
            host_port = port.get("hostPort")
            if isinstance(host_port, int) and host_port > 0:
                ip = port.get("hostIP") or DEFAULT_HOST_IP
                yield HostPort(str(ip), host_port, str(port.get("protocol") or "TCP"))


def claim_volume_labels(namespace: str, name: str) -> dict[str, str]:
    return {CLAIM: f"{namespace}/{name}"}
