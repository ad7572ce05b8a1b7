"""Where the engine's change signal comes from: the work queue's adds and dones, node statuses,
recorded events; and how a signal is passed on from one engine's signal to the API's."""

from __future__ import annotations

from controller.engine.changesignal import ChangeSignal
from controller.engine.events import EventRecorder
from controller.engine.nodes import NodeRegistry
from controller.engine.ports import FakeClock
from controller.engine.workqueue import WorkQueue
from controller.model.events import EventType, ObjectReference
from controller.model.meta import NodeName, PodKey

Heard = list[tuple[str | None, tuple[str, str] | None]]


def listening(signal: ChangeSignal) -> Heard:
    heard: Heard = []
    signal.listen(lambda topic, key: heard.append((topic, key)))
    return heard


async def test_the_pod_queue_signals_each_key_added_and_done() -> None:
    signal = ChangeSignal()
    heard = listening(signal)
    queue: WorkQueue[PodKey] = WorkQueue(FakeClock(), 1.0, 10.0)
    queue.on_change = signal.pod
    queue.add(PodKey("default", "web"))
    queue.add(PodKey("default", "web"))  # already waiting: its done will tell
    key = await queue.get()
    assert heard == [("pods", ("default", "web"))]
    queue.done(key)
    assert heard == [("pods", ("default", "web"))] * 2
    assert signal.version == 2


def test_a_node_status_written_and_an_event_recorded_are_signalled() -> None:
    signal = ChangeSignal()
    heard = listening(signal)
    nodes = NodeRegistry({NodeName("node-a"): "127.0.0.1"})
    nodes.on_change(signal.objects)
    nodes.mark(NodeName("node-a"), True, 5.0)
    assert heard == [("objects", None)]
    recorder = EventRecorder(FakeClock())
    recorder.on_record = signal.events
    ref = ObjectReference("Pod", "default", "web")
    recorder.record(ref, EventType.NORMAL, "Started", "started")
    recorder.record(ref, EventType.NORMAL, "Started", "started")  # counted again: a change too
    assert heard[1:] == [("events", None), ("events", None)]


def test_a_relay_passes_changes_on_and_everything_renders_all() -> None:
    engine_signal, relay = ChangeSignal(), ChangeSignal()
    heard = listening(relay)
    engine_signal.listen(relay.forward)
    engine_signal.pod(PodKey("ns", "api"))
    relay.everything()
    assert heard == [("pods", ("ns", "api")), (None, None)]
    engine_signal.unlisten(relay.forward)  # an engine of an ended term
    engine_signal.objects()
    assert heard == [("pods", ("ns", "api")), (None, None)]
