"""Find the container a `kubectl exec` (or `kubectl attach`) names and start the command in it through the runtime port.

The API server's checks come first, in its words and codes (metav1 Status): the pod must exist
(404), not be finished, be on a node, and name a container it has (400); without a container
name, a pod of one container means that one. Then the kubelet's: the container must be running,
else `container not found ("NAME")` as plain text with a 500, which kubectl prints after "unable
to upgrade connection: ".

Traps: a pod's containers of earlier attempts stay (dead) beside the running one: only a running
instance is chosen, the newest. The session is opened on the node's runtime as the engine holds
it, metered (the lease's fence lets an exec through: it changes no container the controller
tracks); the per-node call slots let it pass too: a shell may stay open for hours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from controller.engine.ports import ContainerRuntime
from controller.engine.stores import ObservedCache
from controller.model.errors import EngineUnavailable, RuntimeFailure
from controller.model.execs import ExecRefused, ExecRequest, ExecSession, container_not_found
from controller.model.meta import ContainerId, NodeName, PodKey
from controller.model.observed import RunState
from controller.model.status import PodPhase, PodView


def bad_request(message: str) -> ExecRefused:
    return ExecRefused(400, "BadRequest", message)


def choose_container(view: PodView, container: str, verb: str = "exec into") -> str:
    """The container the exec runs in (or `verb` "attach to"), as it is picked and checked (the
    completed pod's words are kubectl's own check, made before it asks)."""
    name = view.pod.metadata.name
    spec = view.pod.spec
    if view.status.phase in (PodPhase.SUCCEEDED, PodPhase.FAILED):
        raise bad_request(
            f"cannot {verb} a container in a completed pod; current phase is "
            f"{view.status.phase.value}"
        )
    if not container:
        if len(spec.containers) == 1:
            return spec.containers[0].name
        names = " ".join(c.name for c in spec.containers)
        message = f"a container name must be specified for pod {name}, choose one of: [{names}]"
        if spec.init_containers:
            inits = " ".join(c.name for c in spec.init_containers)
            message += f" or one of the init containers: [{inits}]"
        raise bad_request(message)
    if container not in {c.name for c in (*spec.containers, *spec.init_containers)}:
        raise bad_request(f"container {container} is not valid for pod {name}")
    return container


def running_container(cache: ObservedCache, key: PodKey, name: str) -> ContainerId | None:
    """The newest running instance of the pod's container `name`."""
    running = [
        c
        for c in cache.containers_for(key)
        if c.identity.container_name == name and not c.is_sandbox and c.state is RunState.RUNNING
    ]
    if not running:
        return None
    return max(running, key=lambda c: (c.identity.attempt, c.created_at)).id


class PodExec:
    """`kubectl exec` into the engine's pods: (namespace, pod, container or "", request) ->
    a started session, or `ExecRefused`."""

    def __init__(
        self,
        views: Callable[[], Iterable[PodView]],
        cache: ObservedCache,
        runtimes: Mapping[NodeName, ContainerRuntime],
    ) -> None:
        self._views = views
        self._cache = cache
        self._runtimes = runtimes

    async def __call__(
        self, namespace: str, pod: str, container: str, request: ExecRequest
    ) -> ExecSession:
        runtime, container_id, name = self._locate(namespace, pod, container)
        try:
            return await runtime.exec_session(container_id, request)
        except EngineUnavailable as exc:
            raise ExecRefused(500, "InternalError", f"error dialing backend: {exc}") from exc
        except RuntimeFailure as exc:  # stopped between the look and the exec
            raise container_not_found(name) from exc

    async def attach(
        self, namespace: str, pod: str, container: str, request: ExecRequest
    ) -> ExecSession:
        """`kubectl attach`: the container's main process, with the same checks as exec."""
        runtime, container_id, name = self._locate(namespace, pod, container, "attach to")
        try:
            return await runtime.attach_session(container_id, request)
        except EngineUnavailable as exc:
            raise ExecRefused(500, "InternalError", f"error dialing backend: {exc}") from exc
        except RuntimeFailure as exc:
            raise container_not_found(name) from exc

    def check(self, namespace: str, pod: str, container: str) -> None:
        """The refusals `__call__` would raise before it starts anything."""
        self._locate(namespace, pod, container)

    def _locate(
        self, namespace: str, pod: str, container: str, verb: str = "exec into"
    ) -> tuple[ContainerRuntime, ContainerId, str]:
        view = next(
            (
                v
                for v in self._views()
                if v.pod.metadata.namespace == namespace and v.pod.metadata.name == pod
            ),
            None,
        )
        if view is None:
            raise ExecRefused(404, "NotFound", f'pods "{pod}" not found')
        name = choose_container(view, container, verb)
        runtime = self._runtimes.get(view.node) if view.node is not None else None
        if runtime is None:
            raise bad_request(f"pod {pod} does not have a host assigned")
        container_id = running_container(self._cache, PodKey(namespace, pod), name)
        if container_id is None:
            raise container_not_found(name)
        return runtime, container_id, name
