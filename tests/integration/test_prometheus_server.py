"""A real Prometheus server scraping a real controller: every dashboard query and alert rule in
dashboards/ is asked of it, so a panel that can never show anything, or a rule that can never fire,
fails here instead of on a user's screen.

The controller runs the sample manifests plus a scenario made to light up the queries: a
crash-looping pod, a pod killed for memory, a Deployment whose pods can never start (their image
is absent and never pulled), a broken manifest file, and a pod added once Prometheus scrapes (so a
pod start falls inside a rate window). Prometheus starts only once that Deployment has settled, so
`changes(...[10m]) == 0` in the replica-mismatch rules describes a state, not the roll-out.

Dashboard queries are taken with Grafana's "All" values; each must return at least one finite
value (a `histogram_quantile` of an empty histogram is NaN, which no panel can draw). Alert rules
are split in three: those the scenario makes true (`MADE_TRUE`), those it cannot make true for a
stated reason and checks by stand-in expressions (`STAND_INS`), and any other rule, whose compared
operands (`comparison_operands`) must each return data.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.harness import ControllerProcess, eventually, free_port
from tests.integration.manifests import IDLE, pod_yaml, write
from tests.integration.prometheus import (
    PrometheusServer,
    QueryError,
    Sample,
    comparison_operands,
    grafana_to_promql,
)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
DEADLINE_SECONDS = 60.0
"""How long every query gets to return data once Prometheus is ready (most need a few seconds)."""

ABSENT_IMAGE = "localhost/podyard-absent:1"

OOM = """apiVersion: v1
kind: Pod
metadata:
  name: oom
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: hog
      image: localhost/podyard-busybox:1
      command: ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1"]
      resources:
        limits:
          memory: 16Mi
"""

STALLED = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: stalled
spec:
  replicas: 2
  selector:
    matchLabels:
      app: stalled
  template:
    metadata:
      labels:
        app: stalled
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: main
          image: {ABSENT_IMAGE}
          imagePullPolicy: Never
          command: ["sh", "-c", {IDLE!r}]
"""

BROKEN = """apiVersion: v1
kind: Pod
metadata:
  name: broken
spec:
  containers: []
"""


# --- what is asked -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A query that must return a finite value on a series whose labels fullmatch `labels`."""

    expr: str
    origin: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def verdict(self, samples: list[Sample]) -> str | None:
        """None when satisfied, else what is wrong with the answer."""
        if not samples:
            return "no data"
        finite = [s for s in samples if s.finite]
        if not finite:
            return f"only non-finite values: {[s.value for s in samples]}"
        if not any(_matches(s.labels, self.labels) for s in finite):
            return f"no series with labels {dict(self.labels)}; got {[s.labels for s in finite]}"
        return None


def _matches(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(re.fullmatch(pattern, labels.get(name, "")) for name, pattern in wanted.items())


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, including those nested in (collapsed) rows."""
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_checks() -> list[Check]:
    checks = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard.get("panels", [])):
            for target in panel.get("targets", []):
                if "expr" in target:
                    origin = f"{path.name}: panel {panel.get('title')!r} ({target.get('refId')})"
                    checks.append(Check(grafana_to_promql(target["expr"]), origin))
    return checks


def rule_files() -> list[Path]:
    return sorted(p for p in (DASHBOARDS / "alerts").glob("*.yaml") if ".test." not in p.name)


def rules() -> list[tuple[str, dict[str, Any]]]:
    """(file name, rule) for every alerting and recording rule."""
    return [
        (path.name, rule)
        for path in rule_files()
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


MADE_TRUE: dict[str, dict[str, str]] = {
    "KubePodCrashLooping": {"pod": "crashy", "reason": "CrashLoopBackOff"},
    "KubePodNotReady": {"pod": "stalled-.+"},
    "KubeReplicaSetReplicasMismatch": {"replicaset": "stalled-.+"},
    "KubeDeploymentReplicasMismatch": {"deployment": "stalled"},
    "PodyardManifestErrors": {"file": r"(.*/)?broken\.yaml"},
}
"""Rules whose whole expression the scenario makes true, and the series that must show it."""


@dataclass(frozen=True)
class StandIn:
    why: str
    checks: tuple[tuple[str, dict[str, str]], ...]


STAND_INS: dict[str, StandIn] = {
    "KubeContainerOOMKilled": StandIn(
        "its restart increase compares with `offset 10m`, before this Prometheus started; the "
        "counter and the OOMKilled half are checked on the pod killed for memory instead",
        (
            ('kube_pod_container_status_restarts_total{job="podyard"} >= 1', {"pod": "oom"}),
            (
                'min_over_time(kube_pod_container_status_last_terminated_reason{reason="OOMKilled",'
                ' job="podyard"}[10m]) == 1',
                {"pod": "oom", "container": "hog"},
            ),
        ),
    ),
    "KubeNodeNotReady": StandIn(
        "the only node is the test engine, which every other pod needs; its Ready series must "
        "be there and true",
        (
            (
                'kube_node_status_condition{job="podyard", condition="Ready", status="true"} == 1',
                {"node": ".+"},
            ),
        ),
    ),
    "PodyardDown": StandIn(
        "the controller is up while it is scraped; its `up` series must be there and 1",
        (('up{job="podyard"} == 1', {"job": "podyard"}),),
    ),
}
"""Rules the scenario cannot honestly make true, with why, and what is checked in their place."""


def rule_checks() -> list[Check]:
    checks = []
    for file, rule in rules():
        name = rule.get("alert") or rule.get("record")
        origin = f"{file}: rule {name}"
        if name in MADE_TRUE:
            checks.append(Check(rule["expr"], f"{origin} (made true)", MADE_TRUE[name]))
        elif name in STAND_INS:
            for expr, labels in STAND_INS[name].checks:
                checks.append(Check(expr, f"{origin} (stand-in)", labels))
        else:
            for operand in comparison_operands(rule["expr"]):
                checks.append(Check(operand, f"{origin} (operand)"))
    return checks


# --- asking ---------------------------------------------------------------------------------------


async def unanswered(server: PrometheusServer, checks: list[Check], timeout: float) -> list[str]:
    """Asks every check in rounds until each is satisfied or the deadline passes; returns one line
    per check that never was (a refused query is not asked again)."""
    pending = dict.fromkeys(range(len(checks)), "not asked")
    refused: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for i in list(pending):
            try:
                problem = checks[i].verdict(server.query(checks[i].expr))
            except QueryError as error:
                refused[i] = f"refused: {error}"
                del pending[i]
                continue
            if problem is None:
                del pending[i]
            else:
                pending[i] = problem
        await asyncio.sleep(0.5)
    return [
        f"{checks[i].origin}: {checks[i].expr.strip()!r}: {problem}"
        for i, problem in sorted({**pending, **refused}.items())
    ]


def unhealthy_rules(server: PrometheusServer) -> list[str]:
    """Rules the server has not yet evaluated without error (`health` is `unknown` before the
    first evaluation, `err` with `lastError` after a failed one)."""
    return [
        f"{rule['name']}: {rule['health']} {rule.get('lastError', '')}".strip()
        for rule in server.rules()
        if rule["health"] != "ok"
    ]


def promtool_check_metrics(text: str) -> str:
    """`promtool check metrics` on an exposition: its exit status and every line it printed."""
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is not installed (Debian package `prometheus`)"
    done = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}".strip()


def scenario(folder: Path) -> None:
    """The sample manifests (web's host port made free) and the scenario's own files."""
    shutil.copytree(ROOT / "manifests", folder)
    web = folder / "web.yaml"
    web.write_text(web.read_text().replace("hostPort: 18080", f"hostPort: {free_port()}"))
    write(folder, "crashy.yaml", pod_yaml("crashy", 1).replace(IDLE, "sleep 0.3; exit 1"))
    write(folder, "oom.yaml", OOM)
    write(folder, "stalled.yaml", STALLED)
    write(folder, "broken.yaml", BROKEN)


def stalled_rolled_out(c: ControllerProcess) -> bool:
    """The stalled Deployment has its two (never ready) pods: its replica counts stay put now."""
    if not c.ready():
        return False
    items = c.get("/apis/apps/v1/deployments")["items"]
    status: dict[str, Any] = next(
        (d["status"] for d in items if d["metadata"]["name"] == "stalled"), {}
    )
    return status.get("updatedReplicas") == 2


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --- the test -------------------------------------------------------------------------------------


async def test_every_panel_and_rule_has_data_in_prometheus(
    docker_host: str, tmp_path: Path
) -> None:
    folder = tmp_path / "manifests"
    scenario(folder)
    c = ControllerProcess(
        docker_host, folder, tmp_path / "c.log", "--backoff-initial", "2", "--backoff-max", "10"
    )
    server = PrometheusServer(
        tmp_path / "prometheus", f"127.0.0.1:{c.port}", rule_files=rule_files()
    )
    panels, alerts = dashboard_checks(), rule_checks()
    rule_names = {rule.get("alert") or rule.get("record") for _, rule in rules()}
    assert panels, "no dashboard queries found"
    assert set(MADE_TRUE) | set(STAND_INS) <= rule_names, "an expectation names no rule"
    c.start()
    try:
        await eventually(lambda: stalled_rolled_out(c), timeout=60, what="stalled rolled out")
        server.start()
        await eventually(server.ready, timeout=30, what="prometheus ready")
        await eventually(
            lambda: server.query('up{job="podyard"} == 1'), timeout=30, what="a first scrape"
        )
        # A pod started after a first scrape: the pod start histogram moves in a rate window.
        write(folder, "late.yaml", pod_yaml("late", 1))

        missing = await unanswered(server, [*panels, *alerts], DEADLINE_SECONDS)
        assert not missing, "queries that never returned data:\n" + "\n".join(missing)
        await eventually(
            lambda: not unhealthy_rules(server), timeout=10, what="every rule evaluated"
        )
        assert {rule["name"] for rule in server.rules()} == rule_names

        # The live exposition, with every family populated, passes promtool's lint silently.
        with urllib.request.urlopen(c.server + "/metrics", timeout=5) as response:
            exposition = response.read().decode()
        assert promtool_check_metrics(exposition) == "exit 0"
    except Exception as error:
        raise AssertionError(
            f"{error}\n--- prometheus log ---\n{_tail(server.log_text())}"
            f"\n--- controller log ---\n{_tail(c.log_text())}"
        ) from error
    finally:
        server.stop()
        c.stop()


# --- the PromQL text helpers ----------------------------------------------------------------------


def test_comparison_operands_keeps_what_is_compared() -> None:
    assert comparison_operands('up{job="podyard"} == 0 or absent(up{job="podyard"})') == [
        'up{job="podyard"}'
    ]
    assert comparison_operands(
        "(a != b) and ignoring (reason) (changes(c[10m]) == bool 0) unless on (x) d > 0.1"
    ) == ["a", "b", "changes(c[10m])", "d"]
    # Comparisons and operators inside brackets, strings and function calls are operands' own.
    assert comparison_operands('sum(x{y=~"a|b", z!="<"}) / (sum(w) > 0) > 0.1') == [
        'sum(x{y=~"a|b", z!="<"}) / (sum(w) > 0)'
    ]
    assert comparison_operands("time() - t offset 5m >= 300") == ["time() - t offset 5m"]


def test_grafana_variables_become_all_values() -> None:
    expr = 'rate(x{namespace=~"$namespace", node=~"${node}"}[$__rate_interval])'
    assert grafana_to_promql(expr) == 'rate(x{namespace=~".*", node=~".*"}[1m])'
    with pytest.raises(ValueError, match="not inside a regex matcher"):
        grafana_to_promql('x{namespace="$namespace"}')
    with pytest.raises(ValueError, match="unknown dashboard variable"):
        grafana_to_promql('x{pod=~"$pod"}')
