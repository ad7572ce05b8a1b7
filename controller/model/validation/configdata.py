"""ConfigMap and Secret value rules, and the rules of a pod's references to them.

`validate_config_map` and `validate_secret` check the objects as the API server does (config keys,
base64, the 1 MiB total, the required keys of the common Secret types); `env_ref_errors` and
`config_volume_errors` check a container's `valueFrom` / `envFrom` and a `configMap` / `secret`
volume, called from the pod rules.

Traps:
- A message about a Secret value never shows the value (Kubernetes' messages would quote it; a
  manifest error is logged and served by the API, where a secret must not appear). Keys are shown.
- `stringData` is merged over `data` before the type rules run, as the API server converts first.
- Secret types other than the common ones are accepted and treated as Opaque.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Mapping

from controller.model.configdata import MAX_CONFIG_BYTES, ConfigMap, Secret, decode_base64
from controller.model.configrefs import (
    FIELD_PATHS,
    K8S_ONLY_FIELD_PATHS,
    EnvFromSource,
    EnvVarSource,
    KeyToPath,
)
from controller.model.pod import Container, Volume
from controller.model.validation.meta import (
    DNS1123_SUBDOMAIN_MAX,
    FieldError,
    invalid,
    metadata_errors,
    name_errors,
    required,
    show_value,
)

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_CONFIG_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
    "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
    "regex used for validation is '[-._a-zA-Z0-9]+')"
)
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_ENV_MSG = (
    "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
    "or '.', and must not start with a digit"
)
REQUIRED_KEYS: Mapping[str, tuple[str, ...]] = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
}
"""Keys each common Secret type must hold (the API server's rules)."""
_JSON_KEYS = {
    "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
    "kubernetes.io/dockercfg": ".dockercfg",
}
_FIELD_PATHS_TEXT = ", ".join(json.dumps(p) for p in FIELD_PATHS)


def config_key_problems(key: str) -> list[str]:
    """Kubernetes' IsConfigMapKey: the rules of a key of data, binaryData, stringData and items."""
    problems = []
    if len(key) > DNS1123_SUBDOMAIN_MAX:
        problems.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters")
    if not _CONFIG_KEY.match(key):
        problems.append(_CONFIG_KEY_MSG)
    if key in (".", ".."):
        problems.append(f"must not be '{key}'")
    elif key.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def _keys(field: str, values: Mapping[str, str]) -> list[FieldError]:
    return [
        invalid(f"{field}[{key}]" if not _CONFIG_KEY.match(key) else f"{field}.{key}", key, p)
        for key in values
        for p in config_key_problems(key)
    ]


def _too_big(size: int) -> list[FieldError]:
    if size <= MAX_CONFIG_BYTES:
        return []
    return [FieldError("", f"Too long: may not be more than {MAX_CONFIG_BYTES} bytes")]


def _base64(field: str, values: Mapping[str, str], secret: bool) -> tuple[int, list[FieldError]]:
    size, errors = 0, []
    for key, text in values.items():
        try:
            size += len(decode_base64(text))
        except (binascii.Error, ValueError):
            shown = "<redacted>" if secret else show_value(text)
            errors.append(
                FieldError(f"{field}.{key}", f"Invalid value: {shown}: illegal base64 data")
            )
    return size, errors


def validate_config_map(config_map: ConfigMap) -> list[FieldError]:
    errors = metadata_errors(config_map.metadata)
    errors += _keys("data", config_map.data) + _keys("binaryData", config_map.binary_data)
    for key in config_map.binary_data:
        if key in config_map.data:
            errors.append(invalid(f"binaryData.{key}", key, "duplicate of key present in data"))
    size, base64_errors = _base64("binaryData", config_map.binary_data, secret=False)
    size += sum(len(value.encode()) for value in config_map.data.values())
    return errors + base64_errors + _too_big(size)


def validate_secret(secret: Secret) -> list[FieldError]:
    errors = metadata_errors(secret.metadata)
    errors += _keys("data", secret.data) + _keys("stringData", secret.string_data)
    _, base64_errors = _base64("data", secret.data, secret=True)
    errors += base64_errors
    if base64_errors or errors:
        return errors
    payload = secret.payload()
    errors += _too_big(sum(len(value) for value in payload.values()))
    for key in REQUIRED_KEYS.get(secret.type, ()):
        if key not in payload:
            errors.append(required(f"data[{key}]"))
    if secret.type == "kubernetes.io/basic-auth" and not (
        payload.keys() & {"username", "password"}
    ):
        errors.append(required("data[username]", "or data[password]"))
    json_key = _JSON_KEYS.get(secret.type)
    if json_key is not None and json_key in payload:
        try:
            json.loads(payload[json_key])
        except ValueError:
            errors.append(
                FieldError(f"data[{json_key}]", "Invalid value: <redacted>: not valid JSON")
            )
    return errors


def env_ref_errors(path: str, container: Container) -> list[FieldError]:
    """`env[].valueFrom` and `envFrom` of one container at `path`."""
    errors: list[FieldError] = []
    for j, env in enumerate(container.env):
        if env.value_from is not None:
            epath = f"{path}.env[{j}]"
            if env.value:
                errors.append(
                    invalid(
                        f"{epath}.valueFrom", "", "may not be specified when `value` is not empty"
                    )
                )
            errors += _value_from(f"{epath}.valueFrom", env.value_from)
    for j, source in enumerate(container.env_from):
        errors += _env_from(f"{path}.envFrom[{j}]", source)
    return errors


def _value_from(path: str, source: EnvVarSource) -> list[FieldError]:
    refs = [
        ref
        for ref in (source.config_map_key_ref, source.secret_key_ref, source.field_ref)
        if ref is not None
    ]
    if not refs:
        return [
            invalid(
                path, "", "must specify one of: `fieldRef`, `configMapKeyRef` or `secretKeyRef`"
            )
        ]
    if len(refs) > 1:
        return [invalid(path, "", "may not have more than one field specified at a time")]
    errors: list[FieldError] = []
    for field, ref in (
        ("configMapKeyRef", source.config_map_key_ref),
        ("secretKeyRef", source.secret_key_ref),
    ):
        if ref is None:
            continue
        errors += name_errors(f"{path}.{field}.name", ref.name, rules="subdomain")
        if not ref.key:
            errors.append(required(f"{path}.{field}.key"))
        else:
            errors += [
                invalid(f"{path}.{field}.key", ref.key, p) for p in config_key_problems(ref.key)
            ]
    if source.field_ref is not None:
        fpath, field_path = f"{path}.fieldRef.fieldPath", source.field_ref.field_path
        version = source.field_ref.api_version
        if version not in (None, "", "v1"):
            errors.append(
                FieldError(
                    f"{path}.fieldRef.apiVersion",
                    f'Unsupported value: {show_value(version)}: supported values: "v1"',
                )
            )
        if not field_path:
            errors.append(required(fpath))
        elif field_path.split("[")[0] in K8S_ONLY_FIELD_PATHS:
            errors.append(FieldError(fpath, f"not supported: Podyard resolves {_FIELD_PATHS_TEXT}"))
        elif field_path not in FIELD_PATHS:
            errors.append(
                FieldError(
                    fpath,
                    f"Unsupported value: {show_value(field_path)}: supported values: {_FIELD_PATHS_TEXT}",
                )
            )
    return errors


def _env_from(path: str, source: EnvFromSource) -> list[FieldError]:
    errors: list[FieldError] = []
    if source.prefix and not _ENV_NAME.match(source.prefix):
        errors.append(invalid(f"{path}.prefix", source.prefix, _ENV_MSG))
    refs = [r for r in (source.config_map_ref, source.secret_ref) if r is not None]
    if len(refs) != 1:
        detail = (
            "may not have more than one field specified at a time"
            if refs
            else ("must specify one of: `configMapRef` or `secretRef`")
        )
        return [*errors, invalid(path, "", detail)]
    field = "configMapRef" if source.config_map_ref is not None else "secretRef"
    return errors + name_errors(f"{path}.{field}.name", refs[0].name, rules="subdomain")


def config_volume_errors(path: str, volume: Volume) -> list[FieldError]:
    """A `configMap` or `secret` volume source at `path` (the volume's path)."""
    errors: list[FieldError] = []
    if volume.config_map is not None:
        source = volume.config_map
        spath, name_field, name = f"{path}.configMap", "name", source.name
        items, mode = source.items, source.default_mode
    elif volume.secret is not None:
        secret = volume.secret
        spath, name_field, name = f"{path}.secret", "secretName", secret.secret_name
        items, mode = secret.items, secret.default_mode
    else:
        return []
    errors += name_errors(f"{spath}.{name_field}", name, rules="subdomain")
    if mode is not None:
        errors += _mode(f"{spath}.defaultMode", mode)
    paths: set[str] = set()
    for i, item in enumerate(items):
        errors += _item(f"{spath}.items[{i}]", item, paths)
    return errors


def _mode(path: str, mode: int) -> list[FieldError]:
    if 0 <= mode <= 0o777:
        return []
    return [invalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive")]


def _item(path: str, item: KeyToPath, seen: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    if not item.key:
        errors.append(required(f"{path}.key"))
    else:
        errors += [invalid(f"{path}.key", item.key, p) for p in config_key_problems(item.key)]
    parts = item.path.split("/")
    if not item.path:
        errors.append(required(f"{path}.path"))
    elif item.path.startswith("/"):
        errors.append(invalid(f"{path}.path", item.path, "must be a relative path"))
    elif ".." in parts:
        errors.append(invalid(f"{path}.path", item.path, "must not contain '..'"))
    elif item.path.startswith(".."):
        errors.append(invalid(f"{path}.path", item.path, "must not start with '..'"))
    elif "" in parts or "." in parts:
        errors.append(invalid(f"{path}.path", item.path, "must be a normalized relative path"))
    elif item.path in seen:
        errors.append(FieldError(f"{path}.path", f"Duplicate value: {show_value(item.path)}"))
    seen.add(item.path)
    if item.mode is not None:
        errors += _mode(f"{path}.mode", item.mode)
    return errors
