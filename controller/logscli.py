"""`podyard logs POD`: a pod's container output from a running controller, as `kubectl logs`.

    podyard logs POD [-n NS] [-c CONTAINER] [-f] [--previous] [--tail N] [--timestamps]
        [--since DURATION] [--limit-bytes N] [--server URL]

It reads the API's `pods/{name}/log` (the same the Kubernetes API serves) and copies the body to
standard output as it comes, so `-f` shows each line as the container writes it.

Traps:

* **The default container** is chosen here, as kubectl does it on its side (the server refuses
  to guess): the `kubectl.kubernetes.io/default-container` annotation, else the first container,
  with kubectl's `Defaulted container "a" out of: a, b, setup (init)` on standard error when
  there was a choice.
* **No read timeout while following**: a quiet container may write nothing for hours; a plain
  read has a 10 s deadline per read.
* `--since` takes a Go duration (`90s`, `5m`, `1h30m`), rounded up to whole seconds as kubectl
  rounds it.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
READ_TIMEOUT_SECONDS = 10.0
UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def duration_seconds(text: str) -> int:
    """A Go duration (`1h30m`, `90s`) as whole seconds, rounded up; ValueError otherwise."""
    at, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != at:
            break
        total += float(match.group(1)) * UNITS[match.group(2)]
        at = match.end()
    if not text or at != len(text):
        raise ValueError(f'time: invalid duration "{text}"')
    return math.ceil(total)


def add_logs_parser(sub: Any, default_server: str) -> None:
    logs = sub.add_parser("logs", help="print a pod's container output from a running controller")
    logs.add_argument("pod", metavar="POD")
    logs.add_argument("-n", "--namespace", default="default")
    logs.add_argument("-c", "--container", default="")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-p", "--previous", action="store_true")
    logs.add_argument("--tail", type=int, default=-1, help="lines from the end (-1: all)")
    logs.add_argument("--timestamps", action="store_true")
    logs.add_argument("--since", type=duration_seconds, help="only newer lines, e.g. 5m")
    logs.add_argument("--limit-bytes", type=int)
    logs.add_argument("--server", default=default_server)


def _fail(error: urllib.error.HTTPError) -> SystemExit:
    text = error.read().decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = {"message": text.strip()}
    return SystemExit(
        f"Error from server ({body.get('reason', error.code)}): {body.get('message', '')}"
    )


def _default_container(pod: dict[str, Any]) -> str:
    spec = pod.get("spec") or {}
    containers = [c["name"] for c in spec.get("containers") or []]
    inits = [c["name"] for c in spec.get("initContainers") or []]
    wanted = (pod.get("metadata", {}).get("annotations") or {}).get(DEFAULT_CONTAINER, "")
    if wanted and wanted in (*containers, *inits):
        return str(wanted)
    if wanted:
        name = pod["metadata"]["name"]
        print(f'Default container name "{wanted}" not found in pod {name}', file=sys.stderr)
    if not containers:
        return ""
    if len(containers) > 1 or inits:
        names = ", ".join([*containers, *(f"{i} (init)" for i in inits)])
        print(f'Defaulted container "{containers[0]}" out of: {names}', file=sys.stderr)
    return str(containers[0])


def print_logs(args: argparse.Namespace) -> int:
    pod_url = (
        f"{args.server.rstrip('/')}/api/v1/namespaces/{quote(args.namespace, safe='')}"
        f"/pods/{quote(args.pod, safe='')}"
    )
    try:
        container = args.container
        if not container:
            with urllib.request.urlopen(pod_url, timeout=READ_TIMEOUT_SECONDS) as response:
                container = _default_container(json.load(response))
        query = {
            key: value
            for key, value in (
                ("container", container),
                ("follow", "true" if args.follow else ""),
                ("previous", "true" if args.previous else ""),
                ("timestamps", "true" if args.timestamps else ""),
                ("tailLines", str(args.tail) if args.tail >= 0 else ""),
                ("sinceSeconds", str(args.since) if args.since is not None else ""),
                ("limitBytes", str(args.limit_bytes) if args.limit_bytes is not None else ""),
            )
            if value
        }
        timeout = None if args.follow else READ_TIMEOUT_SECONDS
        with urllib.request.urlopen(f"{pod_url}/log?{urlencode(query)}", timeout=timeout) as body:
            out = sys.stdout.buffer
            while chunk := body.read1(64 * 1024):
                out.write(chunk)
                out.flush()
    except urllib.error.HTTPError as error:
        raise _fail(error) from None
    except OSError as error:
        raise SystemExit(f"cannot reach the controller at {args.server}: {error}") from None
    except KeyboardInterrupt:
        return 130
    return 0
