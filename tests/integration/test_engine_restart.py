"""A Docker engine that restarts under a running controller, as after a node reboot.

The engine kills every container and comes back; the controller notices through its event stream
and relists, rebuilds its pods, and its metrics tell what happened: the stream reconnected, the pod
was made again in a new sandbox, and relists resumed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.dockerd import PrivateDockerd
from tests.integration.harness import NODE, ControllerProcess, eventually
from tests.integration.manifests import pod_yaml, write
from tests.integration.test_metrics_scrape import scrape, value


async def test_pods_come_back_after_an_engine_restart_and_metrics_say_why(
    private_dockerd: PrivateDockerd, docker_host: str, tmp_path: Path
) -> None:
    folder = tmp_path / "m"
    write(folder, "steady.yaml", pod_yaml("steady", 2))
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log")
    c.start()
    try:

        def running() -> bool:
            s = scrape(c) if c.ready() else {}
            return (
                value(s, "kube_pod_status_phase", pod="steady", phase="Running") == 1.0
                and value(s, "kube_pod_status_ready", pod="steady", condition="true") == 1.0
            )

        await eventually(running, timeout=60, what="steady Running and Ready")
        before = scrape(c)
        assert value(before, "podyard_runtime_event_stream_reconnects_total", node=NODE) == 0.0
        uid = next(
            dict(labels)["uid"]
            for (name, labels), v in before.items()
            if name == "kube_pod_info" and dict(labels).get("pod") == "steady"
        )
        relisted = value(before, "podyard_relist_last_timestamp_seconds", node=NODE) or 0.0

        await asyncio.to_thread(private_dockerd.restart, kill_containers=True)

        def recovered() -> bool:
            s = scrape(c)
            return (
                (value(s, "podyard_runtime_event_stream_reconnects_total", node=NODE) or 0) >= 1
                and (value(s, "podyard_pod_reschedules_total", reason="SandboxChanged") or 0) >= 1
                and (value(s, "podyard_relist_last_timestamp_seconds", node=NODE) or 0) > relisted
                and value(s, "kube_pod_status_ready", pod="steady", condition="true") == 1.0
            )

        await eventually(recovered, timeout=90, what="reconnected, rebuilt and Ready again")
        after = scrape(c)
        # The same pod, restarted in place in a new sandbox (as the kubelet after a reboot).
        assert value(after, "kube_pod_info", pod="steady", uid=uid) == 1.0
        for container in ("c0", "c1"):
            restarts = value(
                after, "kube_pod_container_status_restarts_total", pod="steady", container=container
            )
            assert restarts is not None
            assert restarts >= 1
        assert value(after, "kube_node_status_condition", condition="Ready", status="true") == 1.0
    finally:
        c.stop()
