"""The `podyard` command: run the controller, read its state, prepare local images.

    podyard run --manifests DIR [--listen 127.0.0.1:9180] [--pause-image REF] [backoff flags]
    podyard get pods [-n NS | -A] [-o wide|json|yaml] [--server URL]
    podyard images build [--demo]

`get` reads the controller's HTTP API (the same JSON a Kubernetes client gets), so it works against a
controller started anywhere, and prints kubectl's familiar table.
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
from typing import Any

import yaml

from controller import __version__
from controller.api.tables import POD_COLUMNS, WIDE_COLUMNS, pod_row, render
from controller.app import run_controller
from controller.config import (
    ApiSettings,
    BackoffSettings,
    NodeSettings,
    RuntimeSettings,
    Settings,
    WatchSettings,
)

DEFAULT_LISTEN = "127.0.0.1:9180"
DEFAULT_SERVER = "http://127.0.0.1:9180"


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
        "--node-name", default=os.environ.get("PODYARD_NODE_NAME") or socket.gethostname()
    )
    run.add_argument(
        "--docker-host",
        default=None,
        help="engine address (default: DOCKER_HOST or the local socket)",
    )
    run.add_argument(
        "--pause-image",
        default=os.environ.get("PODYARD_PAUSE_IMAGE", RuntimeSettings().pause_image),
    )
    run.add_argument(
        "--relist-interval", type=_seconds, default=RuntimeSettings().relist_interval_seconds
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
    run.add_argument("--log-level", default=os.environ.get("PODYARD_LOG_LEVEL", "INFO"))

    get = sub.add_parser("get", help="list objects from a running controller")
    get.add_argument("resource", choices=["pods", "pod", "po"])
    get.add_argument("name", nargs="?")
    get.add_argument("-n", "--namespace", default="default")
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("-o", "--output", choices=["wide", "json", "yaml"])
    get.add_argument("--server", default=os.environ.get("PODYARD_SERVER", DEFAULT_SERVER))

    images = sub.add_parser("images", help="local images")
    images_sub = images.add_subparsers(dest="images_command", required=True)
    build = images_sub.add_parser(
        "build", help="build the pause fallback image (and the demo image)"
    )
    build.add_argument("--demo", action="store_true", help="also build the busybox demo image")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    host, port = args.listen
    return Settings(
        manifests_dir=args.manifests,
        nodes=(NodeSettings(name=args.node_name, docker_host=args.docker_host),),
        backoff=BackoffSettings(args.backoff_initial, args.backoff_max, args.backoff_reset),
        runtime=RuntimeSettings(
            pause_image=args.pause_image, relist_interval_seconds=args.relist_interval
        ),
        api=ApiSettings(listen_host=host, listen_port=port),
        watch=WatchSettings(hold_seconds=args.hold_seconds, rescan_seconds=args.rescan_interval),
    )


def _fetch(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        body = json.load(error)
        raise SystemExit(
            f"Error from server ({body.get('reason', error.code)}): {body.get('message', '')}"
        ) from None
    except OSError as error:
        raise SystemExit(f"cannot reach the controller at {url}: {error}") from None


def get_pods(args: argparse.Namespace) -> int:
    base = args.server.rstrip("/")
    if args.name:
        url = f"{base}/api/v1/namespaces/{args.namespace}/pods/{args.name}"
        body = _fetch(url)
        items = [body]
    else:
        url = (
            f"{base}/api/v1/pods"
            if args.all_namespaces
            else f"{base}/api/v1/namespaces/{args.namespace}/pods"
        )
        body = _fetch(url)
        items = body["items"]
    if args.output == "json":
        print(json.dumps(body, indent=4))
        return 0
    if args.output == "yaml":
        print(yaml.safe_dump(body, sort_keys=False), end="")
        return 0
    if not items:
        where = "any namespace" if args.all_namespaces else f"{args.namespace} namespace"
        print(f"No resources found in {where}.", file=sys.stderr)
        return 0
    wide = args.output == "wide"
    now = time.time()
    rows = [pod_row(p, now, wide=wide) for p in items]
    columns = WIDE_COLUMNS if wide else POD_COLUMNS
    if args.all_namespaces:
        columns = ("NAMESPACE", *columns)
        rows = [[p["metadata"]["namespace"], *r] for p, r in zip(items, rows, strict=True)]
    print(render(columns, rows), end="")
    return 0


def build_images(args: argparse.Namespace) -> int:
    from controller.runtime.images import build_local_images_on

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
        asyncio.run(run_controller(settings_from(args)))
        return 0
    if args.command == "get":
        return get_pods(args)
    if args.command == "images":
        return build_images(args)
    return 2
