"""The monitoring bundle in dashboards/: alert rules, their promtool tests, Prometheus config,
Grafana dashboards and provisioning.

The promtool checks need `promtool` (Debian package `prometheus`, installed by `make test`); they
fail rather than skip without it. The dashboard lint runs on every `dashboards/*.json`: each has a
fixed uid, the overview's tags and the `datasource`, `namespace` and `node` variables; each panel
has a unique id, a description, a unit and the `${datasource}` variable on itself and its queries,
filters by `$namespace`/`$node` where the series carry those labels, and rates over
`$__rate_interval`. Every metric a panel or an alert rule selects must be one the controller's own
registry serves: the names are parsed out of the expressions, not listed here, so a renamed metric
breaks the test instead of a dashboard.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.metrics import ControllerMetrics, make_registry
from controller.model.manifests import ManifestFileStatus
from controller.model.meta import NodeName, ObjectMeta, PodRef, PodUid
from controller.model.placement import Taint, TaintEffect
from controller.model.pod import ResourceList, ResourceRequirements
from controller.model.quantity import Quantity
from controller.model.status import (
    ConditionType,
    ContainerStatus,
    PodCondition,
    PodPhase,
    PodStatus,
    PodView,
    Running,
    Terminated,
    Waiting,
)
from controller.model.workload_status import (
    DeploymentStatus,
    DeploymentView,
    ReplicaSetStatus,
    ReplicaSetView,
    WorkloadCondition,
)
from controller.model.workloads import (
    Deployment,
    DeploymentSpec,
    LabelSelector,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    TemplateMeta,
)
from tests.factories import container, pod
from tests.factories import metrics_node as Node

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
RULES = DASHBOARDS / "alerts" / "podyard-rules.yaml"
RULE_TESTS = DASHBOARDS / "alerts" / "podyard-rules.test.yaml"
PROMETHEUS_CONFIG = DASHBOARDS / "prometheus.yml"
DASHBOARD_FILES = sorted(DASHBOARDS.glob("*.json"))
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
ALERTS = {
    "KubePodCrashLooping",
    "KubePodNotReady",
    "KubeReplicaSetReplicasMismatch",
    "KubeDeploymentReplicasMismatch",
    "KubeContainerOOMKilled",
    "KubeNodeNotReady",
    "PodyardDown",
    "PodyardManifestErrors",
    "PodyardReconcileErrors",
    "PodyardRuntimeErrors",
    "PodyardRelistStale",
    "PodyardWorkerStuck",
}


# --- promtool -------------------------------------------------------------------------------------


def _promtool(*args: str, cwd: Path = DASHBOARDS) -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is not installed (Debian package `prometheus`); run `make test`, which "
            "installs it, or install it by hand"
        )
    result = subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


def test_alert_rules_are_valid() -> None:
    output = _promtool("check", "rules", str(RULES))
    assert f"SUCCESS: {len(ALERTS)} rules found" in output


def test_alert_rules_pass_their_unit_tests() -> None:
    output = _promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert "SUCCESS" in output


def test_prometheus_config_is_valid_and_loads_the_rules() -> None:
    output = _promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert "SUCCESS: 1 rule files found" in output
    assert f"SUCCESS: {len(ALERTS)} rules found" in output


def _rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_every_alert_has_severity_annotations_and_no_runbook() -> None:
    rules = _rules()
    assert {r["alert"] for r in rules} == ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description"}, rule["alert"]
        assert "{{ $labels." in annotations["description"], rule["alert"]
        assert 'job="podyard"' in rule["expr"], rule["alert"]


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())
    assert tests["rule_files"] == [RULES.name]
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in tests["tests"]:
        for check in case["alert_rule_test"]:
            (fires if check["exp_alerts"] else quiet).add(check["alertname"])
    assert fires == ALERTS
    assert quiet == ALERTS


# --- the metrics the controller exports -----------------------------------------------------------


def _pod_view(name: str, status: ContainerStatus, phase: PodPhase, owner: str = "") -> PodView:
    resources = ResourceRequirements(
        requests=ResourceList(cpu=Quantity.parse("250m")),
        limits=ResourceList(cpu=Quantity.parse("1"), memory=Quantity.parse("64Mi")),
    )
    p = pod(name, containers=[container(resources=resources)])
    return PodView(
        pod=p,
        ref=PodRef("default", name, PodUid(f"uid-{name}")),
        node=NodeName("local"),
        status=PodStatus(
            phase=phase,
            conditions=(PodCondition(ConditionType.READY, status.ready),),
            container_statuses=(status,),
            pod_ip="172.17.0.2",
            host_ip="127.0.0.1",
            start_time=1_700_000_001.0,
        ),
        created_at=1_700_000_000.0,
        owner=owner,
    )


def _container_status(**fields: Any) -> ContainerStatus:
    defaults: dict[str, Any] = {
        "image": "localhost/podyard-busybox:1",
        "state": Running(1_700_000_002.0),
        "ready": True,
        "started": True,
        "image_id": "sha256:abc",
        "container_id": "0123abcd",
    }
    return ContainerStatus(name="app", **{**defaults, **fields})


def _template() -> PodTemplateSpec:
    return PodTemplateSpec(TemplateMeta(labels={"app": "web"}), pod().spec)


def _registry() -> Any:
    """A registry whose every family has samples: one pod in each container state, a ReplicaSet
    owned by a Deployment, two nodes, a failing manifest file, and the controller's own metrics
    for those nodes (every known label set exists at 0 from the start)."""
    pods = [
        _pod_view("web", _container_status(), PodPhase.RUNNING, owner="ReplicaSet/web-abc"),
        _pod_view(
            "crash",
            _container_status(
                state=Waiting("CrashLoopBackOff", "back-off 10s"),
                ready=False,
                restart_count=4,
                last_state=Terminated(137, "OOMKilled"),
            ),
            PodPhase.RUNNING,
        ),
        _pod_view(
            "done",
            _container_status(state=Terminated(0, "Completed"), ready=False),
            PodPhase.SUCCEEDED,
        ),
    ]
    rs = ReplicaSet(
        ObjectMeta(name="web-abc"),
        ReplicaSetSpec(LabelSelector({"app": "web"}), _template(), replicas=3),
    )
    replicasets = [
        ReplicaSetView(
            rs,
            ReplicaSetStatus(replicas=3, ready_replicas=1, observed_generation=1),
            uid="uid-rs",
            generation=1,
            owner="Deployment/web",
            created_at=1_700_000_000.0,
        )
    ]
    deployment = Deployment(
        ObjectMeta(name="web"),
        DeploymentSpec(LabelSelector({"app": "web"}), _template(), replicas=3),
    )
    deployments = [
        DeploymentView(
            deployment,
            DeploymentStatus(
                replicas=3,
                ready_replicas=1,
                available_replicas=1,
                unavailable_replicas=2,
                updated_replicas=3,
                observed_generation=1,
                conditions=(WorkloadCondition("Available", False, "MinimumReplicasUnavailable"),),
            ),
            uid="uid-d",
            generation=1,
            created_at=1_700_000_000.0,
        )
    ]
    taint = Taint("dedicated", TaintEffect.NO_SCHEDULE, "db")
    nodes = [Node("local", True, "127.0.0.1"), Node("far", False, "10.0.0.2", (taint,))]
    files = [
        ManifestFileStatus("web.yaml", "ok", objects=2),
        ManifestFileStatus("bad.yaml", "invalid", errors=("bad.yaml:3: spec: required",)),
    ]
    return make_registry(
        lambda: files,
        pods=lambda: pods,
        replicasets=lambda: replicasets,
        deployments=lambda: deployments,
        nodes=lambda: nodes,
        controller=ControllerMetrics([node.name for node in nodes]),
    )


_exported: set[str] = set()

# The series names a family of each type is served under (prometheus_client strips `_total` from a
# counter's family name; `_created` series are switched off).
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
}


def exported_metrics() -> set[str]:
    """Every series name the controller's registry serves, plus `up` (added by Prometheus at
    scrape). Names come from each family's type as well as its samples, so a family whose label
    sets are not known yet (and so has no sample) still counts."""
    if not _exported:
        names = {"up"}
        for family in _registry().collect():
            names |= {family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",))}
            names |= {sample.name for sample in family.samples}
        _exported.update(names)
    return _exported


def test_the_test_views_give_every_family_samples() -> None:
    """The label lints below learn which series carry `namespace` and `node` from samples."""
    for family in _registry().collect():
        assert family.samples, f"the test views leave {family.name} without samples"


def test_exported_metrics_include_the_documented_families() -> None:
    names = exported_metrics()
    for name in (
        "kube_pod_status_phase",
        "kube_pod_container_status_restarts_total",
        "kube_pod_container_status_waiting_reason",
        "kube_pod_container_status_last_terminated_reason",
        "kube_replicaset_status_ready_replicas",
        "kube_deployment_status_replicas_available",
        "kube_node_status_condition",
        "podyard_manifest_file_errors",
    ):
        assert name in names
    assert "kube_pod_container_status_restarts" not in names  # counters are served as _total


def _series_with_label(label: str) -> set[str]:
    return {
        sample.name
        for family in _registry().collect()
        for sample in family.samples
        if label in sample.labels
    }


# --- PromQL metric names --------------------------------------------------------------------------

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and",
    "or", "unless", "inf", "nan", "atan2",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (not functions, labels, keywords or durations)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPING.sub("", text)
    text = re.sub(r"\boffset\s+-?\w+", "", text)
    return {m for m in _IDENTIFIER.findall(text) if m.lower() not in _KEYWORDS}


def test_metric_names_finds_selectors_only() -> None:
    expr = (
        "sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{namespace=~"
        '"$namespace", reason="a b"}[$__rate_interval]) * on (namespace, pod, uid) group_left '
        "(node) kube_pod_info) - kube_pod_created offset 10m > bool 0 or vector(0) "
        "and ignoring(reason) podyard_manifest_objects"
    )
    assert metric_names(expr) == {
        "kube_pod_container_status_restarts_total",
        "kube_pod_info",
        "kube_pod_created",
        "podyard_manifest_objects",
    }
    assert metric_names("histogram_quantile(0.9, kube_pod_start_latency_bucket)") == {
        "kube_pod_start_latency_bucket"
    }
    assert "kube_pod_start_latency_bucket" not in exported_metrics()


# --- Grafana dashboards ---------------------------------------------------------------------------


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel that is not a row, including those nested in (collapsed) rows."""
    for panel in panels:
        if panel.get("type") == "row":
            yield from _panels(panel.get("panels", []))
        else:
            yield panel
            yield from _panels(panel.get("panels", []))


def _every_panel(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, at any depth."""
    for panel in panels:
        yield panel
        yield from _every_panel(panel.get("panels", []))


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL expression) of every query of every panel."""
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield panel.get("title", ""), target["expr"]


OVERVIEW = DASHBOARDS / "podyard-overview.json"
CONTROLLER = DASHBOARDS / "podyard-controller.json"


def test_there_are_an_overview_and_a_controller_dashboard() -> None:
    assert {OVERVIEW, CONTROLLER} <= set(DASHBOARD_FILES)
    uids = [_load(path)["uid"] for path in DASHBOARD_FILES]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_identity(path: Path) -> None:
    """A fixed uid keeps links and bookmarks stable across provisioning; shared tags let each
    dashboard's tag link list the others."""
    dashboard = _load(path)
    assert re.fullmatch(r"podyard-[a-z0-9-]+", dashboard.get("uid", "")), dashboard.get("uid")
    assert dashboard["title"].startswith("Podyard / ")
    assert dashboard.get("description", "").strip()
    assert set(_load(OVERVIEW)["tags"]) <= set(dashboard["tags"])
    tag_links = [
        link
        for link in dashboard.get("links", [])
        if link.get("type") == "dashboards" and "podyard" in link.get("tags", [])
    ]
    assert tag_links, "no link to the other Podyard dashboards"
    assert all(link.get("includeVars") and link.get("keepTime") for link in tag_links)


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_panel_ids_are_unique(path: Path) -> None:
    ids: list[int] = [panel["id"] for panel in _every_panel(_load(path)["panels"])]
    assert all(isinstance(i, int) for i in ids), ids
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"panel ids used twice: {duplicates}"


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_variables(path: Path) -> None:
    dashboard = _load(path)
    assert 36 <= dashboard["schemaVersion"] <= 41
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert {"datasource", "namespace", "node"} <= set(variables)
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("namespace", "node"):
        variable = variables[name]
        assert variable["type"] == "query"
        assert variable["datasource"] == DATASOURCE
        query = variable["query"]
        query = query["query"] if isinstance(query, dict) else query
        match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
        assert match is not None, f"{name}: {query}"
        assert match[2] == name
        assert match[1] in exported_metrics()


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_panels(path: Path) -> None:
    dashboard = _load(path)
    panels = list(_panels(dashboard["panels"]))
    assert panels
    with_node = _series_with_label("node")
    for panel in panels:
        title = panel.get("title", "")
        assert title, f"a panel without title in {path.name}"
        assert panel.get("description", "").strip(), f"{title}: no description"
        assert panel.get("fieldConfig", {}).get("defaults", {}).get("unit"), f"{title}: no unit"
        assert panel.get("datasource") == DATASOURCE, (
            f"{title}: datasource {panel.get('datasource')}"
        )
        targets = panel.get("targets", [])
        assert targets, f"{title}: no query"
        for t in targets:
            assert t.get("datasource") == DATASOURCE, f"{title}: target datasource"
            expr = t["expr"]
            names = metric_names(expr)
            assert names, f"{title}: no metric in {expr!r}"
            for name in names:
                if _has_namespace_label(name):
                    _assert_filtered(title, expr, name, 'namespace=~"$namespace"')
                if name in with_node:
                    _assert_filtered(title, expr, name, 'node=~"$node"')
            ranges = re.findall(r"\[([^\[\]]*)\]", expr)
            assert all(r == "$__rate_interval" for r in ranges), f"{title}: ranges {ranges}"
        if all(_is_seconds_quantile(t["expr"]) for t in targets):
            assert panel["fieldConfig"]["defaults"]["unit"] == "s", f"{title}: not in seconds"
    assert "start_latency" not in json.dumps(dashboard)


# What Grafana puts in place of the dashboard variables before the query reaches Prometheus.
_VARIABLES = {"$__rate_interval": "1m", "$namespace": ".*", "$node": ".*"}


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every panel query (variables expanded as Grafana does), as recording rules."""
    rules: list[dict[str, str]] = []
    for path in DASHBOARD_FILES:
        for title, expr in _expressions(_load(path)):
            for variable, value in _VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"{path.name}: {title}: unknown variable in {expr!r}"
            rules.append({"record": f"dashboard:query_{len(rules)}", "expr": expr})
    rule_file = tmp_path / "queries.yaml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    output = _promtool("check", "rules", str(rule_file), cwd=tmp_path)
    assert f"SUCCESS: {len(rules)} rules found" in output


def _assert_filtered(title: str, expr: str, name: str, matcher: str) -> None:
    """Every selector of `name` in `expr` carries `matcher` (a dashboard variable)."""
    selectors = re.findall(rf"\b{re.escape(name)}\s*\{{([^}}]*)\}}", expr)
    assert selectors, f"{title}: {name} has no label matchers in {expr!r}"
    for selector in selectors:
        assert matcher in selector, f"{title}: {name} is not filtered by {matcher} in {expr!r}"


def _is_seconds_quantile(expr: str) -> bool:
    return expr.startswith("histogram_quantile(") and "_seconds_bucket" in expr


# What each dashboard is for: a panel on each of these, whatever else it shows.
_DASHBOARD_SUBJECTS = {
    "podyard-overview.json": (
        "kube_pod_status_phase",
        "kube_replicaset_spec_replicas",
        "kube_replicaset_status_ready_replicas",
        "kube_deployment_spec_replicas",
        "kube_pod_container_status_restarts_total",
        "kube_pod_container_status_waiting_reason",
        "kube_pod_container_status_terminated_reason",
        "kube_node_status_condition",
        "podyard_manifest_file_errors",
        "podyard_pod_start_duration_seconds_bucket",
    ),
    "podyard-controller.json": (
        "controller_runtime_reconcile_total",
        "controller_runtime_reconcile_errors_total",
        "controller_runtime_reconcile_time_seconds_bucket",
        "controller_runtime_active_workers",
        "workqueue_depth",
        "workqueue_adds_total",
        "workqueue_retries_total",
        "workqueue_queue_duration_seconds_bucket",
        "workqueue_work_duration_seconds_bucket",
        "podyard_runtime_operations_total",
        "podyard_runtime_operations_errors_total",
        "podyard_runtime_operations_duration_seconds_bucket",
        "podyard_runtime_event_stream_reconnects_total",
        "podyard_relist_duration_seconds_bucket",
        "podyard_relist_last_timestamp_seconds",
        "podyard_container_restarts_total",
        "podyard_pod_reschedules_total",
        "podyard_manifest_files",
        "podyard_manifest_file_errors",
    ),
}


@pytest.mark.parametrize("name", sorted(_DASHBOARD_SUBJECTS))
def test_dashboard_covers_its_subject(name: str) -> None:
    used = {m for _, expr in _expressions(_load(DASHBOARDS / name)) for m in metric_names(expr)}
    missing = [needed for needed in _DASHBOARD_SUBJECTS[name] if needed not in used]
    assert not missing, f"{name} has no panel on {missing}"


def test_dashboards_and_alert_rules_use_only_exported_metrics() -> None:
    """Every metric a panel or a rule selects is served by the controller's registry."""
    used: dict[str, set[str]] = {}
    for path in DASHBOARD_FILES:
        for title, expr in _expressions(_load(path)):
            for name in metric_names(expr):
                used.setdefault(name, set()).add(f"{path.name}: {title}")
    for rule in _rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(f"{RULES.name}: {rule['alert']}")
    exported = exported_metrics()
    unknown = {name: sorted(where) for name, where in sorted(used.items()) if name not in exported}
    assert not unknown, "metrics the controller does not export:\n" + "\n".join(
        f"  {name} (in {', '.join(where)})" for name, where in unknown.items()
    )


def _has_namespace_label(name: str) -> bool:
    return name.startswith(("kube_pod_", "kube_replicaset_", "kube_deployment_"))


def test_namespace_labels_are_where_the_lint_expects_them() -> None:
    namespaced = {
        sample.name
        for family in _registry().collect()
        for sample in family.samples
        if "namespace" in sample.labels
    }
    assert namespaced == {name for name in exported_metrics() if _has_namespace_label(name)}


# --- provisioning ---------------------------------------------------------------------------------


def test_grafana_provisioning() -> None:
    datasources = yaml.safe_load(
        (DASHBOARDS / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    [source] = datasources["datasources"]
    assert (source["type"], source["uid"], source["url"]) == (
        "prometheus",
        "podyard-prometheus",
        "http://prometheus:9090",
    )
    providers = yaml.safe_load(
        (DASHBOARDS / "provisioning" / "dashboards" / "podyard.yaml").read_text()
    )
    [provider] = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


def test_prometheus_scrapes_the_controller() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert config["rule_files"] == ["alerts/podyard-rules.yaml"]
    [job] = config["scrape_configs"]
    assert job["job_name"] == "podyard"
    assert job["static_configs"] == [{"targets": ["controller:9180"]}]
