"""A container's security settings and Podyard's per-container defaults, as Docker's create body.

Role: `add_security(config, body, host)` writes a `ContainerSecurity` into the body of
`POST /containers/create` (Privileged, CapAdd/CapDrop, User, GroupAdd, ReadonlyRootfs, SecurityOpt,
Sysctls, host namespaces); `add_defaults(host, settings, log_driver)` adds what every container
gets (PidsLimit, log rotation); `check_non_root(config, image_user)` is runAsNonRoot, judged on the
image's configured user as the kubelet judges it. Pure: the engine's answers come in as arguments.

Traps:
- Log options belong to a driver: `max-size`/`max-file` are only set when the engine's default
  driver is `json-file` or `local` (which both rotate with them); any other driver (journald,
  syslog, none) is left as the operator configured it, options and all.
- runAsNonRoot with an explicit runAsUser is judged on that uid. Without one, the image's user
  decides: empty, `root`, `0` or `0:...` is root; a user name cannot be verified without the
  image's /etc/passwd, and is refused as the kubelet refuses it.
- Host namespaces: the sandbox takes the host's; app containers join the sandbox's network and take
  the host's PID/IPC namespaces directly (see `body._add_namespaces`, which this overrides).
"""

from __future__ import annotations

from typing import Any

from controller.config import RuntimeSettings
from controller.model.plan import ContainerConfig

ROTATING_DRIVERS = frozenset({"json-file", "local"})


def add_security(config: ContainerConfig, body: dict[str, Any], host: dict[str, Any]) -> None:
    """The container's securityContext (and, for a sandbox, the pod's sysctls and namespaces)."""
    sec = config.security
    if sec.privileged:
        host["Privileged"] = True
    if sec.cap_add:
        host["CapAdd"] = list(sec.cap_add)
    if sec.cap_drop:
        host["CapDrop"] = list(sec.cap_drop)
    if sec.user is not None:
        body["User"] = sec.user
    if sec.group_add:
        host["GroupAdd"] = list(sec.group_add)
    if sec.read_only_root:
        host["ReadonlyRootfs"] = True
    options: list[str] = []
    if sec.no_new_privileges:
        options.append("no-new-privileges:true")
    if sec.seccomp_unconfined:
        options.append("seccomp=unconfined")
    if sec.app_armor is not None:
        options.append(f"apparmor={sec.app_armor}")
    if sec.unmasked_proc:
        options.append("systempaths=unconfined")
    if options:
        host["SecurityOpt"] = options
    if sec.sysctls:
        host["Sysctls"] = dict(sec.sysctls)
    _add_host_namespaces(config, body, host)


def _add_host_namespaces(
    config: ContainerConfig, body: dict[str, Any], host: dict[str, Any]
) -> None:
    sec = config.security
    if config.join_sandbox is None:
        if sec.host_network:
            host["NetworkMode"] = "host"
            host.pop("PortBindings", None)  # the host's ports are the pod's already
            body.pop("ExposedPorts", None)
            body.pop("Hostname", None)  # the host's name, as in Kubernetes
        if sec.host_ipc:
            host["IpcMode"] = "host"
    else:
        if sec.host_ipc:
            host["IpcMode"] = "host"
    if sec.host_pid:
        host["PidMode"] = "host"


def add_defaults(host: dict[str, Any], settings: RuntimeSettings, log_driver: str | None) -> None:
    """Every container's PID limit and, where the driver rotates, its log rotation."""
    if settings.pids_limit is not None:
        host["PidsLimit"] = settings.pids_limit
    if log_driver in ROTATING_DRIVERS:
        host["LogConfig"] = {
            "Type": log_driver,
            "Config": {
                "max-size": settings.log_max_size,
                "max-file": str(settings.log_max_files),
            },
        }


def check_non_root(config: ContainerConfig, image_user: str) -> str | None:
    """Why the container may not run under runAsNonRoot (the kubelet's words), or None."""
    if not config.security.run_as_non_root:
        return None
    if config.security.user is not None:
        uid = config.security.user.split(":", 1)[0]
        if uid == "0":
            return (
                f"container's runAsUser breaks non-root policy (container: "
                f"{config.identity.container_name})"
            )
        return None
    user = image_user.split(":", 1)[0]
    if user in ("", "0", "root"):
        return "container has runAsNonRoot and image will run as root"
    if not user.isdigit():
        return (
            f"container has runAsNonRoot and image has non-numeric user ({user}), "
            "cannot verify user is non-root"
        )
    return None
