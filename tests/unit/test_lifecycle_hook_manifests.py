"""Lifecycle hooks in manifests: structure, validation, the preStop label and the config."""

from __future__ import annotations

from typing import Any

import pytest

from controller.decide.containers import app_config
from controller.model import labels
from controller.model.desired import DesiredPod
from controller.model.lifecycle import (
    LifecycleHandler,
    SleepAction,
    handler_from_label,
    handler_to_label,
)
from controller.model.meta import PodRef, PodUid
from controller.model.probes import ExecAction, HTTPGetAction, HTTPHeader, PortRef, URIScheme
from controller.serde import ManifestInvalid, structure_pod, unstructure_pod

Doc = dict[str, Any]


def pod_with(lifecycle: Doc, grace: int = 30) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {
            "terminationGracePeriodSeconds": grace,
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "lifecycle": lifecycle,
                }
            ],
        },
    }


def errors(doc: Doc) -> dict[str, str]:
    with pytest.raises(ManifestInvalid) as info:
        structure_pod(doc)
    return {e.path: e.message for e in info.value.errors}


PATH = "spec.containers[0].lifecycle"


def test_the_three_handlers_are_read_and_written_back() -> None:
    lifecycle = {
        "postStart": {"exec": {"command": ["sh", "-c", "touch /ready"]}},
        "preStop": {"httpGet": {"path": "/quit", "port": "http", "scheme": "HTTP"}},
    }
    pod = structure_pod(pod_with(lifecycle))
    hooks = pod.spec.containers[0].lifecycle
    assert hooks is not None
    assert hooks.post_start == LifecycleHandler(exec=ExecAction(("sh", "-c", "touch /ready")))
    assert hooks.pre_stop == LifecycleHandler(
        http_get=HTTPGetAction(port=PortRef("http"), path="/quit")
    )
    written = unstructure_pod(pod)["spec"]["containers"][0]["lifecycle"]
    assert written["postStart"] == lifecycle["postStart"]
    assert written["preStop"]["httpGet"]["port"] == "http"
    sleeping = structure_pod(pod_with({"preStop": {"sleep": {"seconds": 5}}}))
    assert sleeping.spec.containers[0].lifecycle is not None
    assert sleeping.spec.containers[0].lifecycle.pre_stop == LifecycleHandler(sleep=SleepAction(5))


@pytest.mark.parametrize(
    ("lifecycle", "path", "message"),
    [
        ({"preStop": {}}, f"{PATH}.preStop", "Required value: must specify a handler type"),
        (
            {"postStart": {"exec": {"command": ["true"]}, "httpGet": {"port": 80}}},
            f"{PATH}.postStart.httpGet",
            "Forbidden: may not specify more than 1 handler type",
        ),
        ({"postStart": {"exec": {"command": []}}}, f"{PATH}.postStart.exec.command", "Required"),
        (
            {"preStop": {"sleep": {"seconds": 31}}},
            f"{PATH}.preStop.sleep.seconds",
            "Invalid value: 31: must be non-negative and less than "
            "terminationGracePeriodSeconds (30)",
        ),
        ({"preStop": {"sleep": {"seconds": -1}}}, f"{PATH}.preStop.sleep.seconds", "Invalid"),
        ({"preStop": {"httpGet": {"port": "nope"}}}, f"{PATH}.preStop.httpGet.port", "Not found"),
        ({"preStop": {"httpGet": {"port": 0}}}, f"{PATH}.preStop.httpGet.port", "Invalid"),
        ({"preStop": {"tcpSocket": {"port": 80}}}, f"{PATH}.preStop.tcpSocket", "not supported"),
        ({"stopSignal": "SIGINT"}, f"{PATH}.stopSignal", "not supported"),
    ],
    ids=[
        "no-handler",
        "two-handlers",
        "empty-command",
        "sleep-past-grace",
        "negative-sleep",
        "unknown-port-name",
        "port-zero",
        "tcp-socket",
        "stop-signal",
    ],
)
def test_invalid_hooks_are_refused_with_kubernetes_paths(
    lifecycle: Doc, path: str, message: str
) -> None:
    assert errors(pod_with(lifecycle))[path].startswith(message)


def test_a_sleep_of_zero_and_of_the_whole_grace_period_is_allowed() -> None:
    for seconds in (0, 10):
        parsed = structure_pod(pod_with({"preStop": {"sleep": {"seconds": seconds}}}, grace=10))
        hooks = parsed.spec.containers[0].lifecycle
        assert hooks is not None
        assert hooks.pre_stop is not None
        assert hooks.pre_stop.sleep == SleepAction(seconds)


@pytest.mark.parametrize(
    "handler",
    [
        LifecycleHandler(exec=ExecAction(("sh", "-c", "echo 'a b' > /x"))),
        LifecycleHandler(sleep=SleepAction(3)),
        LifecycleHandler(
            http_get=HTTPGetAction(
                port=PortRef(8080),
                path="/stop?now=1",
                host="127.0.0.1",
                scheme=URIScheme.HTTPS,
                http_headers=(HTTPHeader("X-Why", "stop"),),
            )
        ),
    ],
    ids=["exec", "sleep", "http-get"],
)
def test_the_pre_stop_label_round_trips(handler: LifecycleHandler) -> None:
    assert handler_from_label(handler_to_label(handler)) == handler


@pytest.mark.parametrize("text", [None, "", "{", "[]", '{"exec": 3}', '{"httpGet": {}}'])
def test_a_malformed_pre_stop_label_is_no_hook(text: str | None) -> None:
    assert handler_from_label(text) is None


def test_the_config_carries_post_start_and_the_pre_stop_label_with_ports_resolved() -> None:
    lifecycle = {
        "postStart": {"httpGet": {"path": "/warm", "port": "http"}},
        "preStop": {"httpGet": {"path": "/quit", "port": "http"}},
    }
    pod = structure_pod(pod_with(lifecycle))
    desired = DesiredPod(pod=pod, spec_hash="h", container_hashes={"web": "c"})
    ref = PodRef("default", "web", PodUid("u1"))
    config = app_config(desired, ref, 0.0, pod.spec.containers[0], 0, 0, 0.0)
    assert config.post_start is not None
    assert config.post_start.http_get is not None
    assert config.post_start.http_get.port == PortRef(8080)
    pre_stop = handler_from_label(config.extra_labels[labels.PRE_STOP])
    assert pre_stop is not None
    assert pre_stop.http_get is not None
    assert pre_stop.http_get.port == PortRef(8080)
    plain = structure_pod(pod_with({}))
    plain_config = app_config(desired, ref, 0.0, plain.spec.containers[0], 0, 0, 0.0)
    assert plain_config.post_start is None
    assert labels.PRE_STOP not in plain_config.extra_labels
