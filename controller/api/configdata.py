"""ConfigMaps and Secrets in the core group: `/api/v1/[namespaces/{ns}/]configmaps[/{name}]` and
the same for `secrets`, with kubectl's columns (NAME DATA AGE; NAME TYPE DATA AGE).

Traps:
- **A Secret's values leave the controller only in the full object of one Secret**, as
  Kubernetes serves it: a GET by name as JSON carries `data` (every key in base64, `stringData`
  merged in as the API server stores it). Lists, watches and Tables carry no values: the names of
  the keys are in the annotation `podyard.io/secret-keys`, and the Table's DATA column counts them.
  Logs, events and metrics never carry them.
- The source runs in the event loop and must only read in-memory state.
- A ConfigMap or Secret has no creation time of its own here: `creationTimestamp` is when this
  controller's API first saw it (so AGE reads as on a cluster where the folder was applied when
  the controller started); one that leaves the folder and returns is seen anew.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from controller.api.responses import JSON
from controller.api.tables import human_duration, parse_time
from controller.api.watch import ListedResource, get_named, list_or_watch
from controller.model.configdata import ConfigMap, Secret
from controller.model.identity import object_uid
from controller.serde import rfc3339

ConfigsSource = Callable[[], list[ConfigMap | Secret]]
CONFIGS_KEY: web.AppKey[ConfigsSource] = web.AppKey("configs")
FIRST_SEEN_KEY: web.AppKey[dict[tuple[str, str, str], float]] = web.AppKey("configs-first-seen")
SECRET_KEYS_ANNOTATION = "podyard.io/secret-keys"


def _resource(plural: str, kind: str, short: list[str]) -> JSON:
    return {
        "name": plural,
        "singularName": kind.lower(),
        "namespaced": True,
        "kind": kind,
        "verbs": ["get", "list", "watch"],
        **({"shortNames": short} if short else {}),  # omitted when empty, as the API server does
    }


CONFIGMAP_RESOURCE = _resource("configmaps", "ConfigMap", ["cm"])
SECRET_RESOURCE = _resource("secrets", "Secret", [])


def _meta(obj: ConfigMap | Secret, created_at: float | None = None) -> JSON:
    meta = obj.metadata
    uid = object_uid(obj.kind, meta.namespace, meta.name)
    out: JSON = {"name": meta.name, "namespace": meta.namespace, "uid": uid}
    if created_at is not None:
        out["creationTimestamp"] = rfc3339(created_at)
    if meta.labels:
        out["labels"] = dict(meta.labels)
    if meta.annotations:
        out["annotations"] = dict(meta.annotations)
    return out


def config_map_to_k8s(config_map: ConfigMap, created_at: float | None = None) -> JSON:
    out: JSON = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(config_map, created_at),
    }
    if config_map.data:
        out["data"] = dict(config_map.data)
    if config_map.binary_data:
        out["binaryData"] = dict(config_map.binary_data)
    if config_map.immutable is not None:
        out["immutable"] = config_map.immutable
    return out


def secret_to_k8s(secret: Secret, created_at: float | None = None) -> JSON:
    """A Secret without its values: only its type and the names of its keys."""
    meta = _meta(secret, created_at)
    meta["annotations"] = {
        **meta.get("annotations", {}),
        SECRET_KEYS_ANNOTATION: ",".join(secret.keys()),
    }
    out: JSON = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": secret.type}
    if secret.immutable is not None:
        out["immutable"] = secret.immutable
    return out


def with_values(obj: JSON, secret: Secret) -> JSON:
    """The full object of one Secret: `obj` (as listed) with `data`, as Kubernetes returns it."""
    values = sorted(secret.payload().items())
    data = {key: base64.b64encode(value).decode() for key, value in values}
    return {**obj, "data": data} if data else obj


def _secret_named(app: web.Application, namespace: str, name: str) -> Secret | None:
    for obj in app[CONFIGS_KEY]():
        meta = obj.metadata
        if isinstance(obj, Secret) and (meta.namespace, meta.name) == (namespace, name):
            return obj
    return None


def _with_secret_values(request: web.Request, obj: JSON) -> JSON:
    """A Secret's full object carries its values; a ConfigMap's is as listed."""
    meta = obj["metadata"]
    secret = _secret_named(request.app, meta["namespace"], meta["name"])
    return obj if secret is None else with_values(obj, secret)


def config_map_row(obj: JSON, now: float, *, wide: bool = False) -> list[str]:
    count = len(obj.get("data", {})) + len(obj.get("binaryData", {}))
    return [obj["metadata"]["name"], str(count), _age(obj, now)]


def secret_row(obj: JSON, now: float, *, wide: bool = False) -> list[str]:
    keys = obj["metadata"].get("annotations", {}).get(SECRET_KEYS_ANNOTATION, "")
    count = len([k for k in keys.split(",") if k])
    return [obj["metadata"]["name"], obj.get("type", ""), str(count), _age(obj, now)]


def _age(obj: JSON, now: float) -> str:
    created = parse_time(obj["metadata"].get("creationTimestamp"))
    return human_duration(now - created) if created is not None else "<unknown>"


def _first_seen(app: web.Application, kind: str) -> Callable[[ConfigMap | Secret], float]:
    """When each object of `kind` was first seen; forgets those no longer in the source."""
    seen = app[FIRST_SEEN_KEY]
    present = {
        (kind, o.metadata.namespace, o.metadata.name) for o in app[CONFIGS_KEY]() if o.kind == kind
    }
    for key in [k for k in seen if k[0] == kind and k not in present]:
        del seen[key]
    now = time.time()
    return lambda o: seen.setdefault((kind, o.metadata.namespace, o.metadata.name), now)


def _config_maps(app: web.Application) -> list[JSON]:
    objects = [o for o in app[CONFIGS_KEY]() if isinstance(o, ConfigMap)]
    created = _first_seen(app, "ConfigMap")
    return [config_map_to_k8s(o, created(o)) for o in objects]


def _secrets(app: web.Application) -> list[JSON]:
    objects = [o for o in app[CONFIGS_KEY]() if isinstance(o, Secret)]
    created = _first_seen(app, "Secret")
    return [secret_to_k8s(o, created(o)) for o in objects]


CONFIGMAPS = ListedResource(
    name="configmaps",
    list_kind="ConfigMapList",
    api_version="v1",
    columns=("NAME", "DATA", "AGE"),
    wide_columns=("NAME", "DATA", "AGE"),
    row=config_map_row,
    objects=_config_maps,
)
SECRETS = ListedResource(
    name="secrets",
    list_kind="SecretList",
    api_version="v1",
    columns=("NAME", "TYPE", "DATA", "AGE"),
    wide_columns=("NAME", "TYPE", "DATA", "AGE"),
    row=secret_row,
    objects=_secrets,
)
CONFIG_RESOURCES = (CONFIGMAPS, SECRETS)


def _get_handler(resource: ListedResource) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return get_named(request, resource, full=_with_secret_values)

    return handler


def add_config_routes(app: web.Application, configs: ConfigsSource | None = None) -> None:
    app[CONFIGS_KEY] = configs or list
    app[FIRST_SEEN_KEY] = {}
    for resource in CONFIG_RESOURCES:

        async def listing(
            request: web.Request, resource: ListedResource = resource
        ) -> web.StreamResponse:
            return await list_or_watch(request, resource)

        app.router.add_get(f"/api/v1/{resource.name}", listing)
        base = f"/api/v1/namespaces/{{namespace}}/{resource.name}"
        app.router.add_get(base, listing)
        app.router.add_get(f"{base}/{{name}}", _get_handler(resource))
