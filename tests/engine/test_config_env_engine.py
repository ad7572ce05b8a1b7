"""ConfigMaps and Secrets as env and volume files against the fake runtime: a missing key or
object waits, then starts; an edit rewrites the files without a new container."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from controller.model.configdata import ConfigMap, Secret
from controller.model.configrefs import (
    ConfigMapEnvSource,
    ConfigMapKeySelector,
    ConfigMapVolumeSource,
    EnvFromSource,
    EnvVarSource,
    ObjectFieldSelector,
    SecretKeySelector,
)
from controller.model.meta import ObjectMeta
from controller.model.pod import EnvVar, Volume, VolumeMount
from controller.model.status import PodPhase, Waiting
from tests.engine.conftest import Harness, turns_until
from tests.factories import container, desired, pod


def _settings(**data: str) -> ConfigMap:
    return ConfigMap(ObjectMeta("settings"), data=data)


def _app() -> EnvVar:
    return EnvVar("GREETING", value_from=EnvVarSource(ConfigMapKeySelector("greeting", "settings")))


def _env_of(harness: Harness, name: str) -> dict[str, str]:
    records = [
        r for r in harness.runtime.containers.values() if r.config.identity.container_name == name
    ]
    assert records, f"no container {name}"
    return dict(records[-1].config.env)


async def test_a_missing_key_waits_in_create_container_config_error_then_starts(
    harness: Harness,
) -> None:
    harness.engine.set_configs([_settings(other="x")])
    await harness.start([desired(pod(containers=[container("a", env=(_app(),))]))])
    state = harness.view().status.container_statuses[0].state
    assert isinstance(state, Waiting)
    assert state.reason == "CreateContainerConfigError"
    assert state.message == "couldn't find key greeting in ConfigMap default/settings"
    harness.engine.set_configs([_settings(other="x", greeting="hello")])
    await harness.settle()  # no clock move: the change requeues the pod at once
    assert harness.view().status.phase is PodPhase.RUNNING
    assert _env_of(harness, "a") == {"GREETING": "hello"}


async def test_a_missing_config_map_names_it_and_optional_refs_are_left_out(
    harness: Harness,
) -> None:
    optional = EnvVar(
        "MAYBE",
        value_from=EnvVarSource(ConfigMapKeySelector("k", "absent", optional=True)),
    )
    await harness.start([desired(pod(containers=[container("a", env=(_app(), optional))]))])
    state = harness.view().status.container_statuses[0].state
    assert isinstance(state, Waiting)
    assert state.message == 'configmap "settings" not found'
    harness.engine.set_configs([_settings(greeting="hi")])
    await harness.settle()
    assert _env_of(harness, "a") == {"GREETING": "hi"}


async def test_env_from_secret_and_field_refs_resolve_at_create_time_only(
    harness: Harness,
) -> None:
    token = base64.b64encode(b"s3cret").decode()
    secret = Secret(ObjectMeta("creds"), data={"token": token})
    env = (
        EnvVar(
            "TOKEN", value_from=EnvVarSource(secret_key_ref=SecretKeySelector("token", "creds"))
        ),
        EnvVar("POD", value_from=EnvVarSource(field_ref=ObjectFieldSelector("metadata.name"))),
        EnvVar("NODE", value_from=EnvVarSource(field_ref=ObjectFieldSelector("spec.nodeName"))),
        EnvVar("HOST", value_from=EnvVarSource(field_ref=ObjectFieldSelector("status.hostIP"))),
        EnvVar("GREETING", "literal wins over envFrom"),
    )
    env_from = (EnvFromSource("CFG_", config_map_ref=ConfigMapEnvSource("settings")),)
    harness.engine.set_configs([_settings(greeting="hello", bad_key="x"), secret])
    await harness.start([desired(pod(containers=[container("a", env=env, env_from=env_from)]))])
    assert harness.view().status.phase is PodPhase.RUNNING
    assert _env_of(harness, "a") == {
        "CFG_greeting": "hello",
        "CFG_bad_key": "x",
        "TOKEN": "s3cret",
        "POD": "web",
        "NODE": "node-a",
        "HOST": "127.0.0.1",
        "GREETING": "literal wins over envFrom",
    }
    started = [c for c in harness.runtime.calls if c.startswith("create podyard_a_")]
    harness.engine.set_configs([_settings(greeting="changed"), secret])
    await harness.settle()
    assert [c for c in harness.runtime.calls if c.startswith("create podyard_a_")] == started
    assert _env_of(harness, "a")["CFG_greeting"] == "hello"  # env never changes after start


def _volume_engine(harness: Harness, base: Path) -> None:
    """The harness's engine, its configMap volume files under `base` instead of the host's."""
    harness.engine.config_volumes.base_dir = str(base)


async def test_config_map_volume_files_follow_edits_without_a_new_container(
    harness: Harness, tmp_path: Path
) -> None:
    _volume_engine(harness, tmp_path)
    volume = Volume("cfg", config_map=ConfigMapVolumeSource("settings"))
    app = container("a", volume_mounts=(VolumeMount("cfg", "/etc/cfg"),))
    harness.engine.set_configs([_settings(greeting="hello")])
    await harness.start([desired(pod(containers=[app], volumes=[volume]))])
    assert harness.view().status.phase is PodPhase.RUNNING
    (uid,) = os.listdir(tmp_path)
    greeting = tmp_path / uid / "cfg" / "greeting"
    assert greeting.read_text() == "hello"
    creates = [c for c in harness.runtime.calls if c.startswith("create ")]
    harness.engine.set_configs([_settings(greeting="bonjour")])
    await turns_until(lambda: greeting.read_text() == "bonjour", "the file rewritten")
    assert [c for c in harness.runtime.calls if c.startswith("create ")] == creates
    harness.engine.set_desired([])
    await harness.advance(31)
    await turns_until(lambda: not os.listdir(tmp_path), "the pod's folder removed")


async def test_a_missing_config_map_volume_waits_then_starts(
    harness: Harness, tmp_path: Path
) -> None:
    _volume_engine(harness, tmp_path)
    volume = Volume("cfg", config_map=ConfigMapVolumeSource("settings"))
    app = container("a", volume_mounts=(VolumeMount("cfg", "/etc/cfg"),))
    await harness.start([desired(pod(containers=[app], volumes=[volume]))])
    state = harness.view().status.container_statuses[0].state
    assert isinstance(state, Waiting)
    assert (state.reason, state.message) == (
        "CreateContainerConfigError",
        'configmap "settings" not found',
    )
    harness.engine.set_configs([_settings(greeting="hi")])
    await harness.settle()
    assert harness.view().status.phase is PodPhase.RUNNING
