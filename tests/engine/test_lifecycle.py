"""The pod lifecycle against the fake engine: creation, restart policy, backoff, rebuild, deletion."""

from __future__ import annotations

import pytest

from controller.model.observed import RunState
from controller.model.plan import ContainerConfig
from controller.model.pod import RestartPolicy
from controller.model.status import PodPhase, Running, Terminated, Waiting
from controller.runtime.fake import Exit
from tests.engine.conftest import Harness
from tests.factories import container, desired, mount, pod, scratch_volume


async def test_pod_is_created_as_sandbox_plus_containers(harness: Harness) -> None:
    p = pod(containers=[container("a"), container("b")])
    await harness.start([desired(p)])
    rt = harness.runtime
    assert len(rt.find("POD", running=True)) == 1
    assert len(rt.find("a", running=True)) == 1
    assert len(rt.find("b", running=True)) == 1
    sandbox = rt.find("POD")[0]
    for name in ("a", "b"):
        assert rt.find(name)[0].config.join_sandbox == sandbox.config.docker_name
    view = harness.view()
    assert view.status.phase is PodPhase.RUNNING
    assert all(isinstance(s.state, Running) and s.ready for s in view.status.container_statuses)
    assert view.status.pod_ip == sandbox.ip


def _fail_then_succeed_then_run(config: ContainerConfig) -> Exit | None:
    """The node e2e test's container: exits 1, then 0, then runs forever."""
    if config.identity.container_name == "POD":
        return None
    return {0: Exit(1.0, 1), 1: Exit(1.0, 0)}.get(config.identity.attempt)


@pytest.mark.parametrize(
    ("policy", "phase", "restarts"),
    [
        (RestartPolicy.ALWAYS, PodPhase.RUNNING, 2),
        (RestartPolicy.ON_FAILURE, PodPhase.SUCCEEDED, 1),
        (RestartPolicy.NEVER, PodPhase.FAILED, 0),
    ],
    ids=["Always", "OnFailure", "Never"],
)
async def test_restart_policy_truth_table(
    harness: Harness, policy: RestartPolicy, phase: PodPhase, restarts: int
) -> None:
    harness.runtime.behaviour = _fail_then_succeed_then_run
    await harness.start([desired(pod(restart_policy=policy))])
    await harness.advance(60)
    status = harness.view().status
    assert status.phase is phase
    assert status.container_statuses[0].restart_count == restarts
    if phase is not PodPhase.RUNNING:
        assert harness.runtime.find("POD", running=True) == []  # finished pods release the sandbox


async def test_crash_loop_backoff_doubles_to_cap(harness: Harness) -> None:
    harness.runtime.behaviour = lambda c: None if c.identity.container_name == "POD" else Exit(1, 1)
    await harness.start([desired(pod())])
    await harness.advance(2500)
    lineage = harness.runtime.find("app")
    # kept: the running/latest one and its dead predecessor; the delays are on their labels
    delays = [r.config.identity.backoff_seconds for r in lineage]
    assert lineage[-1].config.identity.attempt >= 10
    assert delays[-1] == 300.0
    # reconstruct the whole sequence from the calls log: each start's delay after the finish
    starts = [c for c in harness.runtime.calls if c.startswith("create podyard_app_")]
    assert len(starts) == lineage[-1].config.identity.attempt + 1


async def test_crash_loop_delays_and_waiting_reason(harness: Harness) -> None:
    harness.runtime.behaviour = lambda c: None if c.identity.container_name == "POD" else Exit(1, 1)
    await harness.start([desired(pod())])

    def attempt_record(n: int):  # type: ignore[no-untyped-def]
        found = [r for r in harness.runtime.find("app") if r.config.identity.attempt == n]
        return found[0] if found else None

    expected = [0, 10, 20, 40, 80, 160, 300, 300]
    for attempt, delay in enumerate(expected):
        running = attempt_record(attempt)
        assert running is not None
        assert running.state is RunState.RUNNING
        await harness.advance(1)  # the container runs 1 s, then dies
        assert running.state is RunState.EXITED
        if delay:
            state = harness.view().status.container_statuses[0].state
            assert isinstance(state, Waiting)
            assert state.reason == "CrashLoopBackOff"
            await harness.advance(delay - 0.5)
            assert attempt_record(attempt + 1) is None, "restarted too early"
            await harness.advance(0.5)
        successor = attempt_record(attempt + 1)
        assert successor is not None
        assert successor.started_at == pytest.approx(running.finished_at + delay)
        assert successor.config.identity.backoff_seconds == delay


async def test_backoff_resets_after_ten_minutes_of_running(harness: Harness) -> None:
    def behaviour(c: ContainerConfig) -> Exit | None:
        if c.identity.container_name == "POD":
            return None
        return Exit(700, 1) if c.identity.attempt == 3 else Exit(1, 1)

    harness.runtime.behaviour = behaviour
    await harness.start([desired(pod())])
    await harness.advance(1 + 0 + 1 + 10 + 1 + 20 + 700)  # attempt 3 ran for 700 s
    newest = harness.runtime.find("app")[-1]
    assert newest.config.identity.attempt == 4
    assert newest.config.identity.backoff_seconds == 0


async def test_oom_kill_is_reported_only_from_the_engine_flag(harness: Harness) -> None:
    harness.runtime.behaviour = lambda c: (
        None if c.identity.container_name == "POD" else Exit(1, 137, oom=c.identity.attempt == 0)
    )
    await harness.start([desired(pod(restart_policy=RestartPolicy.NEVER))])
    await harness.advance(2)
    state = harness.view().status.container_statuses[0].state
    assert isinstance(state, Terminated)
    assert (state.reason, state.exit_code) == ("OOMKilled", 137)

    harness2 = Harness()
    harness2.runtime.behaviour = lambda c: (
        None if c.identity.container_name == "POD" else Exit(1, 137)
    )
    await harness2.start([desired(pod(restart_policy=RestartPolicy.NEVER))])
    await harness2.advance(2)
    state = harness2.view().status.container_statuses[0].state
    assert isinstance(state, Terminated)
    assert (state.reason, state.exit_code) == ("Error", 137)
    await harness2.engine.stop()


async def test_sandbox_death_rebuilds_the_whole_pod(harness: Harness) -> None:
    p = pod(containers=[container("a"), container("b")])
    await harness.start([desired(p)])
    rt = harness.runtime
    old_sandbox = rt.find("POD")[0]
    rt.exit(old_sandbox.id, 137)
    await harness.settle()
    sandboxes = rt.find("POD", running=True)
    assert len(sandboxes) == 1
    assert sandboxes[0].id != old_sandbox.id
    assert sandboxes[0].config.identity.attempt == 1
    for name in ("a", "b"):
        running = rt.find(name, running=True)
        assert len(running) == 1
        assert running[0].config.join_sandbox == sandboxes[0].config.docker_name
        assert running[0].config.identity.attempt == 1
    assert harness.view().status.phase is PodPhase.RUNNING


async def test_created_but_unstarted_containers_are_started_not_duplicated(
    harness: Harness,
) -> None:
    """A controller killed between create and start leaves 'created' containers behind."""
    p = desired(pod(containers=[container("a")]))
    await harness.start([p])
    rt = harness.runtime
    app = rt.find("a")[0]
    app.state = RunState.CREATED  # as if the start never happened
    app.started_at = None
    await harness.restart_controller()
    assert [r.id for r in rt.find("a")] == [app.id]
    assert app.state is RunState.RUNNING


async def test_controller_restart_changes_nothing_that_runs(harness: Harness) -> None:
    await harness.start([desired(pod(containers=[container("a"), container("b")]))])
    ids = {r.id for r in harness.runtime.containers.values()}
    harness.runtime.calls.clear()
    await harness.restart_controller()
    assert {r.id for r in harness.runtime.containers.values()} == ids
    mutating = [
        c for c in harness.runtime.calls if c.split()[0] in {"create", "start", "stop", "remove"}
    ]
    assert mutating == []


async def test_controller_restart_keeps_the_backoff(harness: Harness) -> None:
    harness.runtime.behaviour = lambda c: None if c.identity.container_name == "POD" else Exit(1, 1)
    await harness.start([desired(pod())])
    await harness.advance(1 + 1 + 10 + 1 + 20 + 1)  # attempt 3 just died: the next delay is 40 s
    dead = harness.runtime.find("app")[-1]
    assert dead.config.identity.attempt == 3
    assert dead.state is RunState.EXITED
    await harness.advance(5)
    await harness.restart_controller()
    await harness.advance(30)
    assert harness.runtime.find("app")[-1].id == dead.id, "backoff was reset by the restart"
    await harness.advance(5)
    newest = harness.runtime.find("app")[-1]
    assert newest.config.identity.attempt == 4
    assert newest.started_at == pytest.approx(dead.finished_at + 40)


async def test_deleting_a_pod_stops_with_grace_then_removes_everything(harness: Harness) -> None:
    p = pod(
        containers=[container("a", volume_mounts=(mount(),))], volumes=[scratch_volume()], grace=7
    )
    await harness.start([desired(p)])
    assert harness.runtime.volumes
    harness.runtime.calls.clear()
    harness.engine.set_desired([])
    await harness.settle()
    assert harness.runtime.containers == {}
    assert harness.runtime.volumes == {}
    stops = [c for c in harness.runtime.calls if c.startswith("stop")]
    removes = [c for c in harness.runtime.calls if c.startswith("remove ")]
    assert len(stops) == 2
    assert len(removes) == 2
    assert harness.runtime.calls.index(stops[-1]) < harness.runtime.calls.index(removes[0])


async def test_edited_spec_replaces_the_pod_with_a_new_uid(harness: Harness) -> None:
    await harness.start([desired(pod(containers=[container("a")]))])
    old_uid = harness.view().ref
    harness.engine.set_desired([desired(pod(containers=[container("a", "sh", "-c", "sleep 9")]))])
    await harness.settle()
    view = harness.view()
    assert view.ref is not None
    assert old_uid is not None
    assert view.ref.uid != old_uid.uid
    assert len(harness.runtime.containers) == 2
    assert {r.config.identity.pod.uid for r in harness.runtime.containers.values()} == {
        view.ref.uid
    }


async def test_foreign_containers_are_never_touched(harness: Harness) -> None:
    foreign = harness.runtime.add_foreign("someone-elses-db")
    await harness.start([desired(pod())])
    harness.engine.set_desired([])
    await harness.settle()
    assert foreign in harness.runtime.foreign
    assert not any(foreign in call for call in harness.runtime.calls)


async def test_image_pull_failure_backs_off_then_recovers(harness: Harness) -> None:
    p = pod(containers=[container("a", image="localhost:5999/missing:1")])
    await harness.start([desired(p)])
    state = harness.view().status.container_statuses[0].state
    assert isinstance(state, Waiting)
    assert state.reason == "ErrImagePull"
    pulls = lambda: sum(c == "ensure_image localhost:5999/missing:1" for c in harness.runtime.calls)  # noqa: E731
    assert pulls() == 1
    await harness.advance(5)
    state = harness.view().status.container_statuses[0].state
    assert isinstance(state, Waiting)
    assert state.reason == "ImagePullBackOff"
    assert pulls() == 1
    await harness.advance(5)
    assert pulls() == 2  # retried after 10 s, failed again: next wait 20 s
    harness.runtime.pullable.add("localhost:5999/missing:1")
    await harness.advance(19)
    assert pulls() == 2
    await harness.advance(1)
    assert harness.view().status.phase is PodPhase.RUNNING


async def test_start_failure_is_container_cannot_run(harness: Harness) -> None:
    harness.runtime.missing_commands.add("nope")
    p = pod(containers=[container("a", "nope")], restart_policy=RestartPolicy.NEVER)
    await harness.start([desired(p)])
    view = harness.view()
    state = view.status.container_statuses[0].state
    assert isinstance(state, Terminated)
    assert state.reason == "ContainerCannotRun"
    assert view.status.phase is PodPhase.FAILED


async def test_duplicate_sandboxes_are_reduced_to_one(harness: Harness) -> None:
    """Two controllers racing (or a crash mid-create) may leave two sandboxes of one uid."""
    await harness.start([desired(pod())])
    rt = harness.runtime
    sandbox = rt.find("POD")[0]
    import attrs

    twin_config = attrs.evolve(
        sandbox.config,
        docker_name=sandbox.config.docker_name.replace("_0", "_9"),
        identity=attrs.evolve(sandbox.config.identity, attempt=0),
    )
    twin = await rt.create_container(twin_config)
    await rt.start_container(twin)
    await harness.settle()
    assert len(rt.find("POD", running=True)) == 1


async def test_refused_configuration_is_create_container_config_error(harness: Harness) -> None:
    harness.runtime.refused_configs.add("a")
    await harness.start([desired(pod(containers=[container("a")]))])
    state = harness.view().status.container_statuses[0].state
    assert isinstance(state, Waiting)
    assert state.reason == "CreateContainerConfigError"
    creates = lambda: sum(c.startswith("create podyard_a_") for c in harness.runtime.calls)  # noqa: E731
    assert creates() == 1
    await harness.advance(9)
    assert creates() == 1  # paced like ImagePullBackOff, never a hot loop
    harness.runtime.refused_configs.clear()
    await harness.advance(1)
    assert harness.view().status.phase is PodPhase.RUNNING


async def test_a_node_down_at_start_gets_pods_once_it_answers(harness: Harness) -> None:
    harness.runtime.down = True
    await harness.start([desired(pod())])
    assert harness.engine.nodes.ready() == ()
    assert harness.runtime.containers == {}
    harness.runtime.down = False
    watcher = harness.engine.watchers[0]
    assert watcher.prepared is False
    assert await harness.engine._prepare_node(watcher)
    await watcher.relist()
    await harness.settle()
    assert harness.view().status.phase is PodPhase.RUNNING


async def test_the_sandbox_carries_the_pod_manifest(harness: Harness) -> None:
    import attrs

    p = attrs.evolve(desired(pod()), manifest='{"kind":"Pod"}')
    await harness.start([p])
    [sandbox] = harness.runtime.find("POD")
    observed = await harness.runtime.inspect_container(sandbox.id)
    assert observed is not None
    assert observed.manifest == '{"kind":"Pod"}'


async def test_a_pod_is_restored_from_its_sandbox_manifest(harness: Harness) -> None:
    from controller.engine.podfactory import desired_from_pod, restore_from_sandbox

    original = desired_from_pod(
        pod(containers=[container("a"), container("b")]), owner="Tester/web", source="web.yaml"
    )
    await harness.start([])
    harness.engine.desired.put(original)
    harness.engine.queue.add(original.key)
    await harness.settle()
    [sandbox] = [c for c in harness.engine.cache.containers_for(original.key) if c.is_sandbox]
    restored = restore_from_sandbox(sandbox)
    assert restored is not None
    assert restored.pod == original.pod
    assert restored.spec_hash == original.spec_hash
    assert restored.owner == "Tester/web"
    assert restored.source == "web.yaml"  # a sandbox rebuilt later keeps its source label
