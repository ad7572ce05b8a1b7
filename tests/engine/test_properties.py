"""Property tests: random crashes, sandbox deaths and sandbox start failures, engine outages,
failed relists, time jumps and controller restarts.

Whatever happens, a pod never has two live sandboxes or two live copies of a container, live
containers always share the live sandbox, restart counts never go down, strangers' containers are
never touched, the containers left on the engine stay bounded (garbage collection: at most one
dead container per pod container plus the last dead sandbox), a relist that failed never leads to
stopping or removing anything, and once failures stop the pod converges (Always: everything runs),
deciding again yields an empty plan and a second reconcile changes nothing on the engine.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.decide.pods import compute_pod_plan
from controller.model.observed import RunState
from controller.model.pod import ContainerPort, RestartPolicy
from tests.engine.conftest import Harness
from tests.factories import container, desired, pod

Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("crash"), st.integers(0, 2)),
        st.tuples(st.just("oom"), st.integers(0, 2)),
        st.tuples(st.just("kill_sandbox"), st.just(0)),
        st.tuples(st.just("advance"), st.integers(0, 400)),
        st.tuples(st.just("restart_controller"), st.just(0)),
        st.tuples(st.just("sandbox_faults"), st.integers(1, 4)),
        st.tuples(st.just("outage"), st.integers(0, 60)),
        st.tuples(st.just("relist_fails"), st.just(0)),
    ),
    max_size=25,
)

MUTATING = frozenset({"create", "start", "stop", "remove", "ensure_volume", "remove_volume"})


def _check_invariants(h: Harness, foreign: str, restarts: dict[str, int], names: int) -> None:
    records = list(h.runtime.containers.values())
    live = [r for r in records if r.state is RunState.RUNNING]
    dead = len(records) - len(live)
    pods = 1
    assert dead <= pods * (names + 1) + pods, records  # the bound the design promises
    assert dead <= pods * (names + 1), records  # what garbage collection actually keeps
    assert len(records) <= pods * (1 + 2 * names), records
    per_uid_name = Counter(
        (r.config.identity.pod.uid, r.config.identity.container_name) for r in live
    )
    assert all(n == 1 for n in per_uid_name.values()), per_uid_name
    sandboxes = [r for r in live if r.config.identity.container_name == "POD"]
    assert len({r.config.identity.pod.uid for r in live}) <= 1
    for r in live:
        if r.config.join_sandbox is not None:
            assert sandboxes
            assert r.config.join_sandbox == sandboxes[0].config.docker_name
    assert not any(foreign in call for call in h.runtime.calls)
    for status in h.view().status.container_statuses:
        assert status.restart_count >= restarts.get(status.name, 0)
        restarts[status.name] = status.restart_count


async def _scenario(policy: RestartPolicy, names: int, plan: list[Step]) -> None:
    h = Harness()
    foreign = h.runtime.add_foreign("stranger")
    port = (ContainerPort(80, host_port=18080),)  # the sandbox binds a host port: exercise that too
    containers = [container(f"c{i}", ports=port if i == 0 else ()) for i in range(names)]
    p = desired(pod(containers=containers, restart_policy=policy))
    restarts: dict[str, int] = {}
    try:
        await h.start([p])
        for action, arg in plan:
            if action in ("crash", "oom"):
                apps = list(h.runtime.find(f"c{arg % names}", running=True))
                for r in apps:
                    h.runtime.exit(r.id, 0 if arg == 2 else 1, oom=action == "oom")
                await h.settle()
            elif action == "kill_sandbox":
                for r in h.runtime.find("POD", running=True):
                    h.runtime.exit(r.id, 137)
                await h.settle()
            elif action == "advance":
                await h.advance(arg)
            elif action == "sandbox_faults":
                h.runtime.sandbox_start_failures = arg
                for r in h.runtime.find("POD", running=True):
                    h.runtime.exit(r.id, 137)
                await h.settle()
            elif action == "outage":
                await _outage(h, arg)
            elif action == "relist_fails":
                await _failed_relist(h)
            else:
                await h.restart_controller()
            _check_invariants(h, foreign, restarts, names)
        h.runtime.sandbox_start_failures = 0
        await h.advance(700)  # beyond the largest backoff: whatever may restart has
        _check_invariants(h, foreign, restarts, names)
        final = compute_pod_plan(h.engine.reconciler.inputs(h.key()))
        assert final.empty, final
        h.runtime.calls.clear()
        await h.engine.reconciler.reconcile(h.key())
        assert not [c for c in h.runtime.calls if c.split(" ", 1)[0] in MUTATING]
        if policy is RestartPolicy.ALWAYS:
            for i in range(names):
                assert len(h.runtime.find(f"c{i}", running=True)) == 1
            assert len(h.runtime.find("POD", running=True)) == 1
    finally:
        await h.engine.stop()


async def _outage(h: Harness, seconds: int) -> None:
    """Every engine call fails for a while; nothing may change, and the pod recovers after."""
    before = {r.id: r.state for r in h.runtime.containers.values()}
    h.runtime.down = True
    try:
        await h.advance(seconds)
        assert {r.id: r.state for r in h.runtime.containers.values()} == before
    finally:
        h.runtime.down = False
    await h.engine.watchers[0].relist()
    await h.settle()


async def _failed_relist(h: Harness) -> None:
    """A relist that fails must not read as "the engine is empty": nothing is stopped or removed
    because of it (the decisions that follow see the last good picture)."""
    running = {r.id for r in h.runtime.containers.values() if r.state is RunState.RUNNING}
    h.runtime.calls.clear()
    h.runtime.failing.add("list")
    try:
        await h.engine.watchers[0].relist()
        await h.settle()
    finally:
        h.runtime.failing.clear()
    acted = [c for c in h.runtime.calls if c.split(" ", 1)[0] in {"stop", "remove"}]
    assert not acted, acted
    assert running <= {r.id for r in h.runtime.containers.values() if r.state is RunState.RUNNING}
    await h.engine.watchers[0].relist()
    await h.settle()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=st.sampled_from(list(RestartPolicy)), names=st.integers(1, 3), plan=steps)
def test_random_failures_keep_the_pod_sound_and_converge(
    policy: RestartPolicy, names: int, plan: list[Step]
) -> None:
    asyncio.run(_scenario(policy, names, plan))
