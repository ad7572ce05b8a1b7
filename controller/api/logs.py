"""`GET /api/v1/namespaces/{ns}/pods/{name}/log`: a container's output as the API server serves it.

The checks run in the API server's order, then the kubelet's, each failing with their words:
the query (see `logquery`), the pod (404 `pods "y" not found`), the container (the only app
container when none is named; with several, 400 `a container name must be specified for pod y,
choose one of: [a b] or one of the init containers: [i]`; an unknown one, 400 `container x is not
valid for pod y`), then which instance of it to read, from the pod's status as the kubelet's
`validateContainerLogStatus` decides: `previous` reads `lastState.terminated.containerID` (400
`previous terminated container "x" in pod "y" not found` without one); otherwise the running
instance, else the terminated one, else the last terminated one, else 400 `container "x" in pod
"y" is waiting to start: REASON`. A pod on no node answers an empty body, as the API server does.

The body is `text/plain`, chunked; `limitBytes` cuts it (the rest is never sent) and `follow`
keeps it open until the container ends or the client leaves.

Traps:

* **Defaults.** The `kubectl.kubernetes.io/default-container` annotation is kubectl's, read on
  the client's side: the server never uses it, and errors when a pod has several containers.
* **Errors after the headers.** Opening the runtime's stream can fail (no such container, engine
  down) and must then be a Status, so the first chunk is awaited before the headers are sent, up
  to `HEADERS_WAIT_SECONDS`: a follow of a quiet container must not keep the client waiting for
  headers. A failure later than that can only end the body.
* **Leaving clients.** aiohttp does not cancel a handler whose client left, and a quiet follow
  writes nothing that would notice: every `HEADERS_WAIT_SECONDS` the connection is checked, and
  the runtime's stream is closed (so the engine's side closes too) when it is gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from aiohttp import web

from controller.api.logquery import LogQuery, QueryError, parse_log_query
from controller.api.responses import not_found, status_response
from controller.model.errors import EngineUnavailable
from controller.model.logs import LogOptions
from controller.model.status import ContainerStatus, PodView, Terminated, Waiting

log = logging.getLogger(__name__)

HEADERS_WAIT_SECONDS = 1.0

LOG_RESOURCE: dict[str, Any] = {
    "name": "pods/log",
    "singularName": "",
    "namespaced": True,
    "kind": "Pod",
    "verbs": ["get"],
}


class LogsSource(Protocol):
    """Opens the output of container `container_id` on node `node` (raises when it cannot)."""

    def __call__(
        self, node: str, container_id: str, options: LogOptions
    ) -> AsyncIterator[bytes]: ...


class LogRefusal(Exception):
    """A request the API server or the kubelet refuses, with its status code and words."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def choose_container(view: PodView, named: str) -> str:
    """The API server's `validateContainer`: the named container, or the only app container."""
    spec = view.pod.spec
    name = view.pod.metadata.name
    if not named:
        if len(spec.containers) == 1:
            return spec.containers[0].name
        if not spec.containers:
            raise LogRefusal(400, f"a container name must be specified for pod {name}")
        message = (
            f"a container name must be specified for pod {name}, choose one of: "
            f"[{' '.join(c.name for c in spec.containers)}]"
        )
        if spec.init_containers:
            inits = " ".join(c.name for c in spec.init_containers)
            message += f" or one of the init containers: [{inits}]"
        raise LogRefusal(400, message)
    if named not in {c.name for c in (*spec.containers, *spec.init_containers)}:
        raise LogRefusal(400, f"container {named} is not valid for pod {name}")
    return named


def _waiting(container: str, pod: str, reason: str) -> LogRefusal:
    said = {
        "ErrImagePull": "image can't be pulled",
        "ImagePullBackOff": "trying and failing to pull image",
    }.get(reason, reason)
    return LogRefusal(400, f'container "{container}" in pod "{pod}" is waiting to start: {said}')


def instance_to_read(view: PodView, container: str, previous: bool) -> str:
    """The kubelet's `validateContainerLogStatus`: the id of the container instance to read."""
    pod = view.pod.metadata.name
    statuses = (*view.status.container_statuses, *view.status.init_container_statuses)
    status: ContainerStatus | None = next((s for s in statuses if s.name == container), None)
    if status is None:
        # No status yet: the pod is being set up, as ContainerCreating (or PodInitializing).
        raise _waiting(container, pod, "ContainerCreating")
    last = status.last_state if isinstance(status.last_state, Terminated) else None
    state = status.state
    if previous:
        if last is None or not last.container_id:
            raise LogRefusal(
                400, f'previous terminated container "{container}" in pod "{pod}" not found'
            )
        return last.container_id
    if isinstance(state, Terminated):
        if state.container_id:
            return state.container_id
        if last is not None and last.container_id:
            return last.container_id
        raise LogRefusal(400, f'container "{container}" in pod "{pod}" is terminated')
    if not isinstance(state, Waiting):
        return status.container_id
    if last is not None:
        if not last.container_id:
            raise LogRefusal(400, f'container "{container}" in pod "{pod}" is terminated')
        return last.container_id
    raise _waiting(container, pod, state.reason)


def _find(views: list[PodView], namespace: str, name: str) -> PodView | None:
    for view in views:
        meta = view.pod.metadata
        if meta.namespace == namespace and meta.name == name:
            return view
    return None


def make_log_handler(
    views: Callable[[], list[PodView]], source: LogsSource, now: Callable[[], float] = time.time
) -> Callable[[web.Request], Any]:
    """The route's handler over the pod views and the runtimes' logs; `now` dates `sinceSeconds`."""

    async def pod_log(request: web.Request) -> web.StreamResponse:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        try:
            query = parse_log_query(name, request.query, now)
        except QueryError as refused:
            reason = "Invalid" if refused.code == 422 else "BadRequest"
            return status_response(refused.code, reason, refused.message)
        view = _find(views(), namespace, name)
        if view is None:
            return not_found("pods", name)
        try:
            container = choose_container(view, query.container)
            if view.node is None:
                return web.Response(text="", content_type="text/plain")
            container_id = instance_to_read(view, container, query.previous)
        except LogRefusal as refused:
            return status_response(refused.code, "BadRequest", refused.message)
        return await _stream(request, source, str(view.node), container_id, query)

    return pod_log


async def _stream(
    request: web.Request, source: LogsSource, node: str, container_id: str, query: LogQuery
) -> web.StreamResponse:
    try:
        stream = source(node, container_id, query.options)
    except Exception as exc:
        return _failure(exc)
    pending: asyncio.Task[bytes] = asyncio.ensure_future(anext(stream))
    try:
        done, _ = await asyncio.wait({pending}, timeout=HEADERS_WAIT_SECONDS)
        if done and not isinstance(pending.exception(), StopAsyncIteration | None):
            return _failure(pending.exception())
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        left = query.limit_bytes
        while True:
            done, _ = await asyncio.wait({pending}, timeout=HEADERS_WAIT_SECONDS)
            if not done:
                if request.transport is None or request.transport.is_closing():
                    return response
                continue
            try:
                chunk = pending.result()
            except StopAsyncIteration:
                break
            if left is not None:
                chunk = chunk[:left]
                left -= len(chunk)
            await response.write(chunk)
            if left == 0:
                break
            pending = asyncio.ensure_future(anext(stream))
        await response.write_eof()
        return response
    except ConnectionError:
        return web.StreamResponse()  # the client left mid-write
    except Exception:
        log.exception("log stream of container %s on %s failed", container_id, node)
        raise
    finally:
        pending.cancel()  # a read still waiting ends here, and so does the generator behind it
        await asyncio.wait({pending})
        closer = getattr(stream, "aclose", None)
        if closer is not None:
            await closer()


def _failure(exc: BaseException | None) -> web.Response:
    if isinstance(exc, EngineUnavailable):
        return status_response(500, "InternalError", str(exc))
    return status_response(400, "BadRequest", str(exc))


def add_log_routes(
    app: web.Application,
    views: Callable[[], list[PodView]],
    source: LogsSource | None,
    now: Callable[[], float] = time.time,
) -> None:
    """The log route; without a `source`, every read says the node cannot be reached."""
    app.router.add_get(
        "/api/v1/namespaces/{namespace}/pods/{name}/log",
        make_log_handler(views, source or _no_runtime, now),
    )


def _no_runtime(node: str, container_id: str, options: LogOptions) -> AsyncIterator[bytes]:
    raise EngineUnavailable(f"{node}: no container runtime serves this node")
