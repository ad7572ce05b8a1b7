"""The `podyard` command: run the controller, read its state, prepare local images.

    podyard run --manifests DIR [--nodes FILE] [--listen 127.0.0.1:9180] [--pause-image REF] [backoff flags]
                [--lease-duration S] [--lease-renew-deadline S] [--lease-retry-period S]
    podyard get pods|replicasets|deployments|events|nodes|configmaps|secrets|pvc [NAME] [-n NS | -A]
        [-o wide|json|yaml] [--server URL]
    podyard logs POD [-n NS] [-c C] [-f] [--previous] [--tail N] [--timestamps] [--since 5m]
    podyard validate [PATH...] [--nodes FILE]
    podyard images build [--demo]

`get` (and `logs`, see `controller.logscli`) reads the controller's HTTP API (the same JSON a Kubernetes client gets), so it works against a
controller started anywhere, and prints kubectl's familiar tables. `validate` checks manifest files
and folders exactly as the controller loads them, without a controller or Docker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import attrs
import yaml

from controller import __version__
from controller.api.claims import CLAIM_COLUMNS, CLAIM_WIDE_COLUMNS, claim_row
from controller.api.configdata import CONFIGMAPS as CONFIGMAPS_LISTED
from controller.api.configdata import SECRETS as SECRETS_LISTED
from controller.api.configdata import config_map_row, secret_row
from controller.api.namespaces import NAMESPACE_COLUMNS, namespace_row
from controller.api.responses import RowMaker
from controller.api.tables import (
    DEPLOYMENT_COLUMNS,
    DEPLOYMENT_WIDE_COLUMNS,
    EVENT_COLUMNS,
    EVENT_WIDE_COLUMNS,
    NODE_COLUMNS,
    NODE_WIDE_COLUMNS,
    POD_COLUMNS,
    REPLICASET_COLUMNS,
    REPLICASET_WIDE_COLUMNS,
    WIDE_COLUMNS,
    deployment_row,
    event_row,
    node_row,
    pod_row,
    render,
    replicaset_row,
)
from controller.app import run_controller
from controller.config import (
    POD_SECURITY_LEVELS,
    ApiSettings,
    BackoffSettings,
    EngineSettings,
    HealthSettings,
    LeaseSettings,
    NodeLifecycleSettings,
    NodeSettings,
    PodSecuritySettings,
    RuntimeSettings,
    Settings,
    WatchSettings,
)
from controller.kubeconfig import DEFAULT_CONTEXT, kubeconfig
from controller.logscli import add_logs_parser, print_logs
from controller.model.meta import ObjectKey
from controller.source.admission import admit_loaded
from controller.source.loader import LoadedObject, ManifestError, load_directory, load_file
from controller.source.nodes_file import NodesFileInvalid, load_nodes_file

DEFAULT_LISTEN = "127.0.0.1:9180"
DEFAULT_SERVER = "http://127.0.0.1:9180"


@attrs.frozen
class Resource:
    """A kind `podyard get` reads: where the API serves it and how its table looks."""

    plural: str
    api_path: str
    columns: tuple[str, ...]
    wide_columns: tuple[str, ...]
    row: RowMaker
    namespaced: bool = True


PODS = Resource("pods", "/api/v1", POD_COLUMNS, WIDE_COLUMNS, pod_row)
REPLICASETS = Resource(
    "replicasets",
    "/apis/apps/v1",
    REPLICASET_COLUMNS,
    REPLICASET_WIDE_COLUMNS,
    replicaset_row,
)
DEPLOYMENTS = Resource(
    "deployments",
    "/apis/apps/v1",
    DEPLOYMENT_COLUMNS,
    DEPLOYMENT_WIDE_COLUMNS,
    deployment_row,
)
EVENTS = Resource("events", "/api/v1", EVENT_COLUMNS, EVENT_WIDE_COLUMNS, event_row)
NODES = Resource("nodes", "/api/v1", NODE_COLUMNS, NODE_WIDE_COLUMNS, node_row, namespaced=False)
CONFIGMAPS = Resource(
    "configmaps", "/api/v1", CONFIGMAPS_LISTED.columns, CONFIGMAPS_LISTED.columns, config_map_row
)
SECRETS = Resource("secrets", "/api/v1", SECRETS_LISTED.columns, SECRETS_LISTED.columns, secret_row)
CLAIMS = Resource("persistentvolumeclaims", "/api/v1", CLAIM_COLUMNS, CLAIM_WIDE_COLUMNS, claim_row)
NAMESPACES = Resource(
    "namespaces", "/api/v1", NAMESPACE_COLUMNS, NAMESPACE_COLUMNS, namespace_row, namespaced=False
)
RESOURCES = {
    **dict.fromkeys(("pods", "pod", "po"), PODS),
    **dict.fromkeys(("configmaps", "configmap", "cm"), CONFIGMAPS),
    **dict.fromkeys(("secrets", "secret"), SECRETS),
    **dict.fromkeys(("replicasets", "replicaset", "rs"), REPLICASETS),
    **dict.fromkeys(("deployments", "deployment", "deploy"), DEPLOYMENTS),
    **dict.fromkeys(("events", "event", "ev"), EVENTS),
    **dict.fromkeys(("nodes", "node", "no"), NODES),
    **dict.fromkeys(("namespaces", "namespace", "ns"), NAMESPACES),
    **dict.fromkeys(("persistentvolumeclaims", "persistentvolumeclaim", "pvc"), CLAIMS),
}
"""Every name `podyard get` accepts (kubectl's plural, singular and short names)."""


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("seconds cannot be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="podyard", description="Kubernetes-style pods on plain Docker."
    )
    parser.add_argument("--version", action="version", version=f"podyard {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the controller in the foreground")
    run.add_argument("--manifests", required=True, help="folder of Kubernetes YAML")
    run.add_argument(
        "--listen",
        type=_listen,
        default=_listen(DEFAULT_LISTEN),
        help="API address (default %(default)s)",
    )
    run.add_argument(
        "--nodes",
        metavar="FILE",
        help="YAML file of the nodes (Docker engines) to run pods on; without it, one node for "
        "the local engine",
    )
    run.add_argument(
        "--node-name",
        default=None,
        help="name of the single node (default: PODYARD_NODE_NAME or the host name)",
    )
    run.add_argument(
        "--docker-host",
        default=None,
        help="engine address of the single node (default: DOCKER_HOST or the local socket)",
    )
    run.add_argument(
        "--pause-image",
        default=os.environ.get("PODYARD_PAUSE_IMAGE", RuntimeSettings().pause_image),
    )
    run.add_argument(
        "--relist-interval", type=_seconds, default=RuntimeSettings().relist_interval_seconds
    )
    run.add_argument(
        "--watch-resync",
        type=_seconds,
        default=ApiSettings().watch_resync_seconds,
        help="seconds between full renders of watched API resources (changes arrive at once)",
    )
    run.add_argument(
        "--relist-threshold",
        type=_seconds,
        default=HealthSettings().relist_threshold_seconds,
        help="age in seconds of a node's last successful relist at which /healthz fails "
        "(default %(default)s, the kubelet's PLEG threshold)",
    )
    run.add_argument(
        "--node-monitor-grace-period",
        type=_seconds,
        default=NodeLifecycleSettings().monitor_grace_seconds,
        help="seconds without a successful relist after which a node is NotReady "
        "(default %(default)s)",
    )
    run.add_argument(
        "--pod-eviction-timeout",
        type=_seconds,
        default=NodeLifecycleSettings().pod_eviction_timeout_seconds,
        help="seconds a NotReady node keeps its ReplicaSets' pods before they are replaced "
        "elsewhere (default %(default)s; Kubernetes waits 300)",
    )
    run.add_argument(
        "--subpath-dir",
        default=RuntimeSettings().subpath_dir,
        help="where subPath mounts are made for the engine to bind (default %(default)s)",
    )
    run.add_argument(
        "--pod-security",
        choices=POD_SECURITY_LEVELS,
        default=PodSecuritySettings().level,
        help="Pod Security level for namespaces without a pod-security.kubernetes.io/enforce "
        "label (default %(default)s)",
    )
    run.add_argument(
        "--allow-host-path",
        action="append",
        default=[],
        metavar="PREFIX",
        help="absolute host path under which the baseline level admits hostPath volumes "
        "(repeatable; none by default)",
    )
    run.add_argument(
        "--pod-pids-limit",
        type=int,
        default=RuntimeSettings().pids_limit,
        help="processes each container may have at once, 0 for no limit (default %(default)s)",
    )
    run.add_argument(
        "--config-volume-dir",
        default=RuntimeSettings().config_volume_dir,
        help="where the files of configMap and secret volumes are written for the engine to "
        "bind (default %(default)s)",
    )
    run.add_argument("--backoff-initial", type=_seconds, default=BackoffSettings().initial_seconds)
    run.add_argument("--backoff-max", type=_seconds, default=BackoffSettings().max_seconds)
    run.add_argument(
        "--backoff-reset", type=_seconds, default=BackoffSettings().reset_after_seconds
    )
    run.add_argument(
        "--hold-seconds",
        type=_seconds,
        default=WatchSettings().hold_seconds,
        help="how long an emptied file, a vanished folder or a mass deletion is held back",
    )
    run.add_argument("--rescan-interval", type=_seconds, default=WatchSettings().rescan_seconds)
    run.add_argument(
        "--failed-pods-kept",
        type=int,
        default=EngineSettings().failed_pods_kept,
        help="finished pods a ReplicaSet keeps for inspection (default %(default)s)",
    )
    run.add_argument(
        "--lease-duration",
        type=_seconds,
        default=LeaseSettings().duration_seconds,
        help="seconds a standby waits after the engine lease was last renewed before taking it "
        "over (default %(default)s)",
    )
    run.add_argument(
        "--lease-renew-deadline",
        type=_seconds,
        default=LeaseSettings().renew_deadline_seconds,
        help="seconds without a renewal after which the holder stops acting; less than the "
        "duration (default %(default)s)",
    )
    run.add_argument(
        "--lease-retry-period",
        type=_seconds,
        default=LeaseSettings().retry_period_seconds,
        help="seconds between renewals, and between a standby's looks (default %(default)s)",
    )
    run.add_argument("--log-level", default=os.environ.get("PODYARD_LOG_LEVEL", "INFO"))

    get = sub.add_parser("get", help="list objects from a running controller")
    get.add_argument("resource", choices=list(RESOURCES))
    get.add_argument("name", nargs="?")
    get.add_argument("-n", "--namespace", default="default")
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("-o", "--output", choices=["wide", "json", "yaml"])
    get.add_argument("-l", "--selector", help="label selector, as kubectl's (app=web,tier!=db)")
    get.add_argument("--field-selector", help="field selector, as kubectl's (metadata.name=web)")
    get.add_argument("--server", default=os.environ.get("PODYARD_SERVER", DEFAULT_SERVER))

    add_logs_parser(sub, os.environ.get("PODYARD_SERVER", DEFAULT_SERVER))
    config = sub.add_parser(
        "kubeconfig", help="print a kubeconfig for a running controller, for kubectl --kubeconfig"
    )
    config.add_argument(
        "--api",
        "--server",
        dest="server",
        default=os.environ.get("PODYARD_SERVER", DEFAULT_SERVER),
        help="the controller's API address (default: PODYARD_SERVER or %(default)s)",
    )
    config.add_argument("-n", "--namespace", default="default", help="the context's namespace")
    config.add_argument("--context", default=DEFAULT_CONTEXT, help="the context's name")

    validate = sub.add_parser(
        "validate", help="check manifest files and folders (no controller or Docker needed)"
    )
    validate.add_argument("paths", nargs="*", metavar="PATH", help="a manifest file or a folder")
    validate.add_argument("--nodes", metavar="FILE", help="also check a nodes file")
    validate.add_argument(
        "--pod-security",
        choices=POD_SECURITY_LEVELS,
        default=PodSecuritySettings().level,
        help="Pod Security level to check pods against, as `run` does (default %(default)s)",
    )
    validate.add_argument(
        "--allow-host-path",
        action="append",
        default=[],
        metavar="PREFIX",
        help="host path prefix admitted for hostPath volumes, as `run` does (repeatable)",
    )

    images = sub.add_parser("images", help="local images")
    images_sub = images.add_subparsers(dest="images_command", required=True)
    build = images_sub.add_parser(
        "build", help="build the pause fallback image (and the demo image)"
    )
    build.add_argument("--demo", action="store_true", help="also build the busybox demo image")
    return parser


def nodes_from(args: argparse.Namespace) -> tuple[NodeSettings, ...]:
    """The nodes file's nodes, or the single local node; ValueError (NodesFileInvalid) if bad."""
    if args.nodes is None:
        name = args.node_name or os.environ.get("PODYARD_NODE_NAME") or socket.gethostname()
        return (NodeSettings(name=name, docker_host=args.docker_host),)
    if args.node_name is not None or args.docker_host is not None:
        raise ValueError("--nodes cannot be combined with --node-name or --docker-host")
    return load_nodes_file(Path(args.nodes))


def settings_from(args: argparse.Namespace) -> Settings:
    host, port = args.listen
    return Settings(
        manifests_dir=args.manifests,
        nodes=nodes_from(args),
        backoff=BackoffSettings(args.backoff_initial, args.backoff_max, args.backoff_reset),
        runtime=RuntimeSettings(
            pause_image=args.pause_image,
            relist_interval_seconds=args.relist_interval,
            subpath_dir=args.subpath_dir,
            pids_limit=args.pod_pids_limit or None,
            config_volume_dir=args.config_volume_dir,
        ),
        pod_security=PodSecuritySettings(args.pod_security, tuple(args.allow_host_path)),
        api=ApiSettings(listen_host=host, listen_port=port, watch_resync_seconds=args.watch_resync),
        engine=EngineSettings(failed_pods_kept=args.failed_pods_kept),
        watch=WatchSettings(hold_seconds=args.hold_seconds, rescan_seconds=args.rescan_interval),
        health=HealthSettings(relist_threshold_seconds=args.relist_threshold),
        lease=LeaseSettings(
            args.lease_duration, args.lease_renew_deadline, args.lease_retry_period
        ),
        node_lifecycle=NodeLifecycleSettings(
            monitor_grace_seconds=args.node_monitor_grace_period,
            pod_eviction_timeout_seconds=args.pod_eviction_timeout,
        ),
    )


def _fetch(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = {"message": text.strip()}
        raise SystemExit(
            f"Error from server ({body.get('reason', error.code)}): {body.get('message', '')}"
        ) from None
    except OSError as error:
        raise SystemExit(f"cannot reach the controller at {url}: {error}") from None


def _selectors(args: argparse.Namespace) -> str:
    """The list's query string for `-l` and `--field-selector` (the server applies them)."""
    query = {
        key: value
        for key, value in (
            ("labelSelector", args.selector),
            ("fieldSelector", args.field_selector),
        )
        if value
    }
    return "?" + urlencode(query) if query else ""


def get_objects(args: argparse.Namespace) -> int:
    """`podyard get`: kubectl's table (or the JSON/YAML) of pods, ReplicaSets, Deployments,
    events or nodes."""
    resource = RESOURCES[args.resource]
    base = args.server.rstrip("/") + resource.api_path
    if not resource.namespaced:
        return _get_cluster_objects(args, resource, base)
    if args.name:
        if args.all_namespaces:
            print(
                "error: a resource cannot be retrieved by name across all namespaces",
                file=sys.stderr,
            )
            return 1
        namespace, name = quote(args.namespace, safe=""), quote(args.name, safe="")
        body = _fetch(f"{base}/namespaces/{namespace}/{resource.plural}/{name}")
        items = [body]
    else:
        if args.all_namespaces:
            url = f"{base}/{resource.plural}"
        else:
            url = f"{base}/namespaces/{quote(args.namespace, safe='')}/{resource.plural}"
        body = _fetch(url + _selectors(args))
        items = body["items"]
        if resource is EVENTS:  # kubectl sorts events by when they were last seen
            items = sorted(items, key=lambda e: e.get("lastTimestamp") or "")
    where = "" if args.all_namespaces else f" in {args.namespace} namespace."
    return _print_objects(args, resource, body, items, where, with_namespace=args.all_namespaces)


def _get_cluster_objects(args: argparse.Namespace, resource: Resource, base: str) -> int:
    """`podyard get nodes [NAME]`: objects without a namespace (`-n` and `-A` change nothing)."""
    if args.name:
        body = _fetch(f"{base}/{resource.plural}/{quote(args.name, safe='')}")
        items = [body]
    else:
        body = _fetch(f"{base}/{resource.plural}" + _selectors(args))
        items = body["items"]
    return _print_objects(args, resource, body, items, "", with_namespace=False)


def _print_objects(
    args: argparse.Namespace,
    resource: Resource,
    body: Any,
    items: list[Any],
    where: str,
    *,
    with_namespace: bool,
) -> int:
    """What `podyard get` prints of what it fetched: JSON, YAML or kubectl's table."""
    if args.output == "json":
        print(json.dumps(body, indent=4))
        return 0
    if args.output == "yaml":
        print(yaml.safe_dump(body, sort_keys=False), end="")
        return 0
    if not items:
        print(f"No resources found{where}", file=sys.stderr)
        return 0
    wide = args.output == "wide"
    now = time.time()
    rows = [resource.row(obj, now, wide=wide) for obj in items]
    columns = resource.wide_columns if wide else resource.columns
    if with_namespace:
        columns = ("NAMESPACE", *columns)
        rows = [[obj["metadata"]["namespace"], *r] for obj, r in zip(items, rows, strict=True)]
    print(render(columns, rows), end="")
    return 0


def _duplicates(loaded: list[tuple[LoadedObject, int]]) -> tuple[int, list[ManifestError]]:
    """Objects of one file, and its repeated declarations (the loader's rule for a folder)."""
    first: dict[ObjectKey, LoadedObject] = {}
    errors: list[ManifestError] = []
    for obj, name_line in loaded:
        winner = first.setdefault(obj.key, obj)
        if winner is not obj:
            key = obj.key
            errors.append(
                ManifestError(
                    obj.file,
                    name_line,
                    "metadata.name",
                    f"{key.kind.lower()} {key.namespace}/{key.name} is already declared in "
                    f"{winner.file}:{winner.line}; this declaration is ignored",
                )
            )
    return len(first), errors


def check_path(
    path: Path, pod_security: PodSecuritySettings | None = None
) -> tuple[int, list[ManifestError]]:
    """How many objects `path` (a file or a folder) declares validly, and its problems, Pod
    Security refusals included (a pod's level is its Namespace's label when that Namespace is
    among what is checked, else the default level).

    File names in the problems start with `path` as given, so they can be opened from here.
    """
    security = pod_security or PodSecuritySettings()
    if path.is_dir():
        result = load_directory(path)
        admitted, refused = admit_loaded(result.objects, security)
        errors = [attrs.evolve(e, file=path / e.file) for e in [*result.errors, *refused]]
        return len(admitted), errors
    if not path.exists() and not path.is_symlink():
        return 0, [ManifestError(path, 0, "", "no such file or folder")]
    loaded, errors = load_file(path, Path(path.name))
    count, repeated = _duplicates(loaded)
    admitted, refused = admit_loaded([obj for obj, _ in loaded], security)
    count -= len(loaded) - len(admitted)
    found = [*errors, *repeated, *refused]
    return count, [attrs.evolve(e, file=path.parent / e.file) for e in found]


def validate_paths(args: argparse.Namespace) -> int:
    """`podyard validate`: one line per problem, a summary; exit 1 when anything is refused."""
    valid = problems = ignored = 0
    if not args.paths and not args.nodes:
        print("podyard validate: error: give a PATH or --nodes FILE", file=sys.stderr)
        return 2
    if args.nodes:
        try:
            valid += len(load_nodes_file(Path(args.nodes)))
        except NodesFileInvalid as invalid:
            problems += len(invalid.errors)
            print(invalid)
    for given in args.paths:
        security = PodSecuritySettings(args.pod_security, tuple(args.allow_host_path))
        count, errors = check_path(Path(given), security)
        valid += count
        for error in errors:
            if error.ignored:
                ignored += 1
                print(f"warning: {error}")
            else:
                problems += 1
                print(error)
    summary = f"{valid} object(s) valid, {problems} problem(s)"
    print(summary + (f", {ignored} file(s) ignored" if ignored else ""))
    return 1 if problems else 0


def build_images(args: argparse.Namespace) -> int:
    from controller.runtime.localimages import build_local_images_on

    built = asyncio.run(build_local_images_on(None, demo=args.demo))
    for ref in built:
        print(f"built {ref}")
    if not built:
        print("local images are present")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        logging.basicConfig(
            level=args.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        try:
            settings = settings_from(args)
        except ValueError as error:  # a bad nodes file, or settings that cannot work together
            print(f"podyard run: error: {error}", file=sys.stderr)
            return 2
        asyncio.run(run_controller(settings))
        return 0
    if args.command == "get":
        return get_objects(args)
    if args.command == "logs":
        return print_logs(args)
    if args.command == "kubeconfig":
        body = kubeconfig(args.server, namespace=args.namespace, context=args.context)
        print(yaml.safe_dump(body, sort_keys=False), end="")
        return 0
    if args.command == "validate":
        return validate_paths(args)
    if args.command == "images":
        return build_images(args)
    return 2
