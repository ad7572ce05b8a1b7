"""The official Kubernetes Python client pointed at a `ControllerProcess`, and watch helpers.

The client is blocking (urllib3), so a watch runs in a thread that records every event it
receives; the test changes the folder meanwhile and polls the record with a deadline. Each watch
asks the server for `timeout_seconds`, so a thread never outlives its test by long, and the
client's `Watch` does not retry on its own when a timeout is given (it raises on 410 instead).

Traps: the client deserializes each event into its typed model; a model that rejects our JSON
raises inside the thread, so `WatchRecorder` keeps the error and `wait_for` re-raises it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client, watch

from tests.integration.harness import ControllerProcess

T = TypeVar("T")


def api_client(controller: ControllerProcess) -> Any:
    """An `ApiClient` for the controller's API, as a user would configure one."""
    configuration = client.Configuration(host=controller.server)
    return client.ApiClient(configuration)


def poll(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.2) -> T:
    """Call `probe` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        last = result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class WatchRecorder:
    """`watch.Watch().stream(func, **kwargs)` in a thread, every event kept in `events`."""

    def __init__(self, func: Callable[..., Any], **kwargs: Any) -> None:
        self.watch = watch.Watch()
        self.events: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(func, kwargs), daemon=True)
        self._thread.start()

    def _run(self, func: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        try:
            for event in self.watch.stream(func, **kwargs):
                self.events.append(event)
        except BaseException as error:  # kept for the test thread, which re-raises it
            self.error = error
        finally:
            self.done.set()

    def seen(self) -> list[tuple[str, str]]:
        """(type, name) of every event so far, in order."""
        return [(e["type"], e["object"].metadata.name) for e in list(self.events)]

    def wait_for(
        self, wanted: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        """The first recorded event satisfying `wanted`, waiting for it up to `timeout`."""

        def probe() -> dict[str, Any] | None:
            if self.error is not None:
                raise AssertionError(f"the watch failed before {what}") from self.error
            return next((e for e in list(self.events) if wanted(e)), None)

        return poll(probe, timeout, f"{what} (events: {self.seen()})")

    def stop(self, timeout: float = 10) -> None:
        self.watch.stop()
        self.done.wait(timeout)


def event_is(kind: str, name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: bool(e["type"] == kind and e["object"].metadata.name == name)
