"""kube-state-metrics-compatible object metrics, read from hand-built views at scrape time."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

import attrs
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from controller.metrics import make_registry
from controller.model.meta import NodeName, ObjectMeta, PodRef, PodUid
from controller.model.nodes import KUBE_VERSION, NodeResources
from controller.model.observed import EngineInfo
from controller.model.placement import Taint, TaintEffect
from controller.model.pod import Pod, ResourceList, ResourceRequirements
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


def _view(
    p: Pod, *statuses: ContainerStatus, phase: PodPhase = PodPhase.RUNNING, **fields: Any
) -> PodView:
    ready = all(s.ready for s in statuses)
    defaults: dict[str, Any] = {
        "ref": PodRef(p.metadata.namespace, p.metadata.name, PodUid(f"uid-{p.metadata.name}")),
        "node": NodeName("local"),
        "status": PodStatus(
            phase=phase,
            conditions=(PodCondition(ConditionType.READY, ready),),
            container_statuses=statuses,
            pod_ip="172.17.0.2",
            host_ip="127.0.0.1",
            start_time=1_700_000_001.0,
        ),
        "created_at": 1_700_000_000.0,
    }
    return PodView(pod=p, **{**defaults, **fields})


def _container_status(name: str = "app", **fields: Any) -> ContainerStatus:
    """A running, ready container unless `fields` say otherwise."""
    defaults: dict[str, Any] = {
        "image": "localhost/podyard-busybox:1",
        "state": Running(1_700_000_002.0),
        "ready": True,
        "started": True,
        "image_id": "sha256:abc",
        "container_id": "0123abcd",
    }
    return ContainerStatus(name=name, **{**defaults, **fields})


def _template() -> PodTemplateSpec:
    return PodTemplateSpec(TemplateMeta(labels={"app": "web"}), pod().spec)


def _rs(name: str, replicas: int, status: ReplicaSetStatus, owner: str = "") -> ReplicaSetView:
    rs = ReplicaSet(
        ObjectMeta(name=name),
        ReplicaSetSpec(LabelSelector({"app": "web"}), _template(), replicas=replicas),
    )
    return ReplicaSetView(rs, status, uid=f"uid-{name}", generation=3, owner=owner)


def _deployment(status: DeploymentStatus) -> DeploymentView:
    d = Deployment(
        ObjectMeta(name="web"),
        DeploymentSpec(LabelSelector({"app": "web"}), _template(), replicas=3),
    )
    return DeploymentView(d, status, uid="uid-d", generation=2)


def _scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def _registry(
    pods: Sequence[PodView] = (),
    replicasets: Sequence[ReplicaSetView] = (),
    deployments: Sequence[DeploymentView] = (),
    nodes: Sequence[Node] = (),
) -> CollectorRegistry:
    return make_registry(
        list,
        pods=lambda: pods,
        replicasets=lambda: replicasets,
        deployments=lambda: deployments,
        nodes=lambda: nodes,
    )


Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _series(text: str) -> Series:
    """Every sample of a scrape, by name and label set (label order is the client's business)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(series: Series, name: str, **labels: str) -> float | None:
    return series.get((name, frozenset(labels.items())))


def _names(series: Series, name: str) -> list[dict[str, str]]:
    return [dict(labels) for n, labels in series if n == name]


POD = {"namespace": "default", "pod": "web", "uid": "uid-web"}
APP = {**POD, "container": "app"}


def test_pod_info_phase_and_ready() -> None:
    text = _scrape(_registry([_view(pod(), _container_status(), owner="ReplicaSet/web-abc")]))
    s = _series(text)
    info = {
        **POD, "host_ip": "127.0.0.1", "pod_ip": "172.17.0.2", "node": "local",
        "created_by_kind": "ReplicaSet", "created_by_name": "web-abc", "priority_class": "",
        "host_network": "false",
    }  # fmt: skip
    assert _value(s, "kube_pod_info", **info) == 1
    phases = {
        p["phase"]: _value(s, "kube_pod_status_phase", **p)
        for p in _names(s, "kube_pod_status_phase")
    }
    assert phases == {"Pending": 0, "Running": 1, "Succeeded": 0, "Failed": 0, "Unknown": 0}
    assert _value(s, "kube_pod_status_ready", **POD, condition="true") == 1
    assert _value(s, "kube_pod_status_ready", **POD, condition="false") == 0
    assert _value(s, "kube_pod_status_ready", **POD, condition="unknown") == 0
    assert _value(s, "kube_pod_created", **POD) == 1_700_000_000
    assert _value(s, "kube_pod_start_time", **POD) == 1_700_000_001
    owner = {"owner_kind": "ReplicaSet", "owner_name": "web-abc", "owner_is_controller": "true"}
    assert _value(s, "kube_pod_owner", **POD, **owner) == 1
    assert _value(s, "kube_pod_restart_policy", **POD, type="Always") == 1
    container_info = {
        **APP, "image_spec": "localhost/podyard-busybox:1", "image": "localhost/podyard-busybox:1",
        "image_id": "sha256:abc", "container_id": "docker://0123abcd",
    }  # fmt: skip
    assert _value(s, "kube_pod_container_info", **container_info) == 1
    assert _value(s, "kube_pod_container_status_running", **APP) == 1
    assert _value(s, "kube_pod_container_status_ready", **APP) == 1
    assert _value(s, "kube_pod_container_status_waiting", **APP) == 0
    created = {
        sample.name
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.endswith("_created") and sample.name != family.name
    }
    assert created == set()  # no `_created` series of counters; kube_pod_created is a gauge


def test_a_pod_without_owner_has_none_labels() -> None:
    s = _series(_scrape(_registry([_view(pod(), _container_status())])))
    [info] = _names(s, "kube_pod_info")
    assert (info["created_by_kind"], info["created_by_name"]) == ("<none>", "<none>")
    none = {"owner_kind": "<none>", "owner_name": "<none>", "owner_is_controller": "<none>"}
    assert _value(s, "kube_pod_owner", **POD, **none) == 1


def test_crash_loop_then_oom_then_running() -> None:
    waiting = _container_status(
        state=Waiting("CrashLoopBackOff", "back-off 10s"),
        ready=False,
        restart_count=4,
        last_state=Terminated(137, "OOMKilled"),
    )
    pods = [_view(pod(), waiting)]
    registry = _registry(pods)
    text = _scrape(registry)
    s = _series(text)
    assert "# TYPE kube_pod_container_status_restarts_total counter" in text
    assert _value(s, "kube_pod_container_status_restarts_total", **APP) == 4
    assert _value(s, "kube_pod_container_status_waiting", **APP) == 1
    assert _value(s, "kube_pod_container_status_running", **APP) == 0
    assert _names(s, "kube_pod_container_status_waiting_reason") == [
        {**APP, "reason": "CrashLoopBackOff"}
    ]
    assert (
        _value(s, "kube_pod_container_status_waiting_reason", **APP, reason="CrashLoopBackOff") == 1
    )
    assert _names(s, "kube_pod_container_status_terminated_reason") == []
    assert (
        _value(s, "kube_pod_container_status_last_terminated_reason", **APP, reason="OOMKilled")
        == 1
    )
    assert _value(s, "kube_pod_status_ready", **POD, condition="false") == 1

    oom = _container_status(state=Terminated(137, "OOMKilled"), ready=False, restart_count=4)
    pods[0] = _view(pod(), oom, phase=PodPhase.FAILED)
    s = _series(_scrape(registry))
    assert _names(s, "kube_pod_container_status_waiting_reason") == []
    assert _value(s, "kube_pod_container_status_terminated_reason", **APP, reason="OOMKilled") == 1
    assert _value(s, "kube_pod_container_status_terminated", **APP) == 1
    assert _value(s, "kube_pod_status_phase", **POD, phase="Failed") == 1
    assert _value(s, "kube_pod_status_phase", **POD, phase="Running") == 0

    pods[0] = _view(pod(), _container_status(restart_count=5))
    s = _series(_scrape(registry))
    assert _names(s, "kube_pod_container_status_waiting_reason") == []
    assert _names(s, "kube_pod_container_status_terminated_reason") == []
    assert _value(s, "kube_pod_container_status_restarts_total", **APP) == 5


def test_resources_in_cores_and_bytes() -> None:
    resources = ResourceRequirements(
        requests=ResourceList(cpu=Quantity.parse("250m")),
        limits=ResourceList(cpu=Quantity.parse("1"), memory=Quantity.parse("64Mi")),
    )
    p = pod(containers=[container(resources=resources)])
    s = _series(_scrape(_registry([_view(p, _container_status())])))
    base = {**APP, "node": "local"}
    requests = "kube_pod_container_resource_requests"
    limits = "kube_pod_container_resource_limits"
    assert _value(s, requests, **base, resource="cpu", unit="core") == 0.25
    # A missing request defaults to the limit, as the API server does.
    assert _value(s, requests, **base, resource="memory", unit="byte") == 64 * 2**20
    assert _value(s, limits, **base, resource="cpu", unit="core") == 1
    assert _value(s, limits, **base, resource="memory", unit="byte") == 64 * 2**20


def test_a_pods_series_vanish_when_it_is_gone() -> None:
    pods = [_view(pod(), _container_status()), _view(pod("db"), _container_status())]
    registry = _registry(pods)
    assert 'pod="web"' in _scrape(registry)
    del pods[0]
    text = _scrape(registry)
    assert 'pod="web"' not in text
    assert 'pod="db"' in text
    pods.clear()
    text = _scrape(registry)
    assert 'pod="' not in text
    assert "# TYPE kube_pod_info gauge" in text  # the families stay, empty


def test_replicaset_desired_vs_ready_and_owner() -> None:
    status = ReplicaSetStatus(replicas=3, ready_replicas=1, observed_generation=3)
    views = [_rs("web-abc", 3, status, owner="Deployment/web"), _rs("solo", 1, ReplicaSetStatus())]
    s = _series(_scrape(_registry(replicasets=views)))
    rs = {"namespace": "default", "replicaset": "web-abc"}
    assert _value(s, "kube_replicaset_spec_replicas", **rs) == 3
    assert _value(s, "kube_replicaset_status_replicas", **rs) == 3
    assert _value(s, "kube_replicaset_status_ready_replicas", **rs) == 1
    assert _value(s, "kube_replicaset_status_observed_generation", **rs) == 3
    assert _value(s, "kube_replicaset_metadata_generation", **rs) == 3
    owner = {"owner_kind": "Deployment", "owner_name": "web", "owner_is_controller": "true"}
    assert _value(s, "kube_replicaset_owner", **rs, **owner) == 1
    none = {"owner_kind": "<none>", "owner_name": "<none>", "owner_is_controller": "<none>"}
    solo = {"namespace": "default", "replicaset": "solo"}
    assert _value(s, "kube_replicaset_owner", **solo, **none) == 1
    assert _value(s, "kube_replicaset_status_ready_replicas", **solo) == 0


def test_deployment_replicas_and_conditions() -> None:
    status = DeploymentStatus(
        replicas=4,
        updated_replicas=2,
        ready_replicas=3,
        available_replicas=3,
        unavailable_replicas=1,
        observed_generation=2,
        conditions=(
            WorkloadCondition("Available", True, "MinimumReplicasAvailable"),
            WorkloadCondition("Progressing", False, "ProgressDeadlineExceeded"),
        ),
    )
    s = _series(_scrape(_registry(deployments=[_deployment(status)])))
    d = {"namespace": "default", "deployment": "web"}
    assert _value(s, "kube_deployment_spec_replicas", **d) == 3
    assert _value(s, "kube_deployment_status_replicas", **d) == 4
    assert _value(s, "kube_deployment_status_replicas_available", **d) == 3
    assert _value(s, "kube_deployment_status_replicas_unavailable", **d) == 1
    assert _value(s, "kube_deployment_status_replicas_updated", **d) == 2
    assert _value(s, "kube_deployment_status_replicas_ready", **d) == 3
    assert _value(s, "kube_deployment_status_observed_generation", **d) == 2
    assert _value(s, "kube_deployment_metadata_generation", **d) == 2
    name = "kube_deployment_status_condition"
    conditions = {(c["condition"], c["status"]): _value(s, name, **c) for c in _names(s, name)}
    assert conditions == {
        ("Available", "true"): 1, ("Available", "false"): 0, ("Available", "unknown"): 0,
        ("Progressing", "true"): 0, ("Progressing", "false"): 1, ("Progressing", "unknown"): 0,
    }  # fmt: skip


def test_nodes_info_and_ready_condition() -> None:
    taint = Taint("dedicated", TaintEffect.NO_SCHEDULE, "db")
    nodes = [
        attrs.evolve(
            Node("local", True, "127.0.0.1"),
            labels={"kubernetes.io/hostname": "local", "topology.kubernetes.io/zone": "a"},
            engine=EngineInfo(server_version="20.10.24", kernel_version="6.1", os_image="Debian"),
            allocatable=NodeResources(cpu_millis=1500, memory_bytes=1 << 30, pods=20),
        ),
        Node("far", False, "10.0.0.2", (taint,)),
        Node("lost", None, "10.0.0.3"),
    ]
    s = _series(_scrape(_registry(nodes=nodes)))
    info = {i["node"]: i for i in _names(s, "kube_node_info")}
    assert info["local"]["internal_ip"] == "127.0.0.1"
    assert info["local"]["container_runtime_version"] == "docker://20.10.24"
    assert (info["local"]["kernel_version"], info["local"]["os_image"]) == ("6.1", "Debian")
    assert info["local"]["kubelet_version"] == KUBE_VERSION
    assert info["far"]["container_runtime_version"] == ""
    assert _value(s, "kube_node_created", node="far") == 1_700_000_000
    labels = {i["node"]: i for i in _names(s, "kube_node_labels")}
    assert labels["local"] == {
        "node": "local",
        "label_kubernetes_io_hostname": "local",
        "label_topology_kubernetes_io_zone": "a",
    }
    assert labels["far"] == {"node": "far"}
    assert _names(s, "kube_node_spec_taint") == [
        {"node": "far", "key": "dedicated", "value": "db", "effect": "NoSchedule"}
    ]
    assert _value(s, "kube_node_spec_unschedulable", node="local") == 0
    cond = "kube_node_status_condition"
    assert _value(s, cond, node="local", condition="Ready", status="true") == 1
    assert _value(s, cond, node="far", condition="Ready", status="false") == 1
    assert _value(s, cond, node="far", condition="Ready", status="true") == 0
    assert _value(s, cond, node="far", condition="Ready", status="unknown") == 0
    assert _value(s, cond, node="far", condition="MemoryPressure", status="false") == 1
    for condition in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
        assert _value(s, cond, node="lost", condition=condition, status="unknown") == 1
    capacity, allocatable = "kube_node_status_capacity", "kube_node_status_allocatable"
    assert _value(s, capacity, node="local", resource="cpu", unit="core") == 2
    assert _value(s, capacity, node="local", resource="memory", unit="byte") == 4 << 30
    assert _value(s, capacity, node="local", resource="pods", unit="integer") == 110
    assert _value(s, allocatable, node="local", resource="cpu", unit="core") == 1.5
    assert _value(s, allocatable, node="local", resource="memory", unit="byte") == 1 << 30
    assert _value(s, allocatable, node="local", resource="pods", unit="integer") == 20
    assert _value(s, allocatable, node="far", resource="pods", unit="integer") == 110


def test_no_sources_means_no_object_families() -> None:
    text = _scrape(make_registry(list))
    assert "kube_" not in text
    assert "podyard_manifest_files" in text


def test_registering_reads_no_snapshot() -> None:
    def boom() -> list[PodView]:
        raise AssertionError("read at registration")

    make_registry(list, pods=boom)


NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def _lint(text: str) -> list[str]:
    """A small check of the text exposition format, for when promtool is not installed."""
    problems = []
    helps: set[str] = set()
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split(" ", 3)[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line and not line.startswith("#"):
            name = re.split(r"[{ ]", line, maxsplit=1)[0]
            if not NAME.match(name):
                problems.append(f"bad name {name}")
            if name not in types:
                problems.append(f"{name}: sample without TYPE")
    for name, kind in types.items():
        if name not in helps:
            problems.append(f"{name}: no HELP")
        if not NAME.match(name):
            problems.append(f"bad family name {name}")
        if kind == "counter" and not name.endswith("_total"):
            problems.append(f"{name}: counter not ending in _total")
    return problems


def test_exposition_passes_promtool_or_lint() -> None:
    waiting = _container_status(state=Waiting("CrashLoopBackOff"), restart_count=2, ready=False)
    registry = _registry(
        [_view(pod(), waiting, owner="ReplicaSet/web-abc"), _view(pod("db"), _container_status())],
        [_rs("web-abc", 2, ReplicaSetStatus(replicas=2), owner="Deployment/web")],
        [_deployment(DeploymentStatus(conditions=(WorkloadCondition("Available", True),)))],
        [Node("local", True, "127.0.0.1")],
    )
    text = _scrape(registry)
    assert _lint(text) == []
    promtool = shutil.which("promtool")
    if promtool is not None:
        result = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
