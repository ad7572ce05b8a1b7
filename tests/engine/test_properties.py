"""Property tests: random crashes, sandbox deaths, time jumps and controller restarts.

Whatever happens, a pod never has two live sandboxes or two live copies of a container, live
containers always share the live sandbox, restart counts never go down, strangers' containers are
never touched, and once failures stop the pod converges (Always: everything runs) and deciding
again yields an empty plan.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.decide.pods import compute_pod_plan
from controller.model.observed import RunState
from controller.model.pod import RestartPolicy
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
    ),
    max_size=25,
)


def _check_invariants(h: Harness, foreign: str, restarts: dict[str, int]) -> None:
    live = [r for r in h.runtime.containers.values() if r.state is RunState.RUNNING]
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
    p = desired(pod(containers=[container(f"c{i}") for i in range(names)], restart_policy=policy))
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
            else:
                await h.restart_controller()
            _check_invariants(h, foreign, restarts)
        await h.advance(700)  # beyond the largest backoff: whatever may restart has
        _check_invariants(h, foreign, restarts)
        final = compute_pod_plan(h.engine.reconciler.inputs(h.key()))
        assert final.empty, final
        if policy is RestartPolicy.ALWAYS:
            for i in range(names):
                assert len(h.runtime.find(f"c{i}", running=True)) == 1
            assert len(h.runtime.find("POD", running=True)) == 1
    finally:
        await h.engine.stop()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=st.sampled_from(list(RestartPolicy)), names=st.integers(1, 3), plan=steps)
def test_random_failures_keep_the_pod_sound_and_converge(
    policy: RestartPolicy, names: int, plan: list[Step]
) -> None:
    asyncio.run(_scenario(policy, names, plan))
