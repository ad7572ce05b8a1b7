"""The controller's own metrics: what it does and how long it takes.

Names follow the projects operators already watch: controller-runtime for reconciles
(`controller_runtime_*`), client-go for work queues (`workqueue_*`, labelled `name` and, as
controller-runtime adds, `controller`), and the kubelet's shape for runtime operations, relists and pod
start duration (`podyard_*`). `ControllerMetrics` is the engine's metrics sink (it fits the engine's
`MetricsSink` protocol without importing it) and a collector of its own registry.

Every label combination known at start-up (controllers, results, nodes, operations, reasons) exists
from the first scrape at 0, so `rate()` over a series that has not moved yet is 0, not empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from controller.metrics.series import CounterSeries, GaugeSeries, HistogramSeries, exponential
from controller.model.probes import ProbeKind
from controller.model.telemetry import (
    RUNTIME_OPERATIONS,
    ControllerName,
    ReconcileResult,
    RescheduleReason,
    task_names,
)

PROBE_RESULTS = ("successful", "failed", "unknown")
"""The kubelet's `result` values of `prober_probe_total`."""

RECONCILE_BUCKETS = (
    *(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8),
    *(0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30),
    *(40, 50, 60),
)
"""controller-runtime's buckets for `controller_runtime_reconcile_time_seconds`."""

QUEUE_BUCKETS = exponential(10e-9, 10, 10)
"""client-go's buckets for the work queue durations (10 ns to 10 s)."""

RUNTIME_BUCKETS = exponential(0.005, 2.5, 14)
"""The kubelet's buckets for runtime operation durations (5 ms to about 12 minutes)."""

RELIST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

POD_START_BUCKETS = (
    *(0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480),
    *(600, 900, 1200, 1800, 2700, 3600),
)
"""The kubelet's pod start buckets, with two below a second: local images start that fast."""


class ControllerMetrics(Collector):
    """Counts and durations reported by the engine, exported at scrape time."""

    in_flight: Callable[[], Mapping[str, Sequence[float]]] = dict
    """Per queue, when each item in a worker's hands was taken; read at scrape time for client-go's
    unfinished-work and longest-running gauges (set by the composition root)."""

    def __init__(self, nodes: Sequence[str], now: Callable[[], float] = time.time) -> None:
        self._now = now
        controller = ["controller"]
        queue = ["controller", "name"]
        node_op = ["node", "operation"]
        self.reconciles = CounterSeries(
            "controller_runtime_reconcile",
            "Total number of reconciliations per controller",
            ["controller", "result"],
        )
        self.reconcile_errors = CounterSeries(
            "controller_runtime_reconcile_errors",
            "Total number of reconciliation errors per controller",
            controller,
        )
        self.reconcile_time = HistogramSeries(
            "controller_runtime_reconcile_time_seconds",
            "Length of time per reconciliation per controller",
            RECONCILE_BUCKETS,
            controller,
        )
        self.active_workers = GaugeSeries(
            "controller_runtime_active_workers",
            "Number of currently used workers per controller",
            controller,
        )
        self.max_workers = GaugeSeries(
            "controller_runtime_max_concurrent_reconciles",
            "Maximum number of concurrent reconciles per controller",
            controller,
        )
        self.depth = GaugeSeries("workqueue_depth", "Current depth of workqueue", queue)
        self.adds = CounterSeries(
            "workqueue_adds", "Total number of adds handled by workqueue", queue
        )
        self.retries = CounterSeries(
            "workqueue_retries", "Total number of retries handled by workqueue", queue
        )
        self.queue_duration = HistogramSeries(
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested.",
            QUEUE_BUCKETS,
            queue,
        )
        self.work_duration = HistogramSeries(
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            QUEUE_BUCKETS,
            queue,
        )
        self.runtime_operations = CounterSeries(
            "podyard_runtime_operations",
            "Docker engine calls made, by node and operation.",
            node_op,
        )
        self.runtime_errors = CounterSeries(
            "podyard_runtime_operations_errors",
            "Docker engine calls that failed, by node and operation.",
            node_op,
        )
        self.runtime_duration = HistogramSeries(
            "podyard_runtime_operations_duration_seconds",
            "Duration in seconds of Docker engine calls, by node and operation.",
            RUNTIME_BUCKETS,
            node_op,
        )
        self.reconnects = CounterSeries(
            "podyard_runtime_event_stream_reconnects",
            "Times the Docker event stream of a node was connected again after it ended.",
            ["node"],
        )
        self.relist_duration = HistogramSeries(
            "podyard_relist_duration_seconds",
            "Duration in seconds of a full relist of a node's containers and volumes.",
            RELIST_BUCKETS,
            ["node"],
        )
        self.last_relist = GaugeSeries(
            "podyard_relist_last_timestamp_seconds",
            "Unix time of the last successful relist of a node (0: none yet).",
            ["node"],
        )
        self.pod_start = HistogramSeries(
            "podyard_pod_start_duration_seconds",
            "Seconds from a pod's manifest being first seen to all its containers running.",
            POD_START_BUCKETS,
        )
        self.restarts = CounterSeries(
            "podyard_container_restarts",
            "Container restarts the controller performed, by node.",
            ["node"],
        )
        self.reschedules = CounterSeries(
            "podyard_pod_reschedules",
            "Pods made again as a new instance, by reason (SandboxChanged, SpecChanged, "
            "PodFailed, NodeLost, Deleted).",
            ["reason"],
        )
        self.probes = CounterSeries(
            "prober_probe",
            "Probe runs by probe type and result (successful, failed, unknown: no verdict).",
            ["probe_type", "result"],
        )
        self.task_errors = CounterSeries(
            "podyard_task_errors",
            "Errors a long-running task of the controller caught and carried on after, by task.",
            ["task"],
        )
        self.task_restarts = CounterSeries(
            "podyard_task_restarts",
            "Times a long-running task of the controller died and was restarted, by task.",
            ["task"],
        )
        self._declare(nodes)

    def _declare(self, nodes: Sequence[str]) -> None:
        for name in ControllerName:
            for result in ReconcileResult:
                self.reconciles.touch(name, result)
            self.reconcile_errors.touch(name)
            self.reconcile_time.touch(name)
            self.active_workers.touch(name)
            self.max_workers.touch(name)
            for series in (self.depth, self.adds, self.retries):
                series.touch(name, name)
            self.queue_duration.touch(name, name)
            self.work_duration.touch(name, name)
        for node in nodes:
            for operation in RUNTIME_OPERATIONS:
                self.runtime_operations.touch(node, operation)
                self.runtime_errors.touch(node, operation)
                self.runtime_duration.touch(node, operation)
            self.reconnects.touch(node)
            self.relist_duration.touch(node)
            self.last_relist.touch(node)
            self.restarts.touch(node)
        for reason in RescheduleReason:
            self.reschedules.touch(reason)
        self.pod_start.touch()
        for kind in ProbeKind:
            for outcome in PROBE_RESULTS:
                self.probes.touch(kind, outcome)
        for task in task_names(nodes):
            self.task_declared(task)

    def collect(self) -> Iterable[Metric]:
        for series in (
            self.reconciles,
            self.reconcile_errors,
            self.reconcile_time,
            self.active_workers,
            self.max_workers,
            self.depth,
            self.adds,
            self.retries,
            self.queue_duration,
            self.work_duration,
            self.runtime_operations,
            self.runtime_errors,
            self.runtime_duration,
            self.reconnects,
            self.relist_duration,
            self.last_relist,
            self.pod_start,
            self.restarts,
            self.reschedules,
            self.probes,
            self.task_errors,
            self.task_restarts,
        ):
            yield series.family()
        yield from self._in_flight_families()

    def _in_flight_families(self) -> Iterable[Metric]:
        """client-go's gauges of work in progress, from the queues as they are at this scrape."""
        labels = ["controller", "name"]
        unfinished = GaugeSeries(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has done that is in progress and hasn't been observed by "
            "work_duration. Large values indicate stuck threads. One can deduce the number of "
            "stuck threads by observing the rate at which this increases.",
            labels,
        )
        longest = GaugeSeries(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            labels,
        )
        now = self._now()
        taken = self.in_flight()
        for name in ControllerName:
            ages = [max(0.0, now - t) for t in taken.get(name, ())]
            unfinished.set(name, name, value=sum(ages))
            longest.set(name, name, value=max(ages, default=0.0))
        yield unfinished.family()
        yield longest.family()

    # -- the engine's metrics sink ----------------------------------------------------------------

    def workers(self, controller: ControllerName, maximum: int) -> None:
        self.max_workers.set(controller, value=maximum)

    def reconcile_started(self, controller: ControllerName) -> None:
        self.active_workers.inc(controller)

    def reconciled(
        self, controller: ControllerName, result: ReconcileResult, seconds: float
    ) -> None:
        self.active_workers.inc(controller, amount=-1)
        self.reconciles.inc(controller, result)
        if result is ReconcileResult.ERROR:
            self.reconcile_errors.inc(controller)
        self.reconcile_time.observe(controller, value=seconds)

    def queue_depth(self, queue: ControllerName, depth: int) -> None:
        self.depth.set(queue, queue, value=depth)

    def queue_added(self, queue: ControllerName) -> None:
        self.adds.inc(queue, queue)

    def queue_retried(self, queue: ControllerName) -> None:
        self.retries.inc(queue, queue)

    def queue_waited(self, queue: ControllerName, seconds: float) -> None:
        self.queue_duration.observe(queue, queue, value=seconds)

    def queue_worked(self, queue: ControllerName, seconds: float) -> None:
        self.work_duration.observe(queue, queue, value=seconds)

    def runtime_called(self, node: str, operation: str, seconds: float, ok: bool) -> None:
        self.runtime_operations.inc(node, operation)
        if not ok:
            self.runtime_errors.inc(node, operation)
        self.runtime_duration.observe(node, operation, value=seconds)

    def event_stream_reconnected(self, node: str) -> None:
        self.reconnects.inc(node)

    def relisted(self, node: str, seconds: float, at: float) -> None:
        self.relist_duration.observe(node, value=seconds)
        self.last_relist.set(node, value=at)

    def pod_started(self, seconds: float) -> None:
        self.pod_start.observe(value=seconds)

    def container_restarted(self, node: str) -> None:
        self.restarts.inc(node)

    def pod_rescheduled(self, reason: RescheduleReason) -> None:
        self.reschedules.inc(reason)

    def probed(self, kind: ProbeKind, result: str) -> None:
        self.probes.inc(kind, result)

    def task_declared(self, task: str) -> None:
        self.task_errors.touch(task)
        self.task_restarts.touch(task)

    def task_error(self, task: str) -> None:
        self.task_errors.inc(task)

    def task_restarted(self, task: str) -> None:
        self.task_restarts.inc(task)
