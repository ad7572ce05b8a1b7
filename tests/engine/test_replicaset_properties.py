"""ReplicaSets under random scaling, failures, slow creates and controller restarts (fake engine).

Whatever happens, active pods never exceed the larger of the current and the previous replica
count (creates are counted the moment they are desired, so a slow engine cannot cause
over-creation), and once the disturbances stop, exactly `replicas` pods run.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.model.observed import RunState
from controller.model.pod import RestartPolicy
from tests.engine.conftest import Harness
from tests.engine.test_replicaset_engine import replicaset, scaled

steps = st.lists(
    st.one_of(
        st.tuples(st.just("scale"), st.integers(0, 7)),
        st.tuples(st.just("fail"), st.integers(0, 9)),
        st.tuples(st.just("slow"), st.integers(0, 30)),
        st.tuples(st.just("advance"), st.integers(0, 30)),
        st.tuples(st.just("restart"), st.just(0)),
    ),
    max_size=20,
)


def active(h: Harness) -> int:
    return sum(
        1
        for v in h.engine.pod_views()
        if not v.deleting and v.status.phase.value not in ("Succeeded", "Failed")
    )


def running_pods(h: Harness) -> set[str]:
    return {
        r.config.identity.pod.name
        for r in h.runtime.containers.values()
        if r.config.identity.container_name == "c" and r.state is RunState.RUNNING
    }


async def _scenario(plan: list[tuple[str, int]]) -> None:
    h = Harness()
    rs = replicaset(replicas=3, policy=RestartPolicy.NEVER)
    replicas, previous = 3, 3
    try:
        h.engine.set_replicasets([(rs, "rs.yaml")])
        await h.start([])
        for action, arg in plan:
            if action == "scale":
                previous, replicas = replicas, arg
                h.engine.set_replicasets([(scaled(rs, arg), "rs.yaml")])
            elif action == "fail":
                live = sorted(h.runtime.find("c", running=True), key=lambda r: r.id)
                if live:
                    h.runtime.exit(live[arg % len(live)].id, 1)  # Never: the pod ends Failed
            elif action == "slow":
                h.runtime.create_latency = arg
            elif action == "advance":
                await h.advance(arg)
            else:
                await h.engine.stop()
                h.runtime._events = asyncio.Queue()
                h.engine = h._new_engine()
                h.engine.set_replicasets([(scaled(rs, replicas), "rs.yaml")])
                await h.engine.start()
            for _ in range(50):  # watch the count while things settle
                assert active(h) <= max(replicas, previous), (active(h), replicas, previous)
                await asyncio.sleep(0)
            await h.settle()
            assert active(h) <= max(replicas, previous)
            previous = replicas
        h.runtime.create_latency = 0
        await h.advance(30)
        assert active(h) == replicas
        assert len(running_pods(h)) == replicas
    finally:
        await h.engine.stop()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps)
def test_replicas_never_overshoot_and_converge(plan: list[tuple[str, int]]) -> None:
    asyncio.run(_scenario(plan))
