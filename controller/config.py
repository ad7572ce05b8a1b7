"""Settings, grouped by concern, frozen, every field with its unit and the reason for its default.

Defaults copy the kubelet where a Kubernetes user would expect the same behaviour; tests shorten the
timers instead of sleeping through them.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from controller.model.placement import Taint


@attrs.frozen
class BackoffSettings:
    """CrashLoopBackOff, as the kubelet does it: first restart at once, then doubling to a cap."""

    initial_seconds: float = 10.0
    """Delay before the second restart (seconds); kubelet's 10 s."""
    max_seconds: float = 300.0
    """Cap of the doubling delay (seconds); kubelet's 5 minutes."""
    reset_after_seconds: float = 600.0
    """A container that ran this long (seconds) restarts at once again; kubelet's 10 minutes."""

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.initial_seconds <= self.max_seconds:
            raise ValueError("backoff: need 0 <= initial_seconds <= max_seconds")
        if self.reset_after_seconds <= 0:
            raise ValueError("backoff: reset_after_seconds must be positive")


@attrs.frozen
class ImagePullSettings:
    """ErrImagePull -> ImagePullBackOff timing; the kubelet uses the same 10 s .. 300 s shape."""

    initial_seconds: float = 10.0
    max_seconds: float = 300.0
    pull_timeout_seconds: float = 600.0
    """A pull that takes longer (seconds) is abandoned and reported as ErrImagePull."""


@attrs.frozen
class RuntimeSettings:
    """How Podyard talks to each Docker engine."""

    pause_image: str = "registry.k8s.io/pause:3.10"
    """Sandbox image; when absent and unpullable, a local FROM-scratch catatonit image is built."""
    call_timeout_seconds: float = 30.0
    """Deadline on every non-streaming Docker call: a hung engine must not hang the controller."""
    relist_interval_seconds: float = 10.0
    """Full relist of each engine (seconds): events are hints and can be lost; the relist is truth."""
    relist_retry_seconds: float = 0.5
    """First wait (seconds) before relisting again after a failed relist, doubling up to the
    interval. Until a relist succeeds nothing is done to the node's pods (knowledge before
    action), so one dropped call must not stall them for a whole interval."""
    events_reconnect_max_seconds: float = 5.0
    """Cap of the event-stream reconnect backoff (seconds)."""
    subpath_dir: str = "/var/lib/podyard/subpaths"
    """Where Podyard bind-mounts each container's subPaths for the engine to bind: root-owned, on
    the engine's host, like the kubelet's `volume-subpaths` under /var/lib/kubelet. A reboot leaves
    only empty folders there, which the first listing sweeps; no `:` in it (Docker's bind syntax)."""
    config_volume_dir: str = "/var/lib/podyard/configvolumes"
    """Where Podyard writes the files of configMap and secret volumes, one folder per pod
    instance and volume, for the engine to bind read-only (like the kubelet's pod volume folders
    under /var/lib/kubelet/pods). Secret volumes are tmpfs mounts inside it. Root-owned, on the
    engine's host; no `:` in it (Docker's bind syntax)."""
    calls_per_node: int = 8
    """Engine calls that do work (list, inspect, create, start, remove, volumes) in flight at once
    per node, whatever the number of pods: on 2 cores bring-up saturates at about 4 pods at once,
    and 8 leaves room for the relist, the event-driven inspects and probe kills beside them. Calls
    that mostly wait (a stop in its grace period, a pull, a probe, the event stream) take no slot,
    so a pod waiting never holds up another pod's calls. A call that finds no free slot within
    `call_timeout_seconds` fails as if the engine did not answer."""
    pids_limit: int | None = 1024
    """Processes (and threads) each container may have at once (Docker's PidsLimit): a fork bomb
    in one container must not exhaust the host's PIDs; 1024 is far above what a service needs.
    None sets no limit."""
    log_max_size: str = "10m"
    """Size at which Docker rotates a container's log (json-file and local drivers only)."""
    log_max_files: int = 3
    """Rotated log files kept per container: with 10m, at most 30 MB of log per container."""

    def __attrs_post_init__(self) -> None:
        if self.calls_per_node < 1:
            raise ValueError("runtime: calls_per_node must be at least 1")
        if self.pids_limit is not None and self.pids_limit < 1:
            raise ValueError("runtime: pids_limit must be at least 1 (or None for no limit)")
        if self.log_max_files < 1:
            raise ValueError("runtime: log_max_files must be at least 1")


POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")


@attrs.frozen
class PodSecuritySettings:
    """Pod Security admission of the folder's pods and pod templates (see decide.podsecurity)."""

    level: str = "baseline"
    """Level for namespaces without a `pod-security.kubernetes.io/enforce` label: Kubernetes'
    "baseline" by default, as a folder anyone can write to must not be a root shell on the host."""
    allowed_host_paths: tuple[str, ...] = ()
    """Absolute host paths under which "baseline" admits hostPath volumes; none by default."""

    def __attrs_post_init__(self) -> None:
        if self.level not in POD_SECURITY_LEVELS:
            raise ValueError(f"pod security: level must be one of {', '.join(POD_SECURITY_LEVELS)}")
        if any(not p.startswith("/") for p in self.allowed_host_paths):
            raise ValueError("pod security: allowed host paths must be absolute")


@attrs.frozen
class EngineSettings:
    """The reconcile machinery."""

    retry_initial_seconds: float = 0.05
    """First retry delay after a reconcile error (seconds); doubles per failure of the same key."""
    retry_max_seconds: float = 30.0
    """Cap of the per-key retry delay (seconds)."""
    failed_pods_kept: int = 1
    """Finished (Failed/Succeeded) pods a ReplicaSet keeps for inspection, newest first; each
    holds stopped containers on the host, so few are kept (Kubernetes' pod GC keeps thousands)."""


@attrs.frozen
class NodeLifecycleSettings:
    """When a node that stopped answering is given up on: kube-controller-manager's node
    lifecycle controller and taint-based eviction, with shorter defaults (a few Docker hosts
    are not a cloud whose API may lag a minute)."""

    monitor_grace_seconds: float = 20.0
    """A node whose last successful relist is older than this (seconds) is NotReady: no new
    pods, its pods Ready=False, a NodeNotReady event (`--node-monitor-grace-period`; 40 s in
    Kubernetes). Two relist intervals, so one slow or failed relist never flaps it."""
    pod_eviction_timeout_seconds: float = 30.0
    """How long (seconds) a NotReady node keeps its ReplicaSet's pods before they are replaced
    on Ready nodes (Kubernetes' default tolerationSeconds of 300 for the unreachable taint; a
    pod's own toleration of `node.kubernetes.io/unreachable` wins). Bare pods stay bound."""
    check_interval_seconds: float = 1.0
    """How often (seconds) node heartbeats and eviction deadlines are looked at."""

    def __attrs_post_init__(self) -> None:
        if min(self.monitor_grace_seconds, self.check_interval_seconds) <= 0:
            raise ValueError("node lifecycle: grace and check interval must be positive")
        if self.pod_eviction_timeout_seconds < 0:
            raise ValueError("node lifecycle: pod_eviction_timeout_seconds must be >= 0")


@attrs.frozen
class SupervisionSettings:
    """How a long-running task that died (raised or returned) is restarted."""

    restart_initial_seconds: float = 1.0
    """Wait before the first restart (seconds): long enough that a task failing at once does not
    spin a core, short enough that a one-off failure costs about a second of inattention."""
    restart_max_seconds: float = 60.0
    """Cap of the doubling restart wait (seconds), as a crash-looping task keeps being retried."""
    stable_seconds: float = 60.0
    """A restarted task that has run this long (seconds) counts as recovered: its restart wait
    starts again at `restart_initial_seconds`, and `/healthz` stops reporting it."""

    def __attrs_post_init__(self) -> None:
        if not 0 < self.restart_initial_seconds <= self.restart_max_seconds:
            raise ValueError("supervision: need 0 < restart_initial_seconds <= restart_max_seconds")


@attrs.frozen
class HealthSettings:
    """When `/healthz` says the controller cannot do its job."""

    relist_threshold_seconds: float = 180.0
    """A node whose last successful relist is older than this (seconds) fails the `pleg` check:
    the kubelet's "PLEG is not healthy" threshold of 3 minutes, 18 relist intervals by default, so
    an engine that is slow or restarting for a minute is not called dead."""
    loop_lag_threshold_seconds: float = 5.0
    """The event loop woke this late (seconds) or later: every reaction (restarts, the API, the
    relists) was that late, so the `loop-lag` check fails. Far above a relist's own cost (tens of
    milliseconds per hundred containers) and below a liveness probe's patience."""
    loop_lag_interval_seconds: float = 1.0
    """Period (seconds) of the timer whose lateness measures the loop lag; the check looks at the
    last `LAG_SAMPLES` ticks and at a tick overdue right now."""

    def __attrs_post_init__(self) -> None:
        if min(self.relist_threshold_seconds, self.loop_lag_threshold_seconds) <= 0:
            raise ValueError("health: thresholds must be positive")
        if self.loop_lag_interval_seconds <= 0:
            raise ValueError("health: loop_lag_interval_seconds must be positive")


@attrs.frozen
class ApiSettings:
    listen_host: str = "127.0.0.1"
    """Loopback by default: the API is read-only but still shows what runs."""
    listen_port: int = 9180
    watch_resync_seconds: float = 300.0
    """Watches follow the engine's change signal; every this many seconds the watched resources
    are rendered in full anyway, so a change whose signal was lost still arrives."""


@attrs.frozen
class TlsSettings:
    """Client certificates for a `tcp://` engine, as the docker CLI's `--tlsverify` takes them."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True
    """Check the engine's certificate against `ca_file` (or the system's authorities)."""


@attrs.frozen
class CapacityOverrides:
    """What a node offers pods, where the engine's `/info` is not the answer (a host shared
    with other work): cores, bytes, and the pod count (the kubelet's max-pods)."""

    cpu_millis: int | None = None
    memory_bytes: int | None = None
    pods: int | None = None


@attrs.frozen
class NodeSettings:
    name: str
    """Node name shown in the API; defaults to the machine's host name, as the kubelet does."""
    docker_host: str | None = None
    """Engine address (unix://, tcp:// or ssh://); None means DOCKER_HOST or the default socket."""
    host_ip: str = "127.0.0.1"
    """The node's address as pods' status.hostIP shows it; host ports bind to loopback by default."""
    labels: Mapping[str, str] = attrs.field(factory=dict)
    """Node labels for nodeSelector and node affinity; `kubernetes.io/hostname` is always added."""
    taints: tuple[Taint, ...] = ()
    capacity: CapacityOverrides = CapacityOverrides()
    tls: TlsSettings | None = None


@attrs.frozen
class WatchSettings:
    """How the manifests folder is watched, and how much one change may take away at once."""

    debounce_seconds: float = 0.2
    """A change is applied once no file event arrived for this long (seconds): editors and `cp`
    write a file in several steps, and a rescan per step would apply half-written files."""
    max_delay_seconds: float = 2.0
    """Cap of the debounce (seconds): a file written without pause is still applied this often."""
    rescan_seconds: float = 30.0
    """Full rescan of the folder (seconds) whatever the events said: events are hints and can be
    lost (inotify overflow, network file systems); the rescan is the truth. It lists every file
    and reads again those whose stat (mtime, ctime, size, inode) changed since a trusted read:
    a write always moves ctime, which no tool can set back."""
    reread_seconds: float = 600.0
    """Every file is read again this often (seconds), stat unchanged or not: the one way a
    changed file keeps its stat is the host's clock stepped back. Rare, since reading and parsing
    every file costs as much as all the other idle work of a controller together."""
    hold_seconds: float = 30.0
    """How long (seconds) an emptied file, a vanished or unreadable folder, or a mass deletion is
    held back and reported before it is applied: long enough to notice and undo a mistake."""
    max_deletion_fraction: float = 0.5
    """A change removing more than this share of all declared pods at once (a Pod counts 1, a
    ReplicaSet or Deployment its replicas) is held for `hold_seconds`; 0.5 is "more than half"."""
    poll_seconds: float = 1.0
    """Period (seconds) of the check that the folder exists and is still the one watched (created
    late, deleted, replaced, a link to it repointed), and of the polling observer used where
    inotify is unavailable or out of watches."""

    def __attrs_post_init__(self) -> None:
        if not 0 < self.debounce_seconds <= self.max_delay_seconds:
            raise ValueError("watch: need 0 < debounce_seconds <= max_delay_seconds")
        if min(self.rescan_seconds, self.poll_seconds, self.reread_seconds) <= 0:
            raise ValueError("watch: rescan, reread and poll periods must be positive")
        if self.hold_seconds < 0:
            raise ValueError("watch: hold_seconds must be >= 0")
        if not 0 <= self.max_deletion_fraction <= 1:
            raise ValueError("watch: max_deletion_fraction must be between 0 and 1")


@attrs.frozen
class LeaseSettings:
    """One controller per engine: the lease a controller holds on each engine before it acts.

    The shape and defaults of client-go's leader election (15 s / 10 s / 2 s there), shortened so
    that a standby takes over within 15 s of the holder's death. An observer judges expiry on its
    own clock: a lease whose engine stamp did not change for `duration_seconds` is expired.
    """

    duration_seconds: float = 10.0
    """How long (seconds) a standby waits, after it last saw the lease renewed, before it takes
    the lease over: the bound on a takeover after the holder died without releasing (SIGKILL, a
    lost host), plus one `retry_period_seconds`. Written on the lease, so observers use the
    holder's value."""
    renew_deadline_seconds: float = 8.0
    """The holder stops acting when it could not renew for this long (seconds): an engine outage
    shorter than this changes nothing. Shorter than the duration, so the holder has stopped
    before any observer may judge the lease expired (client-go's RenewDeadline)."""
    retry_period_seconds: float = 2.0
    """How often (seconds) the holder renews and a standby looks at the lease."""

    def __attrs_post_init__(self) -> None:
        if not 0 < self.retry_period_seconds < self.renew_deadline_seconds < self.duration_seconds:
            raise ValueError(
                "lease: need 0 < retry_period_seconds < renew_deadline_seconds < duration_seconds"
            )


@attrs.frozen
class Settings:
    manifests_dir: str
    nodes: tuple[NodeSettings, ...]
    backoff: BackoffSettings = BackoffSettings()
    image_pull: ImagePullSettings = ImagePullSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    engine: EngineSettings = EngineSettings()
    api: ApiSettings = ApiSettings()
    supervision: SupervisionSettings = SupervisionSettings()
    health: HealthSettings = HealthSettings()
    watch: WatchSettings = WatchSettings()
    lease: LeaseSettings = LeaseSettings()
    node_lifecycle: NodeLifecycleSettings = NodeLifecycleSettings()
    pod_security: PodSecuritySettings = PodSecuritySettings()
