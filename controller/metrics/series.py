"""Plain in-memory counters, gauges and histograms keyed by label values, exported by a collector.

The controller's own metrics are updated from the event loop only, so they need no locks, and
exporting them as metric families at scrape time (rather than through prometheus_client's metric
objects) keeps them in our own registry with no `_created` series.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

Labels = tuple[str, ...]


class _Series:
    def __init__(self, name: str, documentation: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = list(labels)

    def _check(self, values: Labels) -> Labels:
        if len(values) != len(self.labels):
            raise ValueError(f"{self.name}: expected labels {self.labels}, got {values}")
        return values


class _ValueSeries(_Series):
    """One number per label set; the subclass says which metric type it is exported as."""

    _family: type[CounterMetricFamily] | type[GaugeMetricFamily]

    def __init__(self, name: str, documentation: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, labels)
        self._values: dict[Labels, float] = {}

    def touch(self, *labels: str) -> None:
        """Create the series at 0 if it does not exist yet."""
        self._values.setdefault(self._check(labels), 0.0)

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        key = self._check(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def get(self, *labels: str) -> float:
        return self._values.get(labels, 0.0)

    def family(self) -> Metric:
        family = self._family(self.name, self.documentation, labels=self.labels)
        for labels, value in sorted(self._values.items()):
            family.add_metric(list(labels), value)
        return family


class CounterSeries(_ValueSeries):
    """A counter per label set; `name` without the `_total` suffix the exposition adds."""

    _family = CounterMetricFamily


class GaugeSeries(_ValueSeries):
    _family = GaugeMetricFamily

    def set(self, *labels: str, value: float) -> None:
        self._values[self._check(labels)] = value


class _Buckets:
    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.count += 1
        self.sum += value
        index = bisect.bisect_left(self.bounds, value)  # a value equal to a bound falls in it
        if index < len(self.bounds):
            self.counts[index] += 1

    def cumulative(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            running += count
            out.append((repr(float(bound)), running))
        out.append(("+Inf", self.count))
        return out


class HistogramSeries(_Series):
    """A histogram per label set with fixed upper bounds (`le`); +Inf is added on export."""

    def __init__(
        self, name: str, documentation: str, bounds: Sequence[float], labels: Sequence[str] = ()
    ) -> None:
        super().__init__(name, documentation, labels)
        if list(bounds) != sorted(set(bounds)) or not all(math.isfinite(b) for b in bounds):
            raise ValueError(f"{name}: bucket bounds must be finite and increasing")
        self._bounds = tuple(bounds)
        self._values: dict[Labels, _Buckets] = {}

    def touch(self, *labels: str) -> None:
        key = self._check(labels)
        if key not in self._values:
            self._values[key] = _Buckets(self._bounds)

    def observe(self, *labels: str, value: float) -> None:
        self.touch(*labels)
        self._values[labels].observe(value)

    def count(self, *labels: str) -> int:
        buckets = self._values.get(labels)
        return buckets.count if buckets else 0

    def family(self) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, buckets in sorted(self._values.items()):
            family.add_metric(list(labels), buckets.cumulative(), buckets.sum)
        return family


def exponential(start: float, factor: float, count: int) -> tuple[float, ...]:
    """`count` bucket bounds from `start`, each `factor` times the last (as Prometheus' clients)."""
    return tuple(start * factor**i for i in range(count))
