"""Probes on the fake engine and fake clock: timing, thresholds, gating, kills and readiness."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from controller.model.pod import RestartPolicy
from controller.model.probes import ExecAction, Probe, ProbeAction, ProbeKind, ProbeResult
from controller.model.status import PodPhase, Running
from tests.engine.conftest import Harness
from tests.engine.test_replicaset_engine import replicaset, start
from tests.factories import container, desired, pod

CHECK = ExecAction(("check",))


def probe(**fields: int) -> Probe:
    return Probe(exec=CHECK, **fields)


def script(h: Harness, kind: str, results: Callable[[], bool]) -> list[float]:
    """Make container `app`'s exec probes answer `results()`; returns the times they ran."""
    ran: list[float] = []

    def answer(action: ProbeAction) -> ProbeResult:
        ran.append(h.clock.now())
        ok = results()
        return ProbeResult(ok, "" if ok else f"{kind} says no")

    h.runtime.probe_results[("app", "exec")] = answer
    return ran


def events(h: Harness, reason: str) -> list[str]:
    return [e.message for e in h.engine.events.list() if e.reason == reason]


async def test_readiness_starts_false_and_follows_the_probe(harness: Harness) -> None:
    answer = {"ok": True}
    ran = script(harness, "readiness", lambda: answer["ok"])
    t0 = harness.clock.now()
    spec = container("app", readiness_probe=probe(initial_delay_seconds=5, period_seconds=10))
    await harness.start([desired(pod(containers=[spec]))])
    status = harness.view().status.container_statuses[0]
    assert isinstance(status.state, Running)
    assert not status.ready  # no verdict yet: a readiness probe starts out failing
    await harness.advance(5)
    assert ran == [t0 + 5]  # first run after the initial delay
    assert harness.view().status.container_statuses[0].ready
    assert harness.view().status.conditions[-1].status
    answer["ok"] = False
    await harness.advance(20)
    assert harness.view().status.container_statuses[0].ready  # 2 failures < threshold 3
    await harness.advance(10)
    view = harness.view()
    assert not view.status.container_statuses[0].ready
    assert view.status.phase is PodPhase.RUNNING
    assert view.status.container_statuses[0].restart_count == 0  # readiness never restarts
    assert ran == [t0 + 5, t0 + 15, t0 + 25, t0 + 35]
    assert events(harness, "Unhealthy") == ["Readiness probe failed: readiness says no"]
    unhealthy = [e for e in harness.engine.events.list() if e.reason == "Unhealthy"]
    assert unhealthy[0].count == 3  # one event per failed run, aggregated
    assert harness.metrics.probes.get(ProbeKind.READINESS, "failed") == 3
    assert harness.metrics.probes.get(ProbeKind.READINESS, "successful") == 1


async def test_a_failing_liveness_probe_restarts_the_container(harness: Harness) -> None:
    script(harness, "liveness", lambda: False)
    spec = container("app", liveness_probe=probe(period_seconds=5, failure_threshold=2))
    await harness.start([desired(pod(containers=[spec]))])
    first = harness.runtime.find("app", running=True)[0].id
    await harness.advance(5)  # runs at 0 and 5: the second failure reaches the threshold
    assert events(harness, "Killing") == ["Container app failed liveness probe, will be restarted"]
    await harness.advance(1)
    status = harness.view().status.container_statuses[0]
    assert status.restart_count == 1  # restarted by the restart policy, as after a crash
    assert harness.runtime.find("app", running=True)[0].id != first
    assert harness.runtime.containers[first].exit_code == 143


async def test_a_startup_probe_holds_the_others_back_until_it_passes(harness: Harness) -> None:
    calls: list[tuple[str, float]] = []
    started = {"ok": False}

    def answer(action: ProbeAction) -> ProbeResult:
        kind = "startup" if action == ExecAction(("starting",)) else "other"
        calls.append((kind, harness.clock.now()))
        return ProbeResult(started["ok"] or kind == "other")

    harness.runtime.probe_results[("app", "exec")] = answer
    t0 = harness.clock.now()
    spec = container(
        "app",
        startup_probe=Probe(exec=ExecAction(("starting",)), period_seconds=2, failure_threshold=10),
        readiness_probe=probe(period_seconds=3),
        liveness_probe=probe(period_seconds=3),
    )
    await harness.start([desired(pod(containers=[spec]))])
    await harness.advance(5)
    assert {kind for kind, _ in calls} == {"startup"}  # liveness and readiness wait
    status = harness.view().status.container_statuses[0]
    assert status.started is False
    assert not status.ready
    started["ok"] = True
    await harness.advance(2)  # the startup run at t0+6 passes
    await harness.advance(6)
    startup_runs = [t for kind, t in calls if kind == "startup"]
    assert startup_runs == [t0, t0 + 2, t0 + 4, t0 + 6]  # and then stops
    assert [t for kind, t in calls if kind == "other"]  # the others run now
    status = harness.view().status.container_statuses[0]
    assert status.started is True
    assert status.ready


async def test_a_startup_probe_that_never_passes_kills_the_container(harness: Harness) -> None:
    script(harness, "startup", lambda: False)
    spec = container("app", startup_probe=probe(period_seconds=1, failure_threshold=3))
    await harness.start([desired(pod(containers=[spec]))])
    await harness.advance(2.5)
    assert events(harness, "Killing") == ["Container app failed startup probe, will be restarted"]


async def test_a_replicaset_counts_only_ready_pods(harness: Harness) -> None:
    answer = {"ok": False}
    ran = script(harness, "readiness", lambda: answer["ok"])
    rs = replicaset(replicas=2)
    template = rs.spec.template
    ready_spec = container("app", readiness_probe=probe(period_seconds=2))
    pod_spec = attrs.evolve(template.spec, containers=(ready_spec,))
    rs = attrs.evolve(
        rs, spec=attrs.evolve(rs.spec, template=attrs.evolve(template, spec=pod_spec))
    )
    await start(harness, rs)
    await harness.advance(4)
    assert ran  # probed
    [view] = harness.engine.replicasets.views()
    assert view.status.ready_replicas == 0
    answer["ok"] = True
    await harness.advance(2)
    [view] = harness.engine.replicasets.views()
    assert view.status.ready_replicas == 2


async def test_an_unreachable_engine_gives_no_verdict(harness: Harness) -> None:
    script(harness, "liveness", lambda: False)
    spec = container("app", liveness_probe=probe(period_seconds=5, failure_threshold=1))
    harness.runtime.probe_results.clear()
    await harness.start([desired(pod(containers=[spec]))])
    harness.runtime.down = True
    await harness.advance(11)
    assert events(harness, "Killing") == []
    assert harness.metrics.probes.get(ProbeKind.LIVENESS, "unknown") >= 1


async def test_a_liveness_kill_under_restart_policy_never_fails_the_pod(harness: Harness) -> None:
    script(harness, "liveness", lambda: False)
    spec = container("app", liveness_probe=probe(period_seconds=1, failure_threshold=1))
    await harness.start([desired(pod(containers=[spec], restart_policy=RestartPolicy.NEVER))])
    await harness.advance(3)
    status = harness.view().status
    assert status.phase is PodPhase.FAILED  # killed, and Never means it stays down
    assert status.container_statuses[0].restart_count == 0
    assert len(events(harness, "Killing")) == 1


async def test_a_restarted_controller_probes_the_running_containers_again(
    harness: Harness,
) -> None:
    ran = script(harness, "readiness", lambda: True)
    spec = container("app", readiness_probe=probe(period_seconds=10))
    await harness.start([desired(pod(containers=[spec]))])
    await harness.advance(1)
    assert harness.view().status.container_statuses[0].ready
    harness.clock.advance(3)
    await harness.restart_controller()
    runs_before = len(ran)
    await harness.advance(10)
    assert len(ran) > runs_before  # the new controller's prober took the container over
    assert harness.view().status.container_statuses[0].ready
    assert harness.view().status.container_statuses[0].restart_count == 0
