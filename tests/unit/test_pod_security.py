"""Pod Security Standards: each check refuses with Kubernetes' words; levels and host paths."""

from __future__ import annotations

from typing import Any

import pytest

from controller.decide.podsecurity import (
    Level,
    PodSecurityPolicy,
    forbidden_message,
    host_path_allowed,
    parse_level,
    violations,
)
from controller.model.pod import PodSpec
from controller.serde import structure_pod

BASELINE = PodSecurityPolicy()
RESTRICTED = PodSecurityPolicy(Level.RESTRICTED)
PRIVILEGED = PodSecurityPolicy(Level.PRIVILEGED)


def spec(container: dict[str, Any] | None = None, **pod: Any) -> PodSpec:
    """A pod spec with one container `app` (extra container fields merged) and pod fields."""
    body: dict[str, Any] = {"name": "app", "image": "web:1", **(container or {})}
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [body], **pod},
    }
    return structure_pod(manifest).spec


def refusal(found_spec: PodSpec, policy: PodSecurityPolicy = BASELINE) -> str:
    return forbidden_message(policy.level, violations(found_spec, policy))


BASELINE_CASES = {
    "privileged": (
        spec({"securityContext": {"privileged": True}}),
        'privileged (container "app" must not set securityContext.privileged=true)',
    ),
    "hostNetwork": (spec(hostNetwork=True), "host namespaces (hostNetwork=true)"),
    "hostPID": (spec(hostPID=True), "host namespaces (hostPID=true)"),
    "hostIPC": (spec(hostIPC=True), "host namespaces (hostIPC=true)"),
    "hostPath": (
        spec(volumes=[{"name": "root", "hostPath": {"path": "/"}}]),
        'hostPath volumes (volume "root")',
    ),
    "SYS_ADMIN": (
        spec({"securityContext": {"capabilities": {"add": ["SYS_ADMIN", "CHOWN"]}}}),
        'non-default capabilities (container "app" must not include "SYS_ADMIN" in '
        "securityContext.capabilities.add)",
    ),
    "seccomp pod": (
        spec(securityContext={"seccompProfile": {"type": "Unconfined"}}),
        'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    ),
    "seccomp container": (
        spec({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
        'seccompProfile (container "app" must not set securityContext.seccompProfile.type to '
        '"Unconfined")',
    ),
    "sysctls": (
        spec(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}),
        "forbidden sysctls (kernel.msgmax)",
    ),
    "procMount": (
        spec({"securityContext": {"procMount": "Unmasked"}}),
        'procMount (container "app" must not set securityContext.procMount to "Unmasked")',
    ),
    "appArmor": (
        spec(securityContext={"appArmorProfile": {"type": "Unconfined"}}),
        'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")',
    ),
}


@pytest.mark.parametrize("case", sorted(BASELINE_CASES))
def test_each_baseline_check_refuses_in_kubernetes_words(case: str) -> None:
    found_spec, detail = BASELINE_CASES[case]
    assert refusal(found_spec) == f'violates PodSecurity "baseline:latest": {detail}'
    assert violations(found_spec, PRIVILEGED) == []


def test_several_checks_and_containers_are_joined_as_kubernetes_joins_them() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "hostNetwork": True,
            "hostPID": True,
            "containers": [
                {"name": "a", "image": "x", "securityContext": {"privileged": True}},
                {"name": "b", "image": "x", "securityContext": {"privileged": True}},
            ],
        },
    }
    assert refusal(structure_pod(manifest).spec) == (
        'violates PodSecurity "baseline:latest": privileged (containers "a", "b" must not set '
        "securityContext.privileged=true), host namespaces (hostNetwork=true, hostPID=true)"
    )


def test_baseline_allows_what_it_should() -> None:
    ok = spec(
        {
            "ports": [{"containerPort": 80, "hostPort": 8080}],
            "securityContext": {
                "capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
                "privileged": False,
                "runAsUser": 0,
            },
        },
        securityContext={"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]},
    )
    assert violations(ok, BASELINE) == []


def test_host_path_under_an_allowed_prefix_is_admitted_by_whole_components() -> None:
    data = spec(volumes=[{"name": "d", "hostPath": {"path": "/srv/data/x"}}])
    assert violations(data, PodSecurityPolicy(allowed_host_paths=("/srv/data",))) == []
    assert violations(data, PodSecurityPolicy(allowed_host_paths=("/srv/dat",))) != []
    assert host_path_allowed("/srv/data", ["/srv/data/"])
    assert not host_path_allowed("/srv/database", ["/srv/data"])
    assert not host_path_allowed("/srv/data/../../etc", ["/srv/data"])
    assert violations(spec(volumes=[{"name": "r", "hostPath": {"path": "/"}}]), PRIVILEGED) == []


def test_restricted_checks_in_kubernetes_words() -> None:
    assert refusal(spec(), RESTRICTED) == (
        'violates PodSecurity "restricted:latest": '
        'allowPrivilegeEscalation != false (container "app" must set '
        "securityContext.allowPrivilegeEscalation=false), "
        'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost"), '
        'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"])'
    )


def test_restricted_refuses_root_added_capabilities_and_any_host_path() -> None:
    bad = spec(
        {
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "runAsNonRoot": False,
                "runAsUser": 0,
                "capabilities": {"drop": ["ALL"], "add": ["NET_RAW"]},
            }
        },
        securityContext={"seccompProfile": {"type": "RuntimeDefault"}},
        volumes=[{"name": "d", "hostPath": {"path": "/srv/data"}}],
    )
    policy = PodSecurityPolicy(Level.RESTRICTED, allowed_host_paths=("/srv",))
    assert [str(v) for v in violations(bad, policy)] == [
        'non-default capabilities (container "app" must not include "NET_RAW" in '
        "securityContext.capabilities.add)",
        'restricted volume types (volume "d" uses restricted volume type "hostPath")',
        'runAsNonRoot != true (container "app" must not set securityContext.runAsNonRoot=false)',
        'runAsUser=0 (container "app" must not set runAsUser=0)',
        'unrestricted capabilities (container "app" must not include "NET_RAW" in '
        "securityContext.capabilities.add)",
    ]


def test_a_restricted_compliant_pod_is_admitted() -> None:
    good = spec(
        {
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            }
        },
        securityContext={
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    )
    assert violations(good, RESTRICTED) == []


def test_levels_are_parsed_as_kubernetes_names_them() -> None:
    assert parse_level("restricted") is Level.RESTRICTED
    assert parse_level("Restricted") is None


def test_init_containers_and_sidecars_are_checked_like_app_containers() -> None:
    privileged = {"name": "setup", "image": "x", "securityContext": {"privileged": True}}
    sidecar = {
        "name": "proxy",
        "image": "x",
        "restartPolicy": "Always",
        "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}},
    }
    found = spec(initContainers=[privileged, sidecar])
    message = refusal(found)
    assert 'privileged (container "setup" must not set securityContext.privileged=true)' in message
    assert '"proxy"' in message
    assert "SYS_ADMIN" in message
