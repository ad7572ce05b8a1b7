"""The engine leases as metrics: which node's lease this controller holds (so acts on), at scrape time.

`podyard_lease_held{node}` is 1 on the controller that acts on the node and 0 on a standby; every
node the controller manages has its series from the first scrape. Summed over all controllers of
one node it must never exceed 1 (an alert can say so). `podyard_lease_expires_in_seconds{node}`
is how long this controller would wait before taking the lease over (the holder's own margin when
it holds it); absent while the lease cannot be read. `podyard_lease_lost_total{node}` counts the
times it lost a lease it held, `podyard_lease_slow_renewals_total{node}` the renewals slow enough
that the node's pod calls waited for them, and `podyard_lease_held_back_seconds_total{node}` how
long they waited: a saturated engine shows there before it costs a lease.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from controller.model.lease import LeaseView

LeasesSource = Callable[[], Sequence[LeaseView]]


class LeaseCollector(Collector):
    def __init__(self, leases: LeasesSource) -> None:
        self._leases = leases

    def collect(self) -> Iterable[Metric]:
        views = self._leases()
        held = GaugeMetricFamily(
            "podyard_lease_held",
            "1 when this controller holds the node's engine lease and acts on it, else 0.",
            labels=["node"],
        )
        expires = GaugeMetricFamily(
            "podyard_lease_expires_in_seconds",
            "Seconds until this controller judges the node's lease expired (standby) or must "
            "have renewed it (holder).",
            labels=["node"],
        )
        lost = CounterMetricFamily(
            "podyard_lease_lost",
            "Times this controller lost the node's lease while holding it.",
            labels=["node"],
        )
        slow = CounterMetricFamily(
            "podyard_lease_slow_renewals",
            "Lease renewals slow enough (longer than a retry period) that the node's pod calls waited.",
            labels=["node"],
        )
        held_back = CounterMetricFamily(
            "podyard_lease_held_back_seconds",
            "Seconds the node's pod calls waited for slow lease renewals.",
            labels=["node"],
        )
        for view in views:
            held.add_metric([view.node], 1.0 if view.held else 0.0)
            if view.expires_in is not None:
                expires.add_metric([view.node], max(0.0, view.expires_in))
            lost.add_metric([view.node], float(view.losses))
            slow.add_metric([view.node], float(view.slow_renewals))
            held_back.add_metric([view.node], view.held_back_seconds)
        yield held
        yield expires
        yield lost
        yield slow
        yield held_back
