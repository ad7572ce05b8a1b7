"""The controller's /metrics against a real engine: kube-state-metrics series for pods it runs."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.harness import NODE, ControllerProcess, docker_cli, eventually
from tests.integration.manifests import pod_yaml, replicaset_yaml, write


def scrape(c: ControllerProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(c.server + "/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float | None:
    for (sample, sample_labels), v in samples.items():
        if sample == name and set(labels.items()) <= set(sample_labels):
            return v
    return None


def total(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sum of every sample of `name` whose labels include `labels`."""
    return sum(
        v
        for (sample, sample_labels), v in samples.items()
        if sample == name and set(labels.items()) <= set(sample_labels)
    )


async def test_object_metrics_follow_the_pods(docker_host: str, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write(folder, "steady.yaml", pod_yaml("steady", 1))
    write(
        folder,
        "crashy.yaml",
        pod_yaml("crashy", 1).replace(
            "trap 'exit 0' TERM; while true; do sleep 1; done", "sleep 0.3; exit 1"
        ),
    )
    write(folder, "pack.yaml", replicaset_yaml("pack", 2))
    c = ControllerProcess(
        docker_host, folder, tmp_path / "c.log", "--backoff-initial", "5", "--backoff-max", "20"
    )
    c.start()
    try:

        def settled() -> bool:
            s = scrape(c) if c.ready() else {}
            return (
                value(s, "kube_pod_status_phase", pod="steady", phase="Running") == 1.0
                and value(s, "kube_replicaset_status_ready_replicas", replicaset="pack") == 2.0
                and value(
                    s,
                    "kube_pod_container_status_waiting_reason",
                    pod="crashy",
                    reason="CrashLoopBackOff",
                )
                == 1.0
            )

        await eventually(
            settled, timeout=60, what="steady Running, pack 2/2, crashy in CrashLoopBackOff"
        )
        s = scrape(c)
        assert value(s, "kube_pod_status_phase", pod="steady", phase="Pending") == 0.0
        assert value(s, "kube_replicaset_spec_replicas", replicaset="pack") == 2.0
        cores = value(s, "kube_node_status_capacity", resource="cpu", unit="core")
        memory = value(s, "kube_node_status_allocatable", resource="memory", unit="byte")
        assert cores is not None
        assert cores >= 1
        assert memory is not None
        assert memory > 1 << 28
        assert (value(s, "kube_pod_container_status_restarts_total", pod="crashy") or 0) >= 1
        assert (
            value(
                s, "kube_pod_container_status_last_terminated_reason", pod="crashy", reason="Error"
            )
            == 1.0
        )

        # The controller's own metrics: what it did to get here, on this node.
        node = {"node": NODE}
        assert total(s, "controller_runtime_reconcile_total", controller="pod") >= 3
        assert (
            value(s, "podyard_runtime_operations_total", operation="create_container", **node) or 0
        ) >= 6  # three pods of sandbox + one container, at least
        assert (value(s, "podyard_pod_start_duration_seconds_count") or 0) >= 3
        assert (value(s, "podyard_relist_last_timestamp_seconds", **node) or 0) > 1.7e9
        assert (value(s, "podyard_relist_duration_seconds_count", **node) or 0) >= 1
        assert (value(s, "workqueue_adds_total", controller="pod") or 0) >= 3
        assert value(s, "workqueue_depth", controller="replicaset") is not None
        assert value(s, "workqueue_longest_running_processor_seconds", controller="pod") is not None
        restarts_before = value(s, "podyard_container_restarts_total", **node) or 0
        assert restarts_before >= 1  # crashy's restarts were performed by the controller
        assert value(s, "controller_runtime_reconcile_errors_total", controller="pod") == 0.0

        # A forced crash of the steady pod shows as a restart.
        [cid] = docker_cli(
            docker_host,
            "ps",
            "-q",
            "--filter",
            "label=io.podyard.pod.name=steady",
            "--filter",
            "label=io.podyard.container.name=c0",
        ).split()
        docker_cli(docker_host, "kill", cid)
        await eventually(
            lambda: (
                value(scrape(c), "kube_pod_container_status_restarts_total", pod="steady") == 1.0
            ),
            timeout=30,
            what="steady's restart counted",
        )
        restarts_after = value(scrape(c), "podyard_container_restarts_total", **node) or 0
        assert restarts_after > restarts_before
        # A deleted pod's series vanish.
        (folder / "crashy.yaml").unlink()
        await eventually(
            lambda: value(scrape(c), "kube_pod_info", pod="crashy") is None,
            timeout=60,
            what="crashy's series gone",
        )
    finally:
        c.stop()
