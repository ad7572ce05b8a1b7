"""DELETE through the API: pods are deleted (see the engine's `deletions`), workloads refused.

`DELETE /api/v1/namespaces/{ns}/pods/{name}` takes the grace period as kubectl and the official
client send it: `gracePeriodSeconds` in a DeleteOptions JSON body (it wins) or in the query, and
`preconditions.uid` in the body (409 Conflict when the pod has another uid). A dry run
(`kubectl delete --dry-run=server`) is refused (400) rather than carried out. The answer is the Pod
marked for deletion (`deletionTimestamp`, `deletionGracePeriodSeconds`), 200, as the API server
answers a graceful delete; a bare pod that its file brings back carries a `Warning` header, which
kubectl prints as `Warning: ...`.

`DELETE` of ReplicaSets and Deployments is refused (405 MethodNotAllowed): the folder declares
them, so the Status names the file to remove them from.

Trap: the deleter runs in the event loop and must only mark state and enqueue (the pod's worker
does the stopping); this module never imports the engine, app.py hands the deleter in.
"""

from __future__ import annotations

import json
from typing import Protocol

from aiohttp import web

from controller.api.apps import DEPLOYMENTS_KEY, GROUP, GROUP_VERSION, REPLICASETS_KEY
from controller.api.responses import JSON, json_response, not_found, status_response
from controller.model.deletion import DeleteResult, DeleteVerdict
from controller.serde import pod_view_to_k8s


class PodDeleter(Protocol):
    """Marks a pod for deletion: `grace_seconds` None means the pod's own grace period."""

    def __call__(
        self, namespace: str, name: str, grace_seconds: int | None, uid: str | None, /
    ) -> DeleteResult: ...


def _refuse_all(
    namespace: str, name: str, grace_seconds: int | None, uid: str | None, /
) -> DeleteResult:
    return DeleteResult(DeleteVerdict.NOT_FOUND)


DELETER_KEY: web.AppKey[PodDeleter] = web.AppKey("pod_deleter")


class BadOptions(Exception):
    def response(self) -> web.Response:
        return status_response(400, "BadRequest", str(self))


async def _options(request: web.Request) -> tuple[int | None, str | None]:
    """(gracePeriodSeconds, preconditions.uid) from the body, else the query."""
    body: JSON = {}
    if request.can_read_body:
        text = await request.text()
        if text.strip():
            try:
                parsed = json.loads(text)
            except ValueError as exc:
                raise BadOptions(
                    f"the body of the request is not DeleteOptions JSON: {exc}"
                ) from exc
            if not isinstance(parsed, dict):
                raise BadOptions("the body of the request is not a DeleteOptions object")
            body = parsed
    if body.get("dryRun") or request.query.get("dryRun"):
        raise BadOptions("dryRun is not supported by this server: nothing was deleted")
    grace = body.get("gracePeriodSeconds", request.query.get("gracePeriodSeconds"))
    if grace is not None:
        try:
            grace = int(grace)
        except (TypeError, ValueError) as exc:
            raise BadOptions(
                f"gracePeriodSeconds: invalid value {grace!r}: not an integer"
            ) from exc
        if grace < 0:
            grace = 0  # Kubernetes treats a negative grace as immediate
    preconditions = body.get("preconditions") or {}
    uid = preconditions.get("uid") if isinstance(preconditions, dict) else None
    return grace, (str(uid) if uid else None)


def warning_header(text: str) -> str:
    """RFC 7234's Warning (code 299, agent `-`): the text a quoted-string, its quotes escaped
    (a client drops a header it cannot parse)."""
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{quoted}"'


async def delete_pod(request: web.Request) -> web.Response:
    namespace = request.match_info["namespace"]
    name = request.match_info["name"]
    try:
        grace, uid = await _options(request)
    except BadOptions as bad:
        return bad.response()
    result = request.app[DELETER_KEY](namespace, name, grace, uid)
    if result.verdict is DeleteVerdict.NOT_FOUND or result.view is None:
        return not_found("pods", name)
    if result.verdict is DeleteVerdict.CONFLICT:
        message = f'Operation cannot be fulfilled on pods "{name}": {result.message}'
        return status_response(409, "Conflict", message, {"name": name, "kind": "pods"})
    response = json_response(pod_view_to_k8s(result.view))
    if result.warning:
        response.headers["Warning"] = warning_header(result.warning)
    return response


def _refusal(plural: str, name: str, source: str, owner: str) -> web.Response:
    if owner:
        why = f"it is managed by {owner}: delete that from the folder of manifests instead"
    else:
        why = f"it is declared by {source or 'a manifest'}: remove it from the folder to delete it"
    message = f'{plural}.{GROUP} "{name}" cannot be deleted through the API: {why}'
    details: JSON = {"name": name, "group": GROUP, "kind": plural}
    return status_response(405, "MethodNotAllowed", message, details)


async def delete_replicaset(request: web.Request) -> web.Response:
    namespace = request.match_info["namespace"]
    name = request.match_info["name"]
    for view in request.app[REPLICASETS_KEY]():
        meta = view.replicaset.metadata
        if meta.namespace == namespace and meta.name == name:
            return _refusal("replicasets", name, view.source, view.owner)
    return not_found("replicasets", name, GROUP)


async def delete_deployment(request: web.Request) -> web.Response:
    namespace = request.match_info["namespace"]
    name = request.match_info["name"]
    for view in request.app[DEPLOYMENTS_KEY]():
        meta = view.deployment.metadata
        if meta.namespace == namespace and meta.name == name:
            return _refusal("deployments", name, view.source, "")
    return not_found("deployments", name, GROUP)


def add_delete_routes(app: web.Application, deleter: PodDeleter | None) -> None:
    app[DELETER_KEY] = deleter or _refuse_all
    app.router.add_delete("/api/v1/namespaces/{namespace}/pods/{name}", delete_pod)
    base = f"/apis/{GROUP_VERSION}/namespaces/{{namespace}}"
    app.router.add_delete(f"{base}/replicasets/{{name}}", delete_replicaset)
    app.router.add_delete(f"{base}/deployments/{{name}}", delete_deployment)
