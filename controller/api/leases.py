"""`/podyard/v1/leases`: who holds each engine's lease, as this controller judges it.

A standby serves the holder's identity (host, pid, folder, API address) so that a user who sees a
controller doing nothing learns at once which other controller acts, and where to reach it.
Times are RFC 3339 (the engine's stamps); `expiresInSeconds` is this controller's own judgement
(the holder: time left to renew; a standby: time until it would take over).
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from controller.model.lease import LeaseView

LeasesSource = Callable[[], Sequence[LeaseView]]


def _time(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def lease_json(view: LeaseView) -> dict[str, Any]:
    holder = view.holder
    return {
        "node": view.node,
        "heldByThisController": view.held,
        "holder": None
        if holder is None
        else {
            "identity": f"{holder.host}_{holder.id}",
            "host": holder.host,
            "pid": holder.pid,
            "manifests": holder.manifests,
            "api": holder.api,
        },
        "leaseContainer": view.container_id,
        "acquireTime": _time(view.acquired_at),
        "renewTime": _time(view.renewed_at),
        "leaseDurationSeconds": view.duration_seconds,
        "expiresInSeconds": None if view.expires_in is None else round(view.expires_in, 3),
    }


def leases_handler(leases: LeasesSource) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def list_leases(request: web.Request) -> web.Response:
        items = [lease_json(view) for view in leases()]
        return web.json_response(
            {"kind": "EngineLeaseList", "apiVersion": "podyard.io/v1", "items": items}
        )

    return list_leases
