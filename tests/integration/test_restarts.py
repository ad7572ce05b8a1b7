"""Restart policy, CrashLoopBackOff, OOM and sandbox death on a real engine (shortened backoff)."""

from __future__ import annotations

import time

from controller.model.pod import Container, ResourceList, ResourceRequirements, RestartPolicy
from controller.model.quantity import Quantity
from controller.model.status import Terminated, Waiting
from tests.factories import container, mount, pod, scratch_volume
from tests.integration.dockerd import DEMO_IMAGE
from tests.integration.harness import Controller, docker_cli, eventually

# The node e2e test's container: fails once, then succeeds, then runs forever (state in an emptyDir).
FAIL_SUCCEED_RUN = (
    "n=$(cat /state/n 2>/dev/null || echo 0); echo $((n+1)) > /state/n; "
    "case $n in 0) exit 1;; 1) exit 0;; *) trap 'exit 0' TERM; while true; do sleep 1; done;; esac"
)
IDLE = "trap 'exit 0' TERM; while true; do sleep 1; done"


async def test_restart_policy_truth_table(controller: Controller) -> None:
    def case(name: str, policy: RestartPolicy) -> object:
        c = container(
            "c",
            "sh",
            "-c",
            FAIL_SUCCEED_RUN,
            image=DEMO_IMAGE,
            volume_mounts=(mount("state", "/state"),),
        )
        return pod(name, [c], restart_policy=policy, volumes=[scratch_volume("state")], grace=2)

    await controller.start(
        [
            case("always", RestartPolicy.ALWAYS),
            case("onfailure", RestartPolicy.ON_FAILURE),
            case("never", RestartPolicy.NEVER),
        ]  # type: ignore[list-item]
    )
    never = await controller.wait_phase("never", "Failed")
    onfailure = await controller.wait_phase("onfailure", "Succeeded")
    always = await controller.wait_running_ready("always")
    await eventually(
        lambda: (
            (v := controller.view("always")) and v.status.container_statuses[0].restart_count == 2
        ),
        what="always: 2 restarts",
    )
    always = controller.view("always")  # type: ignore[assignment]
    assert always is not None
    assert always.status.phase.value == "Running"
    assert always.status.container_statuses[0].restart_count == 2
    assert onfailure.status.container_statuses[0].restart_count == 1
    assert never.status.container_statuses[0].restart_count == 0
    state = never.status.container_statuses[0].state
    assert isinstance(state, Terminated)
    assert state.reason == "Error"
    assert state.exit_code == 1
    done = onfailure.status.container_statuses[0].state
    assert isinstance(done, Terminated)
    assert done.reason == "Completed"


async def test_crash_loop_backoff_delays(controller: Controller) -> None:
    """Delays 0, 1, 2, 4, 4 s with initial 1 s and cap 4 s (the kubelet's 0, 10, 20, ... 300 s)."""
    await controller.start(
        [pod("crashy", [container("c", "sh", "-c", "exit 3", image=DEMO_IMAGE)], grace=1)]
    )
    seen: dict[int, tuple[float, float | None, float]] = {}
    waiting_reasons: set[str] = set()

    def sample() -> bool:
        for c in controller.containers("crashy"):
            if c.identity.container_name == "c" and c.started_at is not None:
                seen[c.identity.attempt] = (c.started_at, c.finished_at, c.identity.backoff_seconds)
        view = controller.view("crashy")
        if view is not None:
            state = view.status.container_statuses[0].state
            if isinstance(state, Waiting):
                waiting_reasons.add(state.reason)
        return 5 in seen

    await eventually(sample, timeout=40, interval=0.05, what="six attempts")
    assert [seen[n][2] for n in range(1, 6)] == [0.0, 1.0, 2.0, 4.0, 4.0]
    for n in range(1, 6):
        finished = seen[n - 1][1]
        assert finished is not None
        gap = seen[n][0] - finished
        delay = seen[n][2]
        assert delay - 0.05 <= gap <= delay + 1.5, f"attempt {n}: gap {gap:.2f}s, delay {delay}s"
    assert "CrashLoopBackOff" in waiting_reasons


async def test_oom_killed_comes_from_the_engine_flag(
    controller: Controller, docker_host: str
) -> None:
    """Over its memory limit: OOMKilled. A plain SIGKILL (exit 137 too): Error, never OOMKilled.

    cgroup v1 occasionally loses the OOM notification of a container's PID 1 (then the engine reports
    a plain 137), so the hog runs under OnFailure and the test watches its successive terminations
    for the engine-flagged one.
    """
    hog = Container(
        name="hog",
        image=DEMO_IMAGE,
        command=("sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1"),
        resources=ResourceRequirements(limits=ResourceList(memory=Quantity.parse("16Mi"))),
    )
    victim = container("victim", "sh", "-c", IDLE, image=DEMO_IMAGE)
    await controller.start(
        [
            pod("oom", [hog], restart_policy=RestartPolicy.ON_FAILURE),
            pod("killed", [victim], restart_policy=RestartPolicy.NEVER),
        ]
    )
    reasons: set[str] = set()

    def oom_seen() -> bool:
        view = controller.view("oom")
        if view is not None:
            status = view.status.container_statuses[0]
            for state in (status.state, status.last_state):
                if isinstance(state, Terminated):
                    assert state.exit_code == 137
                    reasons.add(state.reason)
        return "OOMKilled" in reasons

    await eventually(oom_seen, timeout=30, interval=0.05, what="an OOMKilled termination")
    await controller.wait_running_ready("killed")
    docker_cli(docker_host, "kill", "-s", "KILL", controller.running("killed", "victim")[0].id)
    killed = await controller.wait_phase("killed", "Failed")
    state = killed.status.container_statuses[0].state
    assert isinstance(state, Terminated)
    assert (state.reason, state.exit_code) == ("Error", 137)


async def test_killing_the_sandbox_rebuilds_the_pod(
    controller: Controller, docker_host: str
) -> None:
    await controller.start(
        [
            pod(
                "rebuild",
                [
                    container("a", "sh", "-c", IDLE, image=DEMO_IMAGE),
                    container("b", "sh", "-c", IDLE, image=DEMO_IMAGE),
                ],
                grace=2,
            )
        ]
    )
    await controller.wait_running_ready("rebuild")
    sandbox = controller.running("rebuild", "POD")[0]
    docker_cli(docker_host, "kill", sandbox.id)

    def rebuilt() -> bool:
        sandboxes = controller.running("rebuild", "POD")
        if len(sandboxes) != 1 or sandboxes[0].id == sandbox.id:
            return False
        apps = controller.running("rebuild", "a") + controller.running("rebuild", "b")
        return len(apps) == 2 and all(c.identity.sandbox_attempt == 1 for c in apps)

    await eventually(rebuilt, what="pod rebuilt in a new sandbox")
    view = await controller.wait_running_ready("rebuild")
    assert [s.restart_count for s in view.status.container_statuses] == [1, 1]
    a = controller.running("rebuild", "a")[0]
    assert docker_cli(docker_host, "exec", a.id, "hostname").strip() == "rebuild"


async def test_deleting_a_pod_uses_the_grace_period(
    controller: Controller, docker_host: str
) -> None:
    polite = container(
        "polite", "sh", "-c", IDLE, image=DEMO_IMAGE, volume_mounts=(mount("v", "/v"),)
    )
    stubborn = container(
        "stubborn", "sh", "-c", "trap '' TERM; while true; do sleep 1; done", image=DEMO_IMAGE
    )
    await controller.start(
        [pod("leaving", [polite, stubborn], volumes=[scratch_volume("v")], grace=3)]
    )
    await controller.wait_running_ready("leaving")
    ids = [c.id for c in controller.containers("leaving")]
    started = time.monotonic()
    controller.set_pods([])
    await eventually(lambda: not controller.containers("leaving"), timeout=30, what="pod gone")
    took = time.monotonic() - started
    assert 2.5 <= took <= 15, f"deletion took {took:.1f}s with a 3 s grace period"
    for cid in ids:
        assert docker_cli(docker_host, "inspect", cid, check=False).strip() in ("[]", "")

    def volumes_gone() -> bool:  # removed by the same teardown, right after the containers
        listed = docker_cli(
            docker_host, "volume", "ls", "-q", "--filter", "label=io.podyard.pod.name=leaving"
        )
        return listed.strip() == ""

    await eventually(volumes_gone, timeout=10, what="the pod's volume removed")
