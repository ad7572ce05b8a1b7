"""The claim book (declared claims, where their volumes are) and the claims' API rendering."""

from __future__ import annotations

from controller.api.claims import claim_row, claim_to_k8s
from controller.decide.containers import app_config
from controller.decide.filters import VOLUME_NODE_CONFLICT, volume_binding
from controller.decide.scheduling import NodeInfo, PodFacts
from controller.engine.claims import ClaimBook
from controller.engine.podfactory import desired_from_pod
from controller.model.claims import (
    AccessMode,
    PersistentVolumeClaim,
    PersistentVolumeClaimSpec,
    StorageList,
    VolumeResourceRequirements,
    docker_volume_name,
)
from controller.model.desired import DesiredPod
from controller.model.meta import NodeName, ObjectMeta, PodKey, PodRef, PodUid
from controller.model.plan import Plan, RunContainer
from controller.model.pod import PersistentVolumeClaimVolumeSource, Volume, VolumeMount
from controller.model.quantity import Quantity
from tests.factories import container, pod

N1, N2 = NodeName("n1"), NodeName("n2")


def claim(name: str) -> PersistentVolumeClaim:
    storage = VolumeResourceRequirements(StorageList(Quantity.parse("1Gi")))
    spec = PersistentVolumeClaimSpec((AccessMode.READ_WRITE_ONCE,), storage, "local")
    return PersistentVolumeClaim(ObjectMeta(name=name), spec)


def using(*claims: str) -> DesiredPod:
    mounts = tuple(VolumeMount(name=f"v{i}", mount_path=f"/d{i}") for i in range(len(claims)))
    volumes = [
        Volume(name=f"v{i}", persistent_volume_claim=PersistentVolumeClaimVolumeSource(c))
        for i, c in enumerate(claims)
    ]
    return desired_from_pod(pod("p", [container("c", volume_mounts=mounts)], volumes=volumes))


def placing(node: NodeName, *claims: str) -> Plan:
    wanted = using(*claims)
    ref = PodRef("default", "p", PodUid("u"))
    config = app_config(wanted, ref, 0.0, wanted.pod.spec.containers[0], 0, 0, 0.0)
    return Plan(PodKey("default", "p"), (RunContainer(node, config),))


def test_a_pod_of_an_undeclared_claim_is_told_which() -> None:
    book = ClaimBook()
    book.set_declared([claim("a")], now=0.0)
    facts = book.facts(using("a", "b"))
    assert facts.missing == ("b",)
    assert facts.nodes is None, "nothing bound yet: any node"
    assert book.facts(using()).missing == ()


def test_a_placed_claim_pins_until_a_relist_after_the_plan_ran_has_its_say() -> None:
    book = ClaimBook()
    book.set_declared([claim("a")], now=0.0)
    plan = placing(N1, "a")
    book.note_placed(plan)
    assert book.facts(using("a")).nodes == {N1}
    book.replace_node(N1, {}, relist_began=9.0)  # while the plan runs: it proves nothing
    assert book.facts(using("a")).nodes == {N1}
    book.note_applied(plan, now=10.0)
    book.replace_node(N1, {}, relist_began=5.0)  # began before the plan ran: it proves nothing
    assert book.facts(using("a")).nodes == {N1}
    book.replace_node(N1, {"default/a": "vol"}, relist_began=11.0)
    assert book.facts(using("a")).nodes == {N1}
    book.replace_node(N1, {}, relist_began=12.0)  # the volume was removed by hand
    assert book.facts(using("a")).nodes is None


def test_two_claims_on_two_nodes_leave_no_node() -> None:
    book = ClaimBook()
    book.set_declared([claim("a"), claim("b")], now=0.0)
    book.replace_node(N1, {"default/a": "va"}, relist_began=1.0)
    book.replace_node(N2, {"default/b": "vb"}, relist_began=1.0)
    assert book.facts(using("a", "b")).nodes == frozenset()
    assert book.facts(using("b")).nodes == {N2}


def test_the_volume_binding_filter_words() -> None:
    facts = PodFacts(PodKey("default", "p"), volume_nodes=frozenset({N1}))
    assert volume_binding(facts, NodeInfo(N1)) == ()
    assert volume_binding(facts, NodeInfo(N2)) == (VOLUME_NODE_CONFLICT,)
    assert VOLUME_NODE_CONFLICT == "node(s) had volume node affinity conflict"
    assert volume_binding(PodFacts(PodKey("default", "p")), NodeInfo(N2)) == ()


def test_claims_render_bound_and_pending_with_kubectls_columns() -> None:
    book = ClaimBook()
    book.set_declared([claim("a"), claim("b")], now=1_700_000_000.0)
    book.replace_node(N1, {"default/a": docker_volume_name("default", "a")}, relist_began=1.0)
    bound, pending = (claim_to_k8s(v) for v in book.views())
    assert bound["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "1Gi"},
    }
    assert bound["spec"]["volumeName"] == docker_volume_name("default", "a")
    annotations = bound["metadata"]["annotations"]
    assert annotations["podyard.io/reclaim-policy"] == "Retain"
    assert annotations["volume.kubernetes.io/selected-node"] == "n1"
    assert pending["status"] == {"phase": "Pending"}
    assert "volumeName" not in pending["spec"]
    now = 1_700_000_000.0 + 120
    assert claim_row(bound, now) == [
        "a", "Bound", docker_volume_name("default", "a"), "1Gi", "RWO", "local", "<unset>", "2m",
    ]  # fmt: skip
    assert claim_row(pending, now, wide=True) == [
        "b", "Pending", "", "", "", "local", "<unset>", "2m", "Filesystem",
    ]  # fmt: skip
