"""securityContext to Docker: the pod's context merged into each container's, then the body."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from controller.config import RuntimeSettings
from controller.decide.securitycontext import container_security, sandbox_security
from controller.model.meta import PodRef, PodUid
from controller.model.observed import ContainerIdentity, ContainerRole
from controller.model.plan import ContainerConfig, ContainerSecurity
from controller.model.pod import Pod, PodSpec, PullPolicy
from controller.runtime.docker.security import add_defaults, add_security, check_non_root
from controller.serde import ManifestInvalid, structure_pod
from controller.serde.converter import converter

IDENTITY = ContainerIdentity(
    PodRef("ns", "web", PodUid("u")), "app", ContainerRole.APP, 0, "h", "ph", 1.0
)


def spec(container: dict[str, Any], **pod: Any) -> PodSpec:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "web:1", **container}], **pod},
    }
    return structure_pod(manifest).spec


def config(security: ContainerSecurity, sandbox: bool = False) -> ContainerConfig:
    return ContainerConfig(
        "podyard-web-app",
        IDENTITY,
        "img:1",
        PullPolicy.NEVER,
        join_sandbox=None if sandbox else "podyard-web-sandbox",
        security=security,
    )


def body_of(security: ContainerSecurity, sandbox: bool = False) -> dict[str, Any]:
    host: dict[str, Any] = {}
    body: dict[str, Any] = {"HostConfig": host, "Hostname": "web"}
    add_security(config(security, sandbox), body, host)
    return body


def test_the_container_wins_and_inherits_the_rest_of_the_pod() -> None:
    pod_spec = spec(
        {
            "securityContext": {
                "runAsUser": 2000,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
            }
        },
        securityContext={
            "runAsUser": 1000,
            "runAsGroup": 3000,
            "runAsNonRoot": True,
            "fsGroup": 4000,
            "supplementalGroups": [5000, 4000],
            "seccompProfile": {"type": "Unconfined"},
        },
    )
    sec = container_security(pod_spec, pod_spec.containers[0])
    assert sec == ContainerSecurity(
        cap_add=("NET_BIND_SERVICE",),
        cap_drop=("ALL",),
        user="2000:3000",
        group_add=("4000", "5000"),
        read_only_root=True,
        no_new_privileges=True,
        seccomp_unconfined=True,
        run_as_non_root=True,
    )
    assert body_of(sec) == {
        "Hostname": "web",
        "User": "2000:3000",
        "HostConfig": {
            "CapAdd": ["NET_BIND_SERVICE"],
            "CapDrop": ["ALL"],
            "GroupAdd": ["4000", "5000"],
            "ReadonlyRootfs": True,
            "SecurityOpt": ["no-new-privileges:true", "seccomp=unconfined"],
        },
    }


def test_a_group_without_a_user_is_added_to_the_groups() -> None:
    pod_spec = spec({"securityContext": {"runAsGroup": 7}})
    sec = container_security(pod_spec, pod_spec.containers[0])
    assert (sec.user, sec.group_add) == (None, ("7",))


def test_privileged_and_apparmor() -> None:
    pod_spec = spec(
        {
            "securityContext": {
                "privileged": True,
                "appArmorProfile": {"type": "Unconfined"},
                "procMount": "Unmasked",
            }
        }
    )
    host = body_of(container_security(pod_spec, pod_spec.containers[0]))["HostConfig"]
    assert host == {
        "Privileged": True,
        "SecurityOpt": ["apparmor=unconfined", "systempaths=unconfined"],
    }


def test_the_sandbox_takes_sysctls_and_the_host_namespaces() -> None:
    pod_spec = spec(
        {},
        hostNetwork=True,
        hostPID=True,
        hostIPC=True,
        securityContext={"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]},
    )
    sandbox = body_of(sandbox_security(pod_spec), sandbox=True)
    assert sandbox == {
        "HostConfig": {
            "Sysctls": {"net.ipv4.tcp_syncookies": "1"},
            "NetworkMode": "host",
            "IpcMode": "host",
            "PidMode": "host",
        }
    }
    app = body_of(container_security(pod_spec, pod_spec.containers[0]))
    assert app["HostConfig"] == {"IpcMode": "host", "PidMode": "host"}


def test_defaults_set_pids_and_rotate_logs_only_for_rotating_drivers() -> None:
    host: dict[str, Any] = {}
    add_defaults(host, RuntimeSettings(), "json-file")
    assert host == {
        "PidsLimit": 1024,
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}},
    }
    other: dict[str, Any] = {}
    add_defaults(other, RuntimeSettings(pids_limit=None), "journald")
    assert other == {}


def test_run_as_non_root_is_judged_on_the_user_that_will_run() -> None:
    non_root = config(ContainerSecurity(run_as_non_root=True))
    root_message = "container has runAsNonRoot and image will run as root"
    assert check_non_root(non_root, "") == root_message
    assert check_non_root(non_root, "0:0") == root_message
    assert check_non_root(non_root, "root") == root_message
    assert check_non_root(non_root, "1000") is None
    assert "non-numeric user (app)" in str(check_non_root(non_root, "app"))
    as_root = config(ContainerSecurity(run_as_non_root=True, user="0"))
    assert "runAsUser breaks non-root policy" in str(check_non_root(as_root, "1000"))
    with_user = attrs.evolve(non_root, security=ContainerSecurity(run_as_non_root=True, user="5"))
    assert check_non_root(with_user, "") is None
    assert check_non_root(config(ContainerSecurity()), "") is None


def test_security_fields_round_trip_in_kubernetes_names() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "hostNetwork": True,
            "hostPID": True,
            "hostIPC": True,
            "securityContext": {
                "runAsUser": 1,
                "fsGroup": 2,
                "sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}],
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "c",
                    "image": "x",
                    "securityContext": {
                        "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                        "appArmorProfile": {"type": "Localhost", "localhostProfile": "p"},
                    },
                }
            ],
        },
    }
    pod = structure_pod(manifest)
    shown = converter.unstructure(pod, Pod)
    assert shown["spec"]["hostPID"] is True
    assert shown["spec"]["securityContext"]["fsGroup"] == 2
    assert shown["spec"]["containers"][0]["securityContext"]["appArmorProfile"] == {
        "type": "Localhost",
        "localhostProfile": "p",
    }
    assert structure_pod(shown) == pod


def test_a_localhost_seccomp_profile_is_not_supported() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "a"}},
            "containers": [{"name": "c", "image": "x"}],
        },
    }
    with pytest.raises(ManifestInvalid) as info:
        structure_pod(manifest)
    assert [str(e) for e in info.value.errors] == [
        'spec.securityContext.seccompProfile.type: Unsupported value: "Localhost": not '
        'supported; supported values: "RuntimeDefault", "Unconfined"'
    ]


def test_malformed_security_values_are_refused_in_kubernetes_words() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "securityContext": {
                "runAsUser": -1,
                "sysctls": [{"name": "Bad Name", "value": "1"}],
                "appArmorProfile": {"type": "Localhost"},
            },
            "containers": [
                {
                    "name": "c",
                    "image": "x",
                    "securityContext": {"procMount": "Odd", "runAsGroup": 2147483648},
                }
            ],
        },
    }
    with pytest.raises(ManifestInvalid) as info:
        structure_pod(manifest)
    found = {e.path: e.message for e in info.value.errors}
    assert found["spec.securityContext.runAsUser"] == (
        "Invalid value: -1: must be between 0 and 2147483647, inclusive"
    )
    assert found["spec.securityContext.sysctls[0].name"].startswith('Invalid value: "Bad Name"')
    assert found["spec.securityContext.appArmorProfile.localhostProfile"].startswith(
        "Required value"
    )
    assert found["spec.containers[0].securityContext.procMount"] == (
        'Unsupported value: "Odd": supported values: "Default", "Unmasked"'
    )
    assert "spec.containers[0].securityContext.runAsGroup" in found
