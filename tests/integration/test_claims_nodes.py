"""A claim's volume lives on one node, on three real engines: the claim's next pod goes there.

The first pod of the claim is put on n2 by `nodeName`; once it is gone, a pod of the claim with
no preference goes to n2 as well (on three empty nodes the scheduler would pick n1 by name), and
finds the first pod's data. A pod of the claim kept off n2 by its nodeSelector is Unschedulable
with kube-scheduler's VolumeBinding words.
"""

from __future__ import annotations

import json
from pathlib import Path

from controller.model.claims import (
    AccessMode,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    docker_volume_name,
)
from controller.model.meta import ObjectMeta
from controller.model.pod import (
    Container,
    PersistentVolumeClaimVolumeSource,
    Pod,
    PodSpec,
    Volume,
    VolumeMount,
)
from tests.integration.dockerd import DEMO_IMAGE, PrivateDockerd
from tests.integration.harness import docker_cli, eventually, podyard_containers
from tests.integration.test_scheduling_nodes import on_nodes, running_on, unschedulable

CLAIM = PersistentVolumeClaim(
    ObjectMeta(name="state"),
    PersistentVolumeClaimSpec(access_modes=(AccessMode.READ_WRITE_ONCE,)),
)
VOLUME = docker_volume_name("default", "state")


def of_claim(name: str, **spec: object) -> Pod:
    script = "echo $(hostname) >> /state/pods; trap 'exit 0' TERM; while true; do sleep 1; done"
    container = Container(
        name="c",
        image=DEMO_IMAGE,
        command=("sh", "-c", script),
        volume_mounts=(VolumeMount(name="s", mount_path="/state"),),
    )
    source = PersistentVolumeClaimVolumeSource(claim_name="state")
    return Pod(
        ObjectMeta(name=name),
        PodSpec(
            containers=(container,),
            termination_grace_period_seconds=1,
            volumes=(Volume(name="s", persistent_volume_claim=source),),
            **spec,  # type: ignore[arg-type]
        ),
    )


def volume_on(engine: PrivateDockerd) -> Path | None:
    out = docker_cli(engine.docker_host, "volume", "ls", "-q", "--filter", f"name={VOLUME}")
    if VOLUME not in out.split():
        return None
    [inspected] = json.loads(docker_cli(engine.docker_host, "volume", "inspect", VOLUME))
    return Path(inspected["Mountpoint"])


async def test_the_claims_next_pod_goes_to_the_node_of_its_volume(
    node_engines: list[PrivateDockerd],
) -> None:
    n1, n2, n3 = node_engines
    c = on_nodes(node_engines)
    c.engine.set_claims([CLAIM])
    try:
        await c.start([of_claim("first", node_name="n2")])
        assert await running_on(c, "first") == "n2"
        mountpoint = volume_on(n2)
        assert mountpoint is not None
        assert volume_on(n1) is None
        assert volume_on(n3) is None

        c.set_pods([])
        await eventually(
            lambda: not podyard_containers(n2.docker_host), 60.0, what="first pod gone"
        )
        assert volume_on(n2) == mountpoint, "the claim's volume outlives its pod"

        c.set_pods([of_claim("second")])
        assert await running_on(c, "second") == "n2"
        await eventually(
            lambda: (mountpoint / "pods").read_text().split() == ["first", "second"],
            10.0,
            what="the second pod's line beside the first's",
        )

        away = of_claim("away", node_selector={"kubernetes.io/hostname": "n3"})
        c.set_pods([of_claim("second"), away])
        message = await unschedulable(c, "away")
        assert message == (
            "0/3 nodes are available: 1 node(s) had volume node affinity conflict, "
            "2 node(s) didn't match Pod's node affinity/selector."
        )
    finally:
        await c.stop()
