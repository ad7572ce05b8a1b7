"""Every error under /api and /apis is a metav1 Status, as Kubernetes answers them.

Handlers already answer their own errors with Statuses (`pods "x" not found`, a bad selector); this
middleware covers what never reaches a handler or escapes one: a path no route matches (404, `the
server could not find the requested resource`), a method a path does not take (405), an HTTP error
aiohttp raises, and an unexpected exception (500 InternalError, logged). Clients (kubectl, the
official client) read `reason` and `message` from these bodies to print `Error from server
(NotFound): ...`.

Trap: paths outside /api and /apis (/healthz, /metrics) keep their plain-text answers.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from controller.api.responses import status_response

log = logging.getLogger(__name__)

_REASONS = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    404: ("NotFound", "the server could not find the requested resource"),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
    406: (
        "NotAcceptable",
        "the server was unable to respond with a content type that the client supports",
    ),
    413: ("RequestEntityTooLarge", "the request entity is too large"),
    415: ("UnsupportedMediaType", "the server does not support the media type sent by the client"),
}


def _under_api(path: str) -> bool:
    return any(path == root or path.startswith(root + "/") for root in ("/api", "/apis"))


@web.middleware
async def status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _under_api(request.path):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason, message = _REASONS.get(exc.status, ("InternalError", exc.reason))
        return status_response(exc.status, reason, message, {})
    except Exception as exc:
        log.exception("%s %s failed", request.method, request.path)
        message = f"Internal error occurred: {type(exc).__name__}: {exc}"
        return status_response(500, "InternalError", message, {})
