"""Decide-core benchmark: one pass over 10,000 pods, timed on its own (no engine, no asyncio).

The world: `--pods` desired pods (default 10,000), most of them made by `--replicasets` ReplicaSets
of `--replicas` pods each (made as the ReplicaSet controller makes them: its template, its owner,
real spec hashes), the rest bare pods, spread over `--nodes` nodes. Each pod runs a sandbox and two
app containers, as the engine labels them: the containers come from the pod's own create plan, read
back through the label contract as an engine would list them; one pod in a hundred has a crashed
container waiting out its backoff, so the restart path is in the pass too.

What is timed (each over `--passes` passes: median and p95 wall time in ms, the median CPU time
of the process in ms, and that CPU time per pod, or per placed pod, in microseconds):

- inputs:      what the engine reads per pod to build decide's inputs: the desired pod, its
               containers and volumes out of the observed cache (grouped by pod key);
- pod plans:   `compute_pod_plan` for every pod (the pass the pod workers make);
- rs plans:    `compute_replicaset_plan` for every ReplicaSet over the summaries of its pods;
- decide pass: pod plans + rs plans, the figure the target (<= 100 ms at 10,000) is about;
- rs inputs:   what a ReplicaSet sync needs per pod first: its status (`compute_pod_status`) and
               summary, for every pod;
- schedule:    placing `--new` new pods one after another over the nodes, each counted on its
               node before the next is placed (as the assumed pods make it in the engine),
               building the scheduler's node picture from the engine's stores each time.

Run it with `.venv/bin/python bench/decide_scale.py` (`--profile` prints the top of a cProfile of
one decide pass).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from controller.config import (  # noqa: E402
    BackoffSettings,
    CapacityOverrides,
    ImagePullSettings,
    NodeSettings,
)
from controller.decide.instance import group_instances  # noqa: E402
from controller.decide.podinputs import PodInputs  # noqa: E402
from controller.decide.pods import compute_pod_plan  # noqa: E402
from controller.decide.replicasets import compute_replicaset_plan  # noqa: E402
from controller.decide.scheduling import NodeInfo, pod_facts, schedule  # noqa: E402
from controller.decide.status import compute_pod_status  # noqa: E402
from controller.engine.nodeinfo import NodeInfoBuilder  # noqa: E402
from controller.engine.nodes import NodeRegistry  # noqa: E402
from controller.engine.placement import AssumedPods  # noqa: E402
from controller.engine.podfactory import desired_from_pod, pod_from_template  # noqa: E402
from controller.engine.replicasets import rs_key, summarize  # noqa: E402
from controller.engine.stores import DesiredStore, ObservedCache  # noqa: E402
from controller.model import labels  # noqa: E402
from controller.model.desired import DesiredPod  # noqa: E402
from controller.model.meta import ContainerId, NodeName, ObjectKey, ObjectMeta, PodKey, PodUid  # noqa: E402
from controller.model.observed import ObservedContainer, RunState  # noqa: E402
from controller.model.plan import RunContainer  # noqa: E402
from controller.model.pod import (  # noqa: E402
    Container,
    ContainerPort,
    PodSpec,
    ResourceList,
    ResourceRequirements,
)
from controller.model.quantity import Quantity  # noqa: E402
from controller.model.status import PodView  # noqa: E402
from controller.model.workload_status import OwnerRef, PodSummary  # noqa: E402
from controller.model.workloads import (  # noqa: E402
    LabelSelector,
    PodTemplateSpec,
    ReplicaSet,
    ReplicaSetSpec,
    TemplateMeta,
)

NOW = 1_000_000.0
CREATED = NOW - 3600.0
IMAGE = "localhost/podyard-busybox:1"
PAUSE = "localhost/podyard-pause:1"
UNUSED_UID = PodUid("unused")
BACKOFF = BackoffSettings()
PULL = ImagePullSettings()


def _spec(index: int) -> PodSpec:
    requests = ResourceRequirements(
        requests=ResourceList(cpu=Quantity.parse("10m"), memory=Quantity.parse("16Mi"))
    )
    return PodSpec(
        containers=(
            Container(
                name="web",
                image=IMAGE,
                command=("httpd", "-f", "-p", "8080"),
                ports=(ContainerPort(8080),),
                resources=requests,
            ),
            Container(name="worker", image=IMAGE, command=("sleep", f"{3600 + index}")),
        )
    )


def replicaset(index: int, replicas: int) -> ReplicaSet:
    labels_ = {"app": f"rs-{index}"}
    return ReplicaSet(
        metadata=ObjectMeta(name=f"rs-{index}"),
        spec=ReplicaSetSpec(
            selector=LabelSelector(match_labels=labels_),
            template=PodTemplateSpec(metadata=TemplateMeta(labels=labels_), spec=_spec(index)),
            replicas=replicas,
        ),
    )


@attrs.define
class World:
    nodes: list[NodeName]
    replicasets: list[tuple[ReplicaSet, ObjectKey]]
    desired: dict[PodKey, DesiredPod]
    containers: dict[PodKey, tuple[ObservedContainer, ...]]


def _observe(config_run: RunContainer, number: int, crashed: bool) -> ObservedContainer:
    """The container as an engine lists it: identity read back through the label contract."""
    config = config_run.config
    identity = labels.identity_from_labels(labels.identity_labels(config.identity))
    assert identity is not None
    sandbox = identity.container_name == "POD"
    return ObservedContainer(
        id=ContainerId(f"{number:012x}"),
        node=config_run.node,
        docker_name=config.docker_name,
        identity=identity,
        state=RunState.EXITED if crashed else RunState.RUNNING,
        image=config.image,
        image_id="sha256:0",
        exit_code=1 if crashed else None,
        created_at=CREATED,
        started_at=CREATED + 1.0,
        finished_at=NOW - 5.0 if crashed else None,
        ip="10.88.0.2" if sandbox else None,
        manifest=config.extra_labels.get(labels.POD_MANIFEST, ""),
        source=config.extra_labels.get(labels.POD_SOURCE, ""),
        host_ports=labels.host_ports_from_labels(config.extra_labels) if sandbox else (),
    )


def build_world(pods: int, rs_count: int, replicas: int, node_count: int) -> World:
    nodes = [NodeName(f"node-{i}") for i in range(node_count)]
    world = World(nodes, [], {}, {})
    desired: list[DesiredPod] = []
    for i in range(rs_count):
        rs = replicaset(i, replicas)
        world.replicasets.append((rs, rs_key("default", rs.metadata.name)))
        owner = str(OwnerRef("ReplicaSet", rs.metadata.name))
        for j in range(replicas):
            pod = pod_from_template(rs.spec.template, f"{rs.metadata.name}-{j:05d}", "default")
            desired.append(desired_from_pod(pod, owner=owner, source="rs.yaml"))
    for i in range(pods - len(desired)):
        bare = pod_from_template(
            PodTemplateSpec(TemplateMeta(labels={"app": "bare"}), _spec(10_000 + i)),
            f"bare-{i:05d}",
            "default",
        )
        desired.append(desired_from_pod(bare, source=f"bare-{i}.yaml"))
    number = 0
    for index, pod in enumerate(desired):
        node = nodes[index % node_count]
        created = compute_pod_plan(_inputs(pod, (), (node,), new_uid=PodUid(f"uid-{index}")))
        observed = []
        for action in created.actions:
            assert isinstance(action, RunContainer), action
            number += 1
            crashed = index % 100 == 7 and action.config.identity.container_name == "worker"
            observed.append(_observe(attrs.evolve(action, node=node), number, crashed))
        world.desired[pod.key] = pod
        world.containers[pod.key] = tuple(observed)
    return world


def _inputs(
    pod: DesiredPod,
    containers: tuple[ObservedContainer, ...],
    nodes: tuple[NodeName, ...],
    new_uid: PodUid = UNUSED_UID,
) -> PodInputs:
    return PodInputs(
        key=pod.key,
        desired=pod,
        containers=containers,
        volumes=(),
        nodes=tuple(NodeInfo(n) for n in nodes) if not containers else (),
        notes={},
        now=NOW,
        new_uid=new_uid,
        pause_images=dict.fromkeys(nodes, PAUSE),
        backoff=BACKOFF,
        image_pull=PULL,
        known_nodes=frozenset(nodes),
    )


def timed(passes: int, run: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each pass (CPU time is what a busy machine distorts least)."""
    wall, cpu = [], []
    for _ in range(passes):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        cpu.append((time.process_time() - start_cpu) * 1000.0)
        wall.append((time.perf_counter() - start) * 1000.0)
    return wall, cpu


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--replicasets", type=int, default=48)
    parser.add_argument("--replicas", type=int, default=200)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--new", type=int, default=100, help="new pods to place")
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    started = time.perf_counter()
    world = build_world(args.pods, args.replicasets, args.replicas, args.nodes)
    nodes = tuple(world.nodes)
    keys = sorted(world.desired)
    inputs = [_inputs(world.desired[k], world.containers[k], nodes) for k in keys]
    built = time.perf_counter() - started

    store = DesiredStore()
    store.replace_all(world.desired.values())
    cache = ObservedCache()
    for node in world.nodes:
        cache.replace_node(
            node, [c for cs in world.containers.values() for c in cs if c.node == node], []
        )

    def read_inputs() -> None:
        for key in keys:
            store.get(key)
            cache.containers_for(key)
            cache.volumes_for(key)

    def pod_plans() -> None:
        for each in inputs:
            compute_pod_plan(each)

    def pod_summaries() -> dict[str, list[PodSummary]]:
        owned: dict[str, list[PodSummary]] = {}
        for each in inputs:
            desired = each.desired
            assert desired is not None
            instance = group_instances(each.containers)[-1]
            status = compute_pod_status(desired, instance, {}, NOW, "10.0.0.1", BACKOFF, PULL)
            view = PodView(
                pod=desired.pod,
                ref=instance.ref,
                node=instance.node,
                status=status,
                created_at=instance.created_at,
                owner=desired.owner,
            )
            owned.setdefault(desired.owner, []).append(summarize(view))
        return owned

    summaries = pod_summaries()

    def rs_plans() -> None:
        for rs, key in world.replicasets:
            owner = str(OwnerRef("ReplicaSet", rs.metadata.name))
            plan = compute_replicaset_plan(rs, key, summaries[owner], None, NOW)
            assert plan.empty, plan

    def decide_pass() -> None:
        pod_plans()
        rs_plans()

    room = CapacityOverrides(cpu_millis=64_000, memory_bytes=256 << 30, pods=args.pods)
    registry = NodeRegistry({n: NodeSettings(n, capacity=room) for n in world.nodes})
    for node in world.nodes:
        registry.mark(node, True, NOW)
    assumed = AssumedPods()
    node_infos = NodeInfoBuilder(registry, cache, store, assumed)
    template = world.replicasets[0][0].spec.template

    def schedule_new() -> None:
        placed: list[PodKey] = []
        for i in range(args.new):
            pod = desired_from_pod(
                pod_from_template(template, f"new-{i:04d}", "default"), owner="ReplicaSet/rs-0"
            )
            facts = pod_facts(pod)
            placement = schedule(facts, node_infos.build())
            assert placement.node is not None, placement
            assumed._held[pod.key] = (placement.node, facts.assigned())
            placed.append(pod.key)
        for key in placed:
            assumed.forget(key)

    # a sanity check that the world is steady: only the crashed pods have anything to do
    busy = sum(1 for each in inputs if not compute_pod_plan(each).empty)
    print(
        f"{len(keys)} pods ({args.replicasets} ReplicaSets of {args.replicas}, "
        f"{len(keys) - args.replicasets * args.replicas} bare), {args.nodes} nodes, "
        f"{sum(len(c) for c in world.containers.values())} containers; "
        f"built in {built:.1f} s; {busy} pods with a plan"
    )
    rows = [
        ("inputs (store reads per pod)", len(keys), timed(args.passes, read_inputs)),
        ("pod plans", len(keys), timed(args.passes, pod_plans)),
        ("rs plans", len(keys), timed(args.passes, rs_plans)),
        ("decide pass (pod + rs plans)", len(keys), timed(args.passes, decide_pass)),
        ("rs inputs (status + summary)", len(keys), timed(args.passes, pod_summaries)),
        (f"schedule {args.new} new pods", args.new, timed(max(3, args.passes // 2), schedule_new)),
    ]
    print(f"{'what':32} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>8} {'per item us':>12}")
    for name, count, (wall, cpu) in rows:
        median, cpu_median = statistics.median(wall), statistics.median(cpu)
        print(
            f"{name:32} {median:10.1f} {p95(wall):8.1f} {cpu_median:8.1f}"
            f" {cpu_median * 1000 / count:12.2f}"
        )
    if args.profile:
        for what in (decide_pass, schedule_new):
            profile = cProfile.Profile()
            profile.runcall(what)
            pstats.Stats(profile).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
