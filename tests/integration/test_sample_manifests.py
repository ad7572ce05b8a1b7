"""Every example in manifests/ loads and runs on this machine, with no pull."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path
from typing import Any

from tests.integration.harness import ControllerProcess, eventually, exec_in, free_port

ROOT = Path(__file__).resolve().parents[2]


def by_name(c: ControllerProcess, path: str) -> dict[str, dict[str, Any]]:
    try:
        return {o["metadata"]["name"]: o for o in c.get(path)["items"]}
    except OSError:
        return {}


async def test_every_sample_manifest_runs(docker_host: str, tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    shutil.copytree(ROOT / "manifests", folder)
    port = free_port()  # the sample's host port may be taken on a developer's machine
    web = folder / "web.yaml"
    web.write_text(web.read_text().replace("hostPort: 18080", f"hostPort: {port}"))
    c = ControllerProcess(docker_host, folder, tmp_path / "c.log")
    c.start()
    try:

        def settled() -> bool:
            pods = by_name(c, "/api/v1/pods")
            phases = {name: p["status"]["phase"] for name, p in pods.items()}
            rs = by_name(c, "/apis/apps/v1/replicasets")
            deploy = by_name(c, "/apis/apps/v1/deployments")
            probed = pods.get("probes", {}).get("status", {}).get("conditions", [])
            hooked = pods.get("hooks", {}).get("status", {}).get("conditions", [])
            return (
                phases.get("web") == "Running"
                and phases.get("secured") == "Running"
                and any(c["type"] == "Ready" and c["status"] == "True" for c in probed)
                and any(c["type"] == "Ready" and c["status"] == "True" for c in hooked)
                and phases.get("countdown") == "Succeeded"
                and phases.get("init-sidecar") == "Running"
                and rs.get("echo", {}).get("status", {}).get("readyReplicas") == 3
                and deploy.get("hello", {}).get("status", {}).get("availableReplicas") == 2
                and phases.get("config-demo") == "Running"
                and phases.get("secret-demo") == "Running"
                and rs.get("counter", {}).get("status", {}).get("readyReplicas") == 1
            )

        await eventually(settled, timeout=90, what="all samples running")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert "Hello from pod web" in response.read().decode()
        secured = by_name(c, "/api/v1/pods")["secured"]["status"]["containerStatuses"][0]
        page = exec_in(
            docker_host,
            secured["containerID"].removeprefix("docker://"),
            "wget -qO- 127.0.0.1:8080",
        )
        assert "served by uid 1000" in page
        claim = c.get("/api/v1/namespaces/default/persistentvolumeclaims/counter")
        assert claim["status"]["phase"] == "Bound"
        countdown = by_name(c, "/api/v1/pods")["countdown"]
        assert countdown["status"]["containerStatuses"][0]["restartCount"] == 1
        assert "manifest:" not in c.log_text(), "a sample manifest was refused"
        # Each pod was made once: a start-up relist racing the first creates must not hide them
        # and have them made again under a new uid (then torn down as "spec changed").
        events = c.get("/api/v1/events")["items"]
        scheduled = [e for e in events if e["reason"] == "Scheduled"]
        assert scheduled
        assert all(e["count"] == 1 for e in scheduled), [e["message"] for e in scheduled]
        names = [e["involvedObject"]["name"] for e in scheduled]
        assert len(names) == len(set(names)), names
        replaced = [e["message"] for e in events if "spec changed" in e["message"]]
        assert not replaced, replaced
        hooks_failed = [e["message"] for e in events if e["reason"].endswith("Hook")]
        assert not hooks_failed, hooks_failed  # the sample's postStart passed
    finally:
        c.stop()
