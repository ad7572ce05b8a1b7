"""Lifecycle hooks on the fake engine and fake clock: preStop before every stop and within the
grace period, postStart after the start, a failing postStart killed and restarted with backoff."""

from __future__ import annotations

import asyncio
import itertools

from controller.model.lifecycle import Lifecycle, LifecycleHandler, SleepAction
from controller.model.pod import Container
from controller.model.probes import ExecAction, Probe, ProbeResult
from controller.runtime.fake import Command
from tests.engine.conftest import Harness, turns_until
from tests.factories import container, desired, pod

PRE_STOP = ("drain",)
POST_START = ("warm-up",)


def hooked(
    *,
    pre_stop: LifecycleHandler | None = None,
    post_start: LifecycleHandler | None = None,
    **fields: object,
) -> Container:
    return container("app", lifecycle=Lifecycle(post_start=post_start, pre_stop=pre_stop), **fields)


def exec_hook(command: tuple[str, ...]) -> LifecycleHandler:
    return LifecycleHandler(exec=ExecAction(command))


def events(h: Harness, reason: str) -> list[str]:
    return [e.message for e in h.engine.events.list() if e.reason == reason]


def event_count(h: Harness, reason: str) -> int:
    """How often `reason` was recorded (repeats of one message fold into its count)."""
    return sum(e.count for e in h.engine.events.list() if e.reason == reason)


async def delete_and_wait_for_the_stop(h: Harness) -> None:
    """Delete the pod and let the loop run until its stop began (preStop or SIGTERM), so fake
    time moves only once the hook's timers are set."""
    h.engine.set_desired([])
    await turns_until(
        lambda: (
            h.runtime.execs != []
            or any(c.startswith("stop") for c in h.runtime.calls)
            or h.clock.next_timer() is not None
        ),
        "stop began",
    )


async def advance_through(h: Harness, seconds: float) -> None:
    """Move fake time timer by timer while a pod's stop is in progress (a hook, then a grace
    period: work that `settle` cannot wait out), letting the loop run after each; settle at the
    end, when the stops are over."""
    end = h.clock.now() + seconds
    while (due := h.clock.next_timer()) is not None and due <= end:
        h.clock.advance(max(due - h.clock.now(), 0.0))
        for _ in range(200):
            await asyncio.sleep(0)
    h.clock.advance(max(end - h.clock.now(), 0.0))
    await h.settle()


def ran(h: Harness, command: tuple[str, ...]) -> list[float]:
    return [at for at, _name, cmd in h.runtime.execs if cmd == command]


async def test_pre_stop_runs_before_the_stop_when_the_pod_is_deleted(harness: Harness) -> None:
    rt = harness.runtime
    rt.commands[PRE_STOP] = Command(seconds=3)
    await harness.start([desired(pod(containers=[hooked(pre_stop=exec_hook(PRE_STOP))]))])
    (app,) = rt.find("app", running=True)
    t0 = harness.clock.now()

    harness.engine.set_desired([])  # the manifest is gone: the hook comes from the container
    await turns_until(lambda: ran(harness, PRE_STOP) != [], "preStop started")
    assert app.state.value == "running", "SIGTERM waits for the hook"
    await harness.advance(4)
    assert ran(harness, PRE_STOP) == [t0]
    assert app.finished_at == t0 + 3  # stopped as soon as the hook returned
    stops = [i for i, call in enumerate(rt.calls) if call == f"stop {app.id}"]
    hook_call = rt.calls.index("run_probe app")
    assert stops
    assert hook_call < stops[0]
    assert events(harness, "FailedPreStopHook") == []


async def test_the_grace_period_counts_from_the_start_of_pre_stop(harness: Harness) -> None:
    rt = harness.runtime
    rt.ignores_term.add("app")  # the process waits out whatever grace SIGTERM gets
    rt.commands[PRE_STOP] = Command(seconds=20)
    spec = hooked(pre_stop=exec_hook(PRE_STOP))
    await harness.start([desired(pod(containers=[spec], grace=30))])
    (app,) = rt.find("app", running=True)
    t0 = harness.clock.now()
    await delete_and_wait_for_the_stop(harness)
    await advance_through(harness, 40)
    assert app.finished_at == t0 + 30  # 20 s of hook, then SIGTERM with the 10 s left
    assert app.exit_code == 137


async def test_a_pre_stop_that_outlasts_the_grace_period_fails_and_sigterm_gets_two_seconds(
    harness: Harness,
) -> None:
    rt = harness.runtime
    rt.ignores_term.add("app")
    rt.commands[PRE_STOP] = Command(seconds=60)
    await harness.start([desired(pod(containers=[hooked(pre_stop=exec_hook(PRE_STOP))], grace=10))])
    (app,) = rt.find("app", running=True)
    t0 = harness.clock.now()
    await delete_and_wait_for_the_stop(harness)
    await advance_through(harness, 20)
    assert app.finished_at == t0 + 10 + 2  # the kubelet's minimum after a hook used it all
    (failed,) = events(harness, "FailedPreStopHook")
    assert failed.startswith(
        'Exec lifecycle hook ([drain]) for Container "app" in Pod "web_default('
    )
    assert "timed out" in failed


async def test_a_failing_pre_stop_is_an_event_and_the_stop_goes_on(harness: Harness) -> None:
    rt = harness.runtime
    rt.commands[PRE_STOP] = Command(ProbeResult(False, "no queue to drain"))
    await harness.start([desired(pod(containers=[hooked(pre_stop=exec_hook(PRE_STOP))]))])
    (app,) = rt.find("app", running=True)
    await delete_and_wait_for_the_stop(harness)
    await advance_through(harness, 1)
    assert app.exit_code == 143
    (failed,) = events(harness, "FailedPreStopHook")
    assert failed.endswith("failed - error: no queue to drain")


async def test_a_sleep_pre_stop_waits_on_the_clock_then_stops(harness: Harness) -> None:
    rt = harness.runtime
    sleep = LifecycleHandler(sleep=SleepAction(5))
    await harness.start([desired(pod(containers=[hooked(pre_stop=sleep)]))])
    (app,) = rt.find("app", running=True)
    t0 = harness.clock.now()
    await delete_and_wait_for_the_stop(harness)
    await turns_until(lambda: harness.clock.next_timer() == t0 + 5, "sleeping")
    harness.clock.advance(4)
    assert app.finished_at is None
    await advance_through(harness, 2)
    assert app.finished_at == t0 + 5
    assert rt.execs == []  # nothing ran inside the container


async def test_a_liveness_kill_runs_pre_stop_first(harness: Harness) -> None:
    rt = harness.runtime
    rt.commands[("alive?",)] = Command(ProbeResult(False, "dead"))
    spec = hooked(
        pre_stop=exec_hook(PRE_STOP),
        liveness_probe=Probe(exec=ExecAction(("alive?",)), period_seconds=5, failure_threshold=1),
    )
    await harness.start([desired(pod(containers=[spec]))])
    (first,) = rt.find("app", running=True)
    await harness.advance(1)
    assert first.exit_code == 143
    assert ran(harness, PRE_STOP)
    assert ran(harness, PRE_STOP)[0] <= first.finished_at  # type: ignore[operator]


async def test_post_start_runs_after_the_start_and_a_success_leaves_the_container_running(
    harness: Harness,
) -> None:
    rt = harness.runtime
    await harness.start([desired(pod(containers=[hooked(post_start=exec_hook(POST_START))]))])
    (app,) = rt.find("app", running=True)
    assert ran(harness, POST_START) == [app.started_at]
    assert events(harness, "FailedPostStartHook") == []
    assert harness.view().status.container_statuses[0].restart_count == 0


async def test_a_failing_post_start_kills_the_container_and_restarts_it_with_backoff(
    harness: Harness,
) -> None:
    rt = harness.runtime
    rt.commands[POST_START] = Command(ProbeResult(False, "cache not warm"))
    spec = hooked(post_start=exec_hook(POST_START), pre_stop=exec_hook(PRE_STOP))
    await harness.start([desired(pod(containers=[spec]))])
    t0 = harness.clock.now()
    await harness.advance(60)
    starts = ran(harness, POST_START)
    # Each start is killed by its hook; the restarts follow CrashLoopBackOff: the first at once,
    # then 10 s, 20 s, ...
    gaps = [round(b - a) for a, b in itertools.pairwise(starts)]
    assert starts[0] == t0
    assert len(starts) >= 4
    assert gaps[:3] == [0, 10, 20]
    failed = events(harness, "FailedPostStartHook")
    assert event_count(harness, "FailedPostStartHook") == len(starts)
    assert failed[0] == (
        'Exec lifecycle hook ([warm-up]) for Container "app" in Pod '
        f'"web_default({rt.find("app")[0].config.identity.pod.uid})" failed - error: cache not warm'
    )
    assert "Container app failed postStart hook, will be restarted" in events(harness, "Killing")
    assert len(ran(harness, PRE_STOP)) == len(starts)  # the kill runs preStop, as the kubelet's
    status = harness.view().status.container_statuses[0]
    assert status.restart_count == len(starts) - 1
    assert all(r.exit_code == 143 for r in rt.find("app", running=False))


async def test_the_pod_is_not_ready_while_post_start_runs(harness: Harness) -> None:
    rt = harness.runtime
    rt.commands[POST_START] = Command(seconds=5)
    harness.engine.set_desired(
        [desired(pod(containers=[hooked(post_start=exec_hook(POST_START))]))]
    )
    await harness.engine.start()
    await turns_until(lambda: ran(harness, POST_START) != [], "postStart running")
    status = harness.view().status.container_statuses[0]
    assert not status.ready
    assert not status.started
    await advance_through(harness, 6)
    status = harness.view().status.container_statuses[0]
    assert status.ready
    assert status.started
    assert status.restart_count == 0


async def test_a_container_that_ends_during_its_pre_stop_is_no_failed_hook(
    harness: Harness,
) -> None:
    rt = harness.runtime
    rt.commands[PRE_STOP] = Command(ProbeResult(False, "container gone"), seconds=2)
    await harness.start([desired(pod(containers=[hooked(pre_stop=exec_hook(PRE_STOP))]))])
    (app,) = rt.find("app", running=True)
    await delete_and_wait_for_the_stop(harness)
    rt.exit(app.id, 0)  # it finished by itself while its hook ran
    await advance_through(harness, 3)
    assert rt.find("app") == []
    assert event_count(harness, "FailedPreStopHook") == 0


async def test_a_spec_change_runs_the_old_containers_pre_stop(harness: Harness) -> None:
    rt = harness.runtime
    old = hooked(pre_stop=exec_hook(PRE_STOP))
    await harness.start([desired(pod(containers=[old]))])
    (first,) = rt.find("app", running=True)
    new = hooked(pre_stop=exec_hook(PRE_STOP), args=("v2",))
    harness.engine.set_desired([desired(pod(containers=[new]))])
    await turns_until(lambda: first.finished_at is not None, "the old container stopped")
    await harness.settle()
    (by_hook,) = [name for _at, name, cmd in rt.execs if cmd == PRE_STOP]
    assert by_hook == "app"
    assert rt.calls.index("run_probe app") < rt.calls.index(f"stop {first.id}")
    (second,) = rt.find("app", running=True)
    assert second.config.command == ("v2",)


async def test_a_long_pre_stop_holds_back_only_its_own_pod(harness: Harness) -> None:
    rt = harness.runtime
    rt.commands[PRE_STOP] = Command(seconds=60)
    slow = pod("slow", [hooked(pre_stop=exec_hook(PRE_STOP))], grace=90)
    await harness.start([desired(slow)])
    other = pod("other", [container("worker")])
    harness.engine.set_desired([desired(other)])  # slow is deleted: its hook takes 60 s
    await turns_until(lambda: ran(harness, PRE_STOP) != [], "preStop running")
    await turns_until(lambda: len(rt.find("worker", running=True)) == 1, "the other pod running")
    (app,) = rt.find("app")
    assert app.finished_at is None  # still in its preStop
    await advance_through(harness, 61)
    assert rt.find("app") == []
