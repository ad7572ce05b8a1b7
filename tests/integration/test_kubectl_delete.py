"""`kubectl delete` and the official client's `delete_namespaced_pod` against a real controller.

A ReplicaSet's pod deleted is replaced (the replacement shows in `kubectl get pods -w`); `--now`
and `--grace-period=0 --force` delete at once; a bare pod declared by a file comes back as a new
pod (new uid, running again) and kubectl prints the warning that says so; `kubectl delete rs` is
refused with a Status kubectl prints as `Error from server (MethodNotAllowed): ...`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.integration.harness import ControllerProcess, eventually
from tests.integration.manifests import pod_yaml, replicaset_yaml, write
from tests.integration.test_kubectl_watch import KUBECTL, watching


@pytest.fixture
def controller(docker_host: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    folder = tmp_path / "manifests"
    write(folder, "web.yaml", pod_yaml("web", 1))
    write(folder, "rs.yaml", replicaset_yaml("echo", 3))
    c = ControllerProcess(docker_host, folder, tmp_path / "controller.log")
    c.start()
    yield c
    c.stop()


def pods(c: ControllerProcess) -> dict[str, dict[str, Any]]:
    if not c.ready():
        return {}
    return {p["metadata"]["name"]: p for p in c.get("/api/v1/namespaces/default/pods")["items"]}


def running(c: ControllerProcess, prefix: str = "") -> dict[str, dict[str, Any]]:
    return {
        name: p
        for name, p in pods(c).items()
        if name.startswith(prefix)
        and p["status"]["phase"] == "Running"
        and "deletionTimestamp" not in p["metadata"]
        and all(s.get("ready") for s in p["status"].get("containerStatuses", []))
    }


async def all_running(c: ControllerProcess) -> None:
    await eventually(
        lambda: len(running(c, "echo-")) == 3 and "web" in running(c),
        timeout=90,
        what="three echo pods and web running",
    )


async def kubectl(c: ControllerProcess, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    assert KUBECTL is not None
    proc = await asyncio.create_subprocess_exec(
        KUBECTL,
        "-s",
        c.server,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(timeout):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.kubectl
async def test_kubectl_deletes_pods_and_refuses_workloads(controller: ControllerProcess) -> None:
    await all_running(controller)
    before = set(running(controller, "echo-"))
    victim, quick, forced = sorted(before)

    async with watching(controller.server) as watch:
        await watch.line(lambda cells: cells[:1] == ["NAME"], 30, "the header")
        code, out, err = await kubectl(controller, "delete", "pod", victim)
        assert (code, out.strip()) == (0, f'pod "{victim}" deleted'), err
        replacement = await watch.line(
            lambda c: (
                c[:1] != [victim]
                and c[0].startswith("echo-")
                and c[0] not in before
                and c[2:3] == ["Running"]
            ),
            timeout=60,
            what="the replacement Running",
        )
    assert victim not in pods(controller), "kubectl waited until the pod was gone"
    await eventually(
        lambda: len(running(controller, "echo-")) == 3, timeout=60, what="three echo pods again"
    )
    assert replacement.split()[0] in running(controller, "echo-")

    code, out, err = await kubectl(controller, "delete", "pod", quick, "--now")
    assert (code, out.strip()) == (0, f'pod "{quick}" deleted'), err
    code, out, err = await kubectl(
        controller, "delete", "pod", forced, "--grace-period=0", "--force"
    )
    assert code == 0, err
    assert out.strip() == f'pod "{forced}" force deleted'
    assert "Immediate deletion does not wait for confirmation" in err
    await eventually(
        lambda: (
            len(running(controller, "echo-")) == 3 and not {quick, forced} & set(pods(controller))
        ),
        timeout=60,
        what="both replaced",
    )

    old_uid = pods(controller)["web"]["metadata"]["uid"]
    code, out, err = await kubectl(controller, "delete", "pod", "web")
    assert (code, out.strip()) == (0, 'pod "web" deleted'), err
    assert 'Warning: pod "web" is declared by web.yaml: it is restarted' in err
    assert "it is restarted as a new pod; remove it from the folder to delete it" in err
    await eventually(lambda: "web" in running(controller), timeout=60, what="web running again")
    web = pods(controller)["web"]
    assert web["metadata"]["uid"] != old_uid
    assert [s["restartCount"] for s in web["status"]["containerStatuses"]] == [0]

    code, out, err = await kubectl(controller, "delete", "rs", "echo")
    assert code == 1
    assert err.startswith('Error from server (MethodNotAllowed): replicasets.apps "echo" cannot')
    assert "rs.yaml" in err
    assert "remove it from the folder" in err
    code, out, err = await kubectl(controller, "delete", "pod", "nope")
    assert code == 1
    assert err.strip() == 'Error from server (NotFound): pods "nope" not found'
    assert len(running(controller, "echo-")) == 3, "the refusals deleted nothing"


def core_api(c: ControllerProcess) -> client.CoreV1Api:
    configuration = client.Configuration()
    configuration.host = c.server
    return client.CoreV1Api(client.ApiClient(configuration))


async def test_the_python_client_deletes_pods(controller: ControllerProcess) -> None:
    await all_running(controller)
    api = core_api(controller)
    first, second, _ = sorted(running(controller, "echo-"))
    deleted = await asyncio.to_thread(
        api.delete_namespaced_pod, first, "default", grace_period_seconds=1
    )
    assert deleted.metadata.name == first
    assert deleted.metadata.deletion_timestamp is not None
    assert deleted.metadata.deletion_grace_period_seconds == 1

    uid = running(controller)[second]["metadata"]["uid"]
    with pytest.raises(client.ApiException) as conflict:
        await asyncio.to_thread(
            api.delete_namespaced_pod,
            second,
            "default",
            body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="other")),
        )
    assert conflict.value.status == 409
    options = client.V1DeleteOptions(
        grace_period_seconds=0, preconditions=client.V1Preconditions(uid=uid)
    )
    deleted = await asyncio.to_thread(api.delete_namespaced_pod, second, "default", body=options)
    assert deleted.metadata.deletion_grace_period_seconds == 0

    with pytest.raises(client.ApiException) as missing:
        await asyncio.to_thread(api.delete_namespaced_pod, "nope", "default")
    assert missing.value.status == 404
    assert '"reason":"NotFound"' in missing.value.body
    await eventually(
        lambda: (
            len(running(controller, "echo-")) == 3 and not {first, second} & set(pods(controller))
        ),
        timeout=60,
        what="both replaced",
    )


async def test_every_api_error_is_a_status(controller: ControllerProcess) -> None:
    await eventually(controller.ready, timeout=60, what="controller ready")
    import json
    import urllib.error
    import urllib.request

    def status_of(method: str, path: str) -> dict[str, Any]:
        request = urllib.request.Request(controller.server + path, method=method)
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=5)
        body = json.loads(error.value.read())
        assert body["kind"] == "Status"
        assert body["code"] == error.value.code
        return body

    assert status_of("GET", "/api/v1/nothing")["reason"] == "NotFound"
    assert status_of("GET", "/apis/apps/v1/namespaces/default/nothing/x")["reason"] == "NotFound"
    assert status_of("GET", "/api/v1/pods?labelSelector=a%20in")["reason"] == "BadRequest"
    assert status_of("POST", "/api/v1/namespaces/default/pods")["reason"] == "MethodNotAllowed"
    refused = status_of("DELETE", "/apis/apps/v1/namespaces/default/replicasets/echo")
    assert refused["reason"] == "MethodNotAllowed"
    assert status_of("DELETE", "/api/v1/namespaces/default/pods/nope")["message"] == (
        'pods "nope" not found'
    )
