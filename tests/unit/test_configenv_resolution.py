"""Env and volume files from ConfigMaps, Secrets and the downward API (pure resolution)."""

from __future__ import annotations

import base64

import pytest

from controller.decide.configenv import (
    ConfigLookups,
    ConfigMissing,
    PodFacts,
    resolve_env,
    volume_files,
)
from controller.model.configdata import ConfigMap, Secret
from controller.model.configrefs import (
    ConfigMapEnvSource,
    ConfigMapKeySelector,
    ConfigMapVolumeSource,
    EnvFromSource,
    EnvVarSource,
    KeyToPath,
    ObjectFieldSelector,
    SecretEnvSource,
    SecretKeySelector,
    SecretVolumeSource,
)
from controller.model.meta import ObjectMeta
from controller.model.plan import EnvSpec
from controller.model.pod import EnvVar, Volume

CM = ConfigMap(
    ObjectMeta("cfg"), data={"a": "1", "b": "2", "bad key": "x"}, binary_data={"bin": "AAE="}
)
SECRET = Secret(ObjectMeta("sec"), data={"pw": base64.b64encode(b"p").decode()})
FACTS = PodFacts("default", "web", "node-a", "10.0.0.7", "127.0.0.1")


def _lookups(*objects: ConfigMap | Secret) -> ConfigLookups:
    by_name = {(o.kind, o.metadata.namespace, o.metadata.name): o for o in objects}

    def config_map(ns: str, name: str) -> ConfigMap | None:
        found = by_name.get(("ConfigMap", ns, name))
        return found if isinstance(found, ConfigMap) else None

    def secret(ns: str, name: str) -> Secret | None:
        found = by_name.get(("Secret", ns, name))
        return found if isinstance(found, Secret) else None

    return ConfigLookups(config_map, secret)


def _ref(key: str, name: str = "cfg", optional: bool | None = None) -> EnvVarSource:
    return EnvVarSource(config_map_key_ref=ConfigMapKeySelector(key, name, optional))


def test_env_from_then_env_in_order_with_prefix_and_invalid_names_skipped() -> None:
    spec = EnvSpec(
        env=(
            EnvVar("A_a", "literal"),
            EnvVar("PW", value_from=EnvVarSource(secret_key_ref=SecretKeySelector("pw", "sec"))),
        ),
        env_from=(
            EnvFromSource("A_", config_map_ref=ConfigMapEnvSource("cfg")),
            EnvFromSource(secret_ref=SecretEnvSource("sec")),
        ),
    )
    resolved = resolve_env(spec, FACTS, _lookups(CM, SECRET))
    assert resolved.env == (("A_a", "literal"), ("A_b", "2"), ("pw", "p"), ("PW", "p"))
    assert resolved.skipped == ("A_bad key",)  # and binaryData is never env, as in the kubelet


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("metadata.name", "web"),
        ("metadata.namespace", "default"),
        ("spec.nodeName", "node-a"),
        ("status.podIP", "10.0.0.7"),
        ("status.hostIP", "127.0.0.1"),
    ],
)
def test_field_refs(field: str, value: str) -> None:
    env = EnvVar("X", value_from=EnvVarSource(field_ref=ObjectFieldSelector(field)))
    assert resolve_env(EnvSpec(env=(env,)), FACTS, _lookups()).env == (("X", value),)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (_ref("a", "nope"), 'configmap "nope" not found'),
        (_ref("zz"), "couldn't find key zz in ConfigMap default/cfg"),
        (
            EnvVarSource(secret_key_ref=SecretKeySelector("k", "sec")),
            "couldn't find key k in Secret default/sec",
        ),
        (EnvVarSource(secret_key_ref=SecretKeySelector("k", "gone")), 'secret "gone" not found'),
    ],
    ids=["configmap", "key", "secret-key", "secret"],
)
def test_missing_sources_say_what_the_kubelet_says(source: EnvVarSource, message: str) -> None:
    with pytest.raises(ConfigMissing, match=message):
        resolve_env(EnvSpec(env=(EnvVar("X", value_from=source),)), FACTS, _lookups(CM, SECRET))


def test_optional_missing_sources_leave_the_variable_out() -> None:
    env = (
        EnvVar("X", value_from=_ref("zz", optional=True)),
        EnvVar("Y", value_from=_ref("a", "nope", optional=True)),
    )
    assert resolve_env(EnvSpec(env=env), FACTS, _lookups(CM)).env == ()


def test_volume_files_all_keys_items_and_modes() -> None:
    whole = Volume("v", config_map=ConfigMapVolumeSource("cfg"))
    files = volume_files(whole, "default", _lookups(CM))
    assert files["bin"] == (b"\x00\x01", 0o644)
    assert files["a"] == (b"1", 0o644)
    picked = Volume(
        "v",
        secret=SecretVolumeSource(
            "sec", items=(KeyToPath("pw", "db/password", 0o400),), default_mode=0o440
        ),
    )
    assert volume_files(picked, "default", _lookups(SECRET)) == {"db/password": (b"p", 0o400)}


def test_volume_files_missing() -> None:
    optional = Volume("v", config_map=ConfigMapVolumeSource("nope", optional=True))
    assert volume_files(optional, "default", _lookups()) == {}
    with pytest.raises(ConfigMissing, match="configmap references non-existent config key: zz"):
        volume_files(
            Volume("v", config_map=ConfigMapVolumeSource("cfg", items=(KeyToPath("zz", "z"),))),
            "default",
            _lookups(CM),
        )
    with pytest.raises(ConfigMissing, match='secret "nope" not found'):
        volume_files(Volume("v", secret=SecretVolumeSource("nope")), "default", _lookups())
