"""Init containers and native sidecars on a real engine: the app starts only after init finished
(Docker's own StartedAt/FinishedAt), a failed init under Never fails the pod with no app ever
made, `kubectl get pods` prints Init:1/2, sidecars stop after the app, and a Job-like pod with a
sidecar ends Succeeded."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import attrs

from controller.model.pod import Container, Pod, RestartPolicy
from tests.factories import container, mount, pod, scratch_volume
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import (
    Controller,
    ControllerProcess,
    docker_cli,
    eventually,
    exec_in,
    podyard_containers,
)
from tests.integration.manifests import write
from tests.integration.test_kubectl_watch import KUBECTL

IDLE = "trap 'exit 0' TERM; while true; do sleep 1; done"


def sh(name: str, script: str, **fields: object) -> Container:
    return container(
        name,
        "sh",
        "-c",
        script,
        image=DEMO_IMAGE,
        volume_mounts=(mount("data", "/data"),),
        **fields,
    )


def with_init(p: Pod, *inits: Container) -> Pod:
    return attrs.evolve(p, spec=attrs.evolve(p.spec, init_containers=inits))


def engine_times(docker_host: str, container_id: str) -> tuple[datetime, datetime | None]:
    """(StartedAt, FinishedAt or None while it runs), as `docker inspect` reports them."""
    out = docker_cli(
        docker_host, "inspect", "-f", "{{.State.StartedAt}} {{.State.FinishedAt}}", container_id
    ).split()
    started, finished = (_parse(t) for t in out)
    assert started is not None
    return started, finished


def _parse(text: str) -> datetime | None:
    if text.startswith("0001-"):
        return None
    head, _, frac = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac or '0')[:6]:0<6}+00:00")


async def test_init_prepares_the_volume_and_the_app_starts_after_it(
    controller: Controller, docker_host: str
) -> None:
    init = sh("prepare", "sleep 1; echo prepared-by-init > /data/index.html")
    app = sh("web", "exec httpd -f -p 8080 -h /data")
    p = with_init(pod("inited", [app], volumes=[scratch_volume("data")], grace=2), init)
    await controller.start([p])
    await controller.wait_running_ready("inited")
    web = controller.running("inited", "web")[0].id
    page = await eventually(
        lambda: docker_cli(
            docker_host, "exec", web, "wget", "-qO-", "http://127.0.0.1:8080/", check=False
        ),
        what="the app serving the init container's file",
    )
    assert page.strip() == "prepared-by-init"
    prepare = next(
        c for c in controller.containers("inited") if c.identity.container_name == "prepare"
    )
    init_started, init_finished = engine_times(docker_host, prepare.id)
    app_started, _ = engine_times(docker_host, web)
    assert init_finished is not None
    assert init_started < init_finished <= app_started
    view = controller.view("inited")
    assert view is not None
    assert [s.state.reason for s in view.status.init_container_statuses] == ["Completed"]  # type: ignore[union-attr]


async def test_a_failed_init_container_under_never_fails_the_pod(
    controller: Controller, docker_host: str
) -> None:
    p = with_init(
        pod(
            "doomed",
            [sh("web", IDLE)],
            volumes=[scratch_volume("data")],
            restart_policy=RestartPolicy.NEVER,
            grace=2,
        ),
        sh("check", "exit 3"),
    )
    await controller.start([p])
    seen: set[str] = set()

    def failed() -> bool:
        seen.update(row["name"] for row in podyard_containers(docker_host))
        view = controller.view("doomed")
        return view is not None and view.status.phase.value == "Failed"

    await eventually(failed, what="pod doomed Failed")
    deadline = time.monotonic() + 2  # and it stays so: nothing more is made
    while time.monotonic() < deadline:
        seen.update(row["name"] for row in podyard_containers(docker_host))
    assert "web" not in seen
    assert "check" in seen
    view = controller.view("doomed")
    assert view is not None
    assert view.status.phase.value == "Failed"
    assert view.status.init_container_statuses[0].state.exit_code == 3  # type: ignore[union-attr]


async def test_kubectl_shows_init_1_of_2_while_the_second_runs(
    docker_host: str, tmp_path: Path
) -> None:
    assert KUBECTL is not None, "kubectl is part of this project's test tools"
    folder = tmp_path / "manifests"
    write(
        folder,
        "slow.yaml",
        f"""apiVersion: v1
kind: Pod
metadata:
  name: slow
spec:
  terminationGracePeriodSeconds: 2
  initContainers:
    - name: first
      image: {DEMO_IMAGE}
      command: ["true"]
    - name: second
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "sleep 4"]
  containers:
    - name: app
      image: {DEMO_IMAGE}
      command: ["sh", "-c", "{IDLE}"]
""",
    )
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    try:

        def status() -> str | None:
            if not c.ready():
                return None
            done = subprocess.run(
                [KUBECTL, "-s", c.server, "get", "pods", "--no-headers"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            rows = [line.split() for line in done.stdout.splitlines() if line.startswith("slow ")]
            return rows[0][2] if rows else None

        texts: list[str] = []

        def reached(text: str) -> bool:
            now = status()
            if now and (not texts or texts[-1] != now):
                texts.append(now)
            return now == text

        await eventually(lambda: reached("Init:1/2"), timeout=60, what="Init:1/2")
        await eventually(lambda: reached("Running"), timeout=60, what="Running after init")
        assert texts.index("Init:1/2") < texts.index("Running")
        assert set(texts) <= {"Pending", "Init:0/2", "Init:1/2", "PodInitializing", "Running"}
    finally:
        c.stop()


def _die_times(docker_host: str, since: float, ids: Mapping[str, str]) -> dict[str, int]:
    """Per container name, the engine's time (ns) of its `die` event since `since`."""
    out = docker_cli(
        docker_host,
        "events",
        "--since",
        f"{since:.3f}",
        "--until",
        f"{time.time():.3f}",
        "--filter",
        "event=die",
        "--format",
        "{{.ID}} {{.TimeNano}}",
    )
    by_id = {cid: name for name, cid in ids.items()}
    times: dict[str, int] = {}
    for line in out.splitlines():
        cid, nanos = line.split()
        if cid in by_id:
            times[by_id[cid]] = int(nanos)
    return times


async def test_sidecar_tails_the_apps_file_and_stops_after_the_app(
    controller: Controller, docker_host: str
) -> None:
    writer = sh(
        "app", "trap 'exit 0' TERM; while true; do echo line-$RANDOM >> /data/log; sleep 0.2; done"
    )
    tail = sh(
        "tail",
        "touch /data/log; trap 'exit 0' TERM; tail -f /data/log & while true; do sleep 0.2; done",
        restart_policy=RestartPolicy.ALWAYS,
    )
    p = with_init(pod("logged", [writer], volumes=[scratch_volume("data")], grace=5), tail)
    await controller.start([p])
    await controller.wait_running_ready("logged")
    ids = {
        "app": controller.running("logged", "app")[0].id,
        "tail": controller.running("logged", "tail")[0].id,
    }
    await eventually(
        lambda: "line-" in docker_cli(docker_host, "logs", ids["tail"]),
        what="the sidecar's tail of the app's file",
    )
    tail_started, _ = engine_times(docker_host, ids["tail"])
    app_started, _ = engine_times(docker_host, ids["app"])
    assert tail_started <= app_started
    assert exec_in(docker_host, ids["app"], "test -s /data/log && echo yes") == "yes"
    since = time.time() - 1
    controller.set_pods([])
    await eventually(lambda: not podyard_containers(docker_host), what="the pod gone")

    def both_died() -> dict[str, int] | None:
        times = _die_times(docker_host, since, ids)
        return times if len(times) == 2 else None

    died = await eventually(both_died, what="die events of the app and the sidecar")
    assert died["app"] < died["tail"]


async def test_a_job_like_pod_with_a_sidecar_ends_succeeded(
    controller: Controller, docker_host: str
) -> None:
    p = with_init(
        pod(
            "job",
            [sh("work", "sleep 1; echo done >> /data/log")],
            volumes=[scratch_volume("data")],
            restart_policy=RestartPolicy.NEVER,
            grace=2,
        ),
        sh("helper", IDLE, restart_policy=RestartPolicy.ALWAYS),
    )
    await controller.start([p])
    view = await controller.wait_phase("job", "Succeeded", timeout=30)
    assert view.status.container_statuses[0].state.exit_code == 0  # type: ignore[union-attr]
    await eventually(
        lambda: not [r for r in podyard_containers(docker_host) if r["state"] == "running"],
        what="the sidecar and the sandbox stopped",
    )
    after = controller.view("job")
    assert after is not None
    assert after.status.phase.value == "Succeeded"
