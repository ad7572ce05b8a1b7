"""The lease's label contract, its API JSON and its metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from controller.api.leases import lease_json
from controller.metrics.leases import LeaseCollector
from controller.model.lease import (
    LeaseHolder,
    LeaseView,
    holder_from_labels,
    lease_labels,
)
from controller.model.meta import ContainerId, NodeName

HOLDER = LeaseHolder(
    id="abc", host="box", pid=42, manifests="/srv/m", api="http://127.0.0.1:9180", boot_id="b"
)


def test_labels_round_trip_and_refuse_what_is_not_a_lease() -> None:
    assert holder_from_labels(lease_labels(HOLDER, 10.0)) == (HOLDER, 10.0)
    assert holder_from_labels({}) == (None, 0.0)
    assert holder_from_labels({**lease_labels(HOLDER, 10.0), "io.podyard.lease.pid": "x"}) == (
        None,
        0.0,
    )


def test_api_json_names_the_holder_and_this_controllers_judgement() -> None:
    view = LeaseView(
        node=NodeName("n1"),
        held=False,
        holder=HOLDER,
        container_id=ContainerId("c1"),
        acquired_at=1_800_000_000.0,
        renewed_at=1_800_000_002.5,
        expires_in=7.25,
        duration_seconds=10.0,
    )
    body = lease_json(view)
    assert body["heldByThisController"] is False
    assert body["holder"]["identity"] == "box_abc"
    assert body["holder"]["manifests"] == "/srv/m"
    assert body["renewTime"] == "2027-01-15T08:00:02.500Z"
    assert body["expiresInSeconds"] == 7.25


def test_metric_exists_for_every_node_held_or_not() -> None:
    views = [
        LeaseView(
            NodeName("n1"), True, HOLDER, ContainerId("c"), None, None, 6.0, 10.0,
            losses=1, slow_renewals=3, held_back_seconds=4.5,
        ),
        LeaseView(NodeName("n2"), False, None, None, None, None, None, 10.0),
    ]  # fmt: skip
    registry = CollectorRegistry()
    registry.register(LeaseCollector(lambda: views))
    text = generate_latest(registry).decode()
    assert 'podyard_lease_held{node="n1"} 1.0' in text
    assert 'podyard_lease_held{node="n2"} 0.0' in text
    assert 'podyard_lease_expires_in_seconds{node="n1"} 6.0' in text
    assert 'podyard_lease_expires_in_seconds{node="n2"}' not in text
    assert 'podyard_lease_lost_total{node="n1"} 1.0' in text
    assert 'podyard_lease_slow_renewals_total{node="n1"} 3.0' in text
    assert 'podyard_lease_held_back_seconds_total{node="n1"} 4.5' in text
    assert 'podyard_lease_slow_renewals_total{node="n2"} 0.0' in text  # every node, from the start
