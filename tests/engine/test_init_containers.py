"""Init containers and native sidecars against the fake engine: order, backoff, Never, sidecar
restarts and teardown order, Succeeded beside a sidecar, a rebuilt sandbox running init again,
and the statuses and kubectl texts on the way."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from controller.api.tables import pod_row, pod_status_text
from controller.model.observed import ContainerRole, RunState
from controller.model.plan import ContainerConfig
from controller.model.pod import Container, Pod, RestartPolicy
from controller.model.probes import ExecAction, Probe, ProbeResult
from controller.model.status import ConditionType, PodPhase, Running, Terminated
from controller.runtime.fake import Exit
from controller.serde.unstructure import pod_view_to_k8s
from tests.engine.conftest import Harness
from tests.factories import container, desired, pod

SIDECAR = RestartPolicy.ALWAYS


def with_init(p: Pod, *inits: Container) -> Pod:
    return attrs.evolve(p, spec=attrs.evolve(p.spec, init_containers=inits))


def scripted(
    ends: Mapping[str, Callable[[int], Exit | None]],
) -> Callable[[ContainerConfig], Exit | None]:
    """Per container name, the end of each attempt; others run forever."""

    def behaviour(config: ContainerConfig) -> Exit | None:
        end = ends.get(config.identity.container_name)
        return end(config.identity.attempt) if end else None

    return behaviour


def text(h: Harness) -> str:
    return pod_status_text(pod_view_to_k8s(h.view()))


def initialized(h: Harness) -> bool:
    return next(c.status for c in h.view().status.conditions if c.type is ConditionType.INITIALIZED)


async def test_init_containers_run_one_at_a_time_in_order_before_the_app(harness: Harness) -> None:
    h = harness
    h.runtime.behaviour = scripted({"one": lambda _: Exit(2, 0), "two": lambda _: Exit(3, 0)})
    p = with_init(pod(), container("one"), container("two"))
    await h.start([desired(p)])
    assert [r.state for r in h.runtime.find("one")] == [RunState.RUNNING]
    assert h.runtime.find("two") == []
    assert h.runtime.find("app") == []
    assert text(h) == "Init:0/2"
    assert h.view().status.phase is PodPhase.PENDING
    assert not initialized(h)
    assert h.view().status.init_container_statuses[1].state.reason == "PodInitializing"  # type: ignore[union-attr]
    await h.advance(2)
    assert h.runtime.find("two", running=True)
    assert h.runtime.find("app") == []
    assert text(h) == "Init:1/2"
    await h.advance(3)
    one, two, app = h.runtime.find("one")[0], h.runtime.find("two")[0], h.runtime.find("app")[0]
    assert app.state is RunState.RUNNING
    assert one.finished_at is not None
    assert two.started_at is not None
    assert one.finished_at <= two.started_at
    assert two.finished_at is not None
    assert app.started_at is not None
    assert two.finished_at <= app.started_at
    assert app.config.identity.role is ContainerRole.APP
    assert one.config.identity.role is ContainerRole.INIT
    status = h.view().status
    assert status.phase is PodPhase.RUNNING
    assert initialized(h)
    assert all(isinstance(s.state, Terminated) for s in status.init_container_statuses)
    assert text(h) == "Running"
    await h.advance(3600)  # finished init containers are the proof: kept, never rerun
    assert [r.config.identity.attempt for r in h.runtime.find("one")] == [0]


async def test_a_failing_init_container_backs_off_and_holds_the_app(harness: Harness) -> None:
    h = harness
    h.runtime.behaviour = scripted({"setup": lambda n: Exit(1, 1) if n < 3 else Exit(1, 0)})
    await h.start([desired(with_init(pod(), container("setup")))])
    await h.advance(1)  # the first restart is at once
    assert text(h) == "Init:0/1"
    await h.advance(1.5)
    assert text(h) == "Init:CrashLoopBackOff"
    assert h.view().status.phase is PodPhase.PENDING
    assert h.runtime.find("app") == []
    await h.advance(120)
    setup = h.runtime.find("setup")[-1]
    assert setup.config.identity.attempt == 3
    assert [r.config.identity.backoff_seconds for r in h.runtime.find("setup")][-1] == 20.0
    assert h.runtime.find("app", running=True)
    assert h.view().status.init_container_statuses[0].restart_count == 3


async def test_a_failed_init_container_under_never_fails_the_pod(harness: Harness) -> None:
    h = harness
    h.runtime.behaviour = scripted({"setup": lambda _: Exit(1, 3)})
    p = with_init(pod(restart_policy=RestartPolicy.NEVER), container("setup"), container("later"))
    await h.start([desired(p)])
    await h.advance(30)
    status = h.view().status
    assert status.phase is PodPhase.FAILED
    assert h.runtime.find("app") == []
    assert h.runtime.find("later") == []
    assert [r.config.identity.attempt for r in h.runtime.find("setup")] == [0]
    assert text(h) == "Init:Error"
    assert h.runtime.find("POD", running=True) == []


async def test_a_sidecar_starts_before_the_app_and_restarts_whatever_the_policy(
    harness: Harness,
) -> None:
    h = harness
    h.runtime.behaviour = scripted({"shipper": lambda n: Exit(5, 1) if n < 2 else None})
    p = with_init(
        pod(restart_policy=RestartPolicy.NEVER), container("shipper", restart_policy=SIDECAR)
    )
    await h.start([desired(p)])
    shipper, app = h.runtime.find("shipper")[0], h.runtime.find("app")[0]
    assert shipper.config.identity.role is ContainerRole.SIDECAR
    assert shipper.started_at is not None
    assert app.started_at is not None
    assert shipper.started_at <= app.started_at
    row = pod_row(pod_view_to_k8s(h.view()), h.clock.now())
    assert row[1:3] == ["2/2", "Running"]
    await h.advance(60)
    assert h.runtime.find("shipper")[-1].config.identity.attempt == 2
    assert h.runtime.find("shipper", running=True)
    assert [r.config.identity.attempt for r in h.runtime.find("app")] == [0]


async def test_a_job_like_pod_succeeds_though_its_sidecar_runs_forever(harness: Harness) -> None:
    h = harness
    h.runtime.behaviour = scripted({"app": lambda _: Exit(3, 0)})
    p = with_init(
        pod(restart_policy=RestartPolicy.ON_FAILURE), container("shipper", restart_policy=SIDECAR)
    )
    await h.start([desired(p)])
    await h.advance(10)
    status = h.view().status
    assert status.phase is PodPhase.SUCCEEDED
    assert h.runtime.find("shipper", running=True) == []
    assert h.runtime.find("POD", running=True) == []
    assert isinstance(status.init_container_statuses[0].state, Terminated)
    assert text(h) == "Completed"


async def test_deleting_stops_the_app_first_then_sidecars_in_reverse_order(
    harness: Harness,
) -> None:
    h = harness
    p = with_init(
        pod(),
        container("first", restart_policy=SIDECAR),
        container("second", restart_policy=SIDECAR),
    )
    await h.start([desired(p)])
    names = {
        str(r.id): name for name in ("first", "second", "app", "POD") for r in h.runtime.find(name)
    }
    h.runtime.calls.clear()
    h.engine.set_desired([])
    await h.settle()
    stopped = [names[c.split()[1]] for c in h.runtime.calls if c.startswith("stop ")]
    assert stopped == ["app", "second", "first", "POD"]
    assert h.runtime.containers == {}


async def test_a_rebuilt_sandbox_runs_init_again_before_the_app(harness: Harness) -> None:
    h = harness
    h.runtime.behaviour = scripted({"setup": lambda _: Exit(1, 0)})
    await h.start([desired(with_init(pod(), container("setup")))])
    await h.advance(2)
    assert h.runtime.find("app", running=True)
    h.runtime.exit(h.runtime.find("POD")[0].id, 137)
    await h.settle()
    await h.advance(1)  # init again (1 s), then the app at once: no backoff for a rebuild
    sandbox = h.runtime.find("POD", running=True)[0]
    setups = [r for r in h.runtime.find("setup") if r.config.identity.sandbox_attempt == 1]
    apps = [r for r in h.runtime.find("app") if r.config.identity.sandbox_attempt == 1]
    assert sandbox.config.identity.attempt == 1
    assert len(setups) == 1
    assert len(apps) == 1
    assert setups[0].finished_at is not None
    assert apps[0].started_at is not None
    assert setups[0].finished_at <= apps[0].started_at
    assert isinstance(h.view().status.container_statuses[0].state, Running)


async def test_the_app_waits_for_the_sidecars_startup_probe(harness: Harness) -> None:
    h = harness
    answer = {"ok": False}
    h.runtime.probe_results[("shipper", "exec")] = lambda _: ProbeResult(answer["ok"], "not yet")
    startup = Probe(exec=ExecAction(("check",)), period_seconds=2, failure_threshold=100)
    p = with_init(pod(), container("shipper", restart_policy=SIDECAR, startup_probe=startup))
    await h.start([desired(p)])
    await h.advance(10)
    assert h.runtime.find("shipper", running=True)
    assert h.runtime.find("app") == []
    assert text(h) == "Init:0/1"
    answer["ok"] = True
    await h.advance(2)
    assert h.runtime.find("app", running=True)
    status = h.view().status.init_container_statuses[0]
    assert status.started
    assert initialized(h)
