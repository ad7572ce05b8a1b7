"""initContainers and restartPolicy in manifests: read, refused where Kubernetes refuses them,
written back; and kubectl's STATUS and READY texts for pods with init containers and sidecars."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from controller.api.tables import pod_row, pod_status_text
from controller.model.lifecycle import Lifecycle, LifecycleHandler, SleepAction
from controller.model.pod import RestartPolicy
from controller.model.validation.initcontainers import init_container_errors
from controller.serde import ManifestInvalid, structure_pod, unstructure_pod
from tests.factories import container

Doc = dict[str, Any]


def doc(*inits: Doc, app: Doc | None = None) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {
            "initContainers": list(inits),
            "containers": [app or {"name": "web", "image": "nginx:1.27"}],
        },
    }


def errors(d: Doc) -> dict[str, str]:
    with pytest.raises(ManifestInvalid) as info:
        structure_pod(d)
    return {e.path: e.message for e in info.value.errors}


PROBE = {"exec": {"command": ["true"]}}


def test_init_containers_and_sidecars_are_read_and_written_back() -> None:
    d = doc(
        {"name": "setup", "image": "busybox:1"},
        {"name": "shipper", "image": "busybox:1", "restartPolicy": "Always", "startupProbe": PROBE},
    )
    pod = structure_pod(d)
    setup, shipper = pod.spec.init_containers
    assert not setup.is_sidecar
    assert shipper.restart_policy is RestartPolicy.ALWAYS
    assert shipper.is_sidecar
    assert pod.spec.sidecars() == (shipper,)
    out = unstructure_pod(pod)
    assert [c["name"] for c in out["spec"]["initContainers"]] == ["setup", "shipper"]
    assert out["spec"]["initContainers"][1]["restartPolicy"] == "Always"
    assert "restartPolicy" not in out["spec"]["containers"][0]


def test_names_are_unique_across_init_and_app_containers() -> None:
    found = errors(doc({"name": "web", "image": "busybox:1"}))
    assert found == {"spec.containers[0].name": 'Duplicate value: "web"'}


def test_restart_policy_only_always_and_only_on_init_containers() -> None:
    found = errors(doc({"name": "i", "image": "b:1", "restartPolicy": "OnFailure"}))
    assert found == {
        "spec.initContainers[0].restartPolicy": 'Unsupported value: "OnFailure": supported values: "Always"'
    }
    app = {"name": "web", "image": "nginx:1.27", "restartPolicy": "Always"}
    found = errors(doc(app=app))
    assert found == {
        "spec.containers[0].restartPolicy": "Forbidden: may not be set for non-init containers"
    }


def test_probes_only_on_sidecars_among_init_containers() -> None:
    found = errors(doc({"name": "i", "image": "b:1", "readinessProbe": PROBE}))
    assert found == {
        "spec.initContainers[0].readinessProbe": (
            "Forbidden: may not be set for init containers without restartPolicy=Always"
        )
    }
    sidecar = {"name": "s", "image": "b:1", "restartPolicy": "Always", "readinessProbe": PROBE}
    assert structure_pod(doc(sidecar)).spec.init_containers[0].readiness_probe is not None


def test_init_container_ports_and_mounts_are_checked_like_any() -> None:
    found = errors(
        doc({"name": "i", "image": "b:1", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]})
    )
    assert found == {"spec.initContainers[0].volumeMounts[0].name": 'Not found: "nope"'}


def _status(*init_states: Doc, app_state: Doc | None = None, initialized: bool = False) -> Doc:
    return {
        "metadata": {"name": "web"},
        "spec": {
            "initContainers": [{"name": f"i{n}"} for n in range(len(init_states))],
            "containers": [{"name": "web"}],
        },
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "Initialized", "status": "True" if initialized else "False"}],
            "initContainerStatuses": [
                {"name": f"i{n}", "state": state} for n, state in enumerate(init_states)
            ],
            "containerStatuses": [
                {"name": "web", "state": app_state or {"waiting": {"reason": "PodInitializing"}}}
            ],
        },
    }


DONE = {"terminated": {"exitCode": 0, "reason": "Completed"}}
RUNNING = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
WAITING = {"waiting": {"reason": "PodInitializing"}}


@pytest.mark.parametrize(
    ("pod", "text"),
    [
        (_status(RUNNING, WAITING), "Init:0/2"),
        (_status(DONE, RUNNING), "Init:1/2"),
        (_status(DONE, {"terminated": {"exitCode": 2, "reason": "Error"}}), "Init:Error"),
        (_status({"terminated": {"exitCode": 7}}), "Init:ExitCode:7"),
        (_status({"waiting": {"reason": "CrashLoopBackOff"}}), "Init:CrashLoopBackOff"),
        (_status(DONE, DONE, initialized=True), "PodInitializing"),
    ],
    ids=["first-runs", "second-runs", "error", "exit-code", "crash-loop", "initialized"],
)
def test_kubectl_status_texts_for_init_containers(pod: Doc, text: str) -> None:
    assert pod_status_text(pod) == text


def test_a_ready_sidecar_counts_in_the_ready_column() -> None:
    pod: Doc = {
        "metadata": {"name": "web"},
        "spec": {
            "initContainers": [{"name": "shipper", "restartPolicy": "Always"}],
            "containers": [{"name": "web"}],
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"}],
            "initContainerStatuses": [
                {"name": "shipper", "state": RUNNING, "ready": True, "started": True}
            ],
            "containerStatuses": [{"name": "web", "state": RUNNING, "ready": False}],
        },
    }
    assert pod_row(pod, 0)[1:3] == ["1/2", "Running"]


def test_restarts_count_init_containers_while_initializing_then_apps_and_sidecars() -> None:
    crashing = {"waiting": {"reason": "CrashLoopBackOff"}}
    initializing = _status(crashing)
    initializing["status"]["initContainerStatuses"][0]["restartCount"] = 4
    assert pod_row(initializing, 0)[3] == "4"
    done = _status(DONE, app_state=RUNNING, initialized=True)
    done["status"]["initContainerStatuses"][0]["restartCount"] = 4
    done["status"]["containerStatuses"][0]["restartCount"] = 1
    assert pod_row(done, 0)[3] == "1"


def _with_cpu(c: Doc, cpu: str) -> Doc:
    return {**c, "resources": {"requests": {"cpu": cpu}}}


def test_requests_count_init_containers_as_kubernetes_does() -> None:
    big_init = _with_cpu({"name": "setup", "image": "b:1"}, "2")
    sidecar = _with_cpu({"name": "s", "image": "b:1", "restartPolicy": "Always"}, "250m")
    app = _with_cpu({"name": "web", "image": "nginx:1.27"}, "500m")
    # the largest init container outweighs the apps
    assert structure_pod(doc(big_init, app=app)).spec.effective_requests().cpu.millis() == 2000  # type: ignore[union-attr]
    # a sidecar counts with the apps, and with the init containers after it
    spec = structure_pod(doc(sidecar, _with_cpu(big_init, "100m"), app=app)).spec
    assert spec.effective_requests().cpu.millis() == 750  # type: ignore[union-attr]
    spec = structure_pod(doc(sidecar, big_init, app=app)).spec
    assert spec.effective_requests().cpu.millis() == 2250  # type: ignore[union-attr]


def test_lifecycle_hooks_are_forbidden_on_init_containers_but_not_on_sidecars() -> None:
    hooks = Lifecycle(pre_stop=LifecycleHandler(sleep=SleepAction(1)))
    plain = attrs.evolve(container("init"), lifecycle=hooks)
    sidecar = attrs.evolve(plain, restart_policy=RestartPolicy.ALWAYS)
    (error,) = init_container_errors("spec.initContainers[0]", plain)
    assert error.path == "spec.initContainers[0].lifecycle"
    assert "may not be set for init containers without restartPolicy=Always" in error.message
    assert init_container_errors("spec.initContainers[0]", sidecar) == []
