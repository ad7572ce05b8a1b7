#!/usr/bin/env bash
# Make sure a Docker engine answers and that the host binaries Podyard needs to
# build its local FROM-scratch images (static busybox, catatonit) are present.
#
# Idempotent: when everything is already in place it only says so.
#
# * If `docker info` answers (via $DOCKER_HOST or the default socket), the
#   engine is left alone.
# * Otherwise, as root on Debian/Ubuntu, missing packages among docker.io,
#   busybox-static and catatonit are installed with apt-get, and dockerd is
#   started in the background (log: $PODYARD_STATE_DIR/dockerd.log, by default
#   .state/dockerd.log in the repository). Stale pid files of dockerd and its
#   containerd are removed only when no live daemon owns them.
# * busybox-static and catatonit are required even when the engine answers.
# * promtool (Debian package prometheus), which the tests use to check the alert
#   rules in dashboards/, is installed when it is missing. Its Prometheus server is
#   not started: a temporary policy-rc.d denies service starts during that install.
# * A Compose tool validates docker-compose.dev.yml in the tests: the `docker
#   compose` plugin if the docker CLI has one, else `docker-compose`. When neither
#   runs, the Debian package docker-compose is installed.
#
# Environment:
#   PODYARD_STATE_DIR      where logs go (default: <repo>/.state)
#   PODYARD_DOCKER_WAIT    seconds to wait for a started engine (default: 60)
#   PODYARD_DOCKERD_ARGS   extra arguments for dockerd (word-split)
set -euo pipefail

say() { printf 'podyard-setup: %s\n' "$*"; }
fail() {
    printf 'podyard-setup: ERROR: %s\n' "$*" >&2
    exit 1
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${PODYARD_STATE_DIR:-$repo_root/.state}
wait_seconds=${PODYARD_DOCKER_WAIT:-60}
dockerd_pidfile=/var/run/docker.pid
containerd_pidfile=/var/run/docker/containerd/containerd.pid
default_socket=/var/run/docker.sock

is_root() { [[ $(id -u) -eq 0 ]]; }
have() { command -v "$1" >/dev/null 2>&1; }

# --- package bookkeeping ----------------------------------------------------

# pkg_installed PACKAGE BINARY: true when the tool is usable.
pkg_installed() {
    local pkg=$1 binary=$2
    [[ -x $binary ]] || return 1
    if have dpkg-query; then
        [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null) == ii* ]] || return 1
    fi
    return 0
}

apt_updated=no
apt_install() {
    mkdir -p "$state_dir"
    local log=$state_dir/apt.log
    export DEBIAN_FRONTEND=noninteractive
    if [[ $apt_updated == no ]]; then
        say "apt-get update (log: $log)"
        if ! apt-get update -qq >>"$log" 2>&1; then
            tail -n 20 "$log" >&2 || true
            fail "apt-get update failed"
        fi
        apt_updated=yes
    fi
    say "installing: $*"
    if ! apt-get install -y -qq --no-install-recommends "$@" >>"$log" 2>&1; then
        tail -n 20 "$log" >&2 || true
        fail "apt-get install $* failed"
    fi
}

# ensure_packages PKG...: install the given packages, or explain and fail.
ensure_packages() {
    (($# > 0)) || return 0
    if ! have apt-get; then
        fail "missing: $* (no apt-get here; install them with your package manager:" \
            "a Docker engine, a statically linked busybox at /bin/busybox and" \
            "catatonit at /usr/bin/catatonit)"
    fi
    if ! is_root; then
        fail "missing packages: $*; run as root: apt-get update && apt-get install -y $*"
    fi
    apt_install "$@"
}

# ensure_promtool: install the Debian package prometheus for its promtool only;
# no Prometheus server is started (unless a policy-rc.d of the host allows it).
ensure_promtool() {
    have promtool && return 0
    say "promtool (checks the alert rules in dashboards/) is missing"
    if ! have apt-get; then
        fail "missing: promtool (no apt-get here; install Prometheus' promtool with your" \
            "package manager)"
    fi
    if ! is_root; then
        fail "missing package: prometheus (for promtool); run as root:" \
            "apt-get update && apt-get install -y --no-install-recommends prometheus"
    fi
    local policy=/usr/sbin/policy-rc.d
    if [[ -e $policy ]]; then
        apt_install prometheus
    else
        # Exit status 101: "action forbidden", honoured by invoke-rc.d and deb-systemd-invoke.
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        apt_install prometheus
        rm -f "$policy"
        trap - EXIT
    fi
    have promtool || fail "promtool is still not on PATH after installing prometheus"
}

# compose_available: true when `docker compose` (the CLI plugin) or
# `docker-compose` runs; either one validates docker-compose.dev.yml.
compose_available() {
    if have docker && docker compose version >/dev/null 2>&1; then
        return 0
    fi
    have docker-compose && docker-compose version >/dev/null 2>&1
}

# ensure_compose: install Debian's docker-compose when no Compose tool runs.
# `config` (what the tests run) needs no engine, so this does not depend on one.
ensure_compose() {
    compose_available && return 0
    say "no Compose tool (docker compose or docker-compose) validates docker-compose.dev.yml"
    if ! have apt-get; then
        fail "missing: a Compose tool (no apt-get here; install the docker compose plugin" \
            "or docker-compose with your package manager)"
    fi
    if ! is_root; then
        fail "missing package: docker-compose; run as root:" \
            "apt-get update && apt-get install -y --no-install-recommends docker-compose"
    fi
    apt_install docker-compose
    compose_available || fail "docker-compose does not run after installing it"
}

# --- engine probing -----------------------------------------------------------

docker_error=""
engine_answers() {
    have docker || {
        docker_error="no docker CLI on PATH"
        return 1
    }
    local out
    if out=$(timeout 15 docker info --format '{{.ServerVersion}}' 2>&1) && [[ -n $out ]]; then
        engine_version=$out
        return 0
    fi
    docker_error=$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -n 3 | tr '\n' ' ')
    docker_error=${docker_error% }
    return 1
}

# is_live PID NAME: true when PID is a running (not zombie) process called NAME.
# A killed daemon whose parent does not reap it stays a zombie: kill -0 still
# succeeds on it and /proc/PID/comm still names it, but it will never answer.
is_live() {
    local pid=$1 name=$2 stat state
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null || true) == "$name" ]] || return 1
    state=${stat##*) }
    state=${state%% *}
    [[ $state != [ZX] ]]
}

# live_pid PIDFILE NAME: print the pid in PIDFILE if a live process called NAME
# owns it; remove the file when it is stale (dead pid, or pid reused).
live_pid() {
    local pidfile=$1 name=$2 pid
    [[ -f $pidfile ]] || return 1
    pid=$(tr -dc '0-9' <"$pidfile" || true)
    if [[ -n $pid ]] && is_live "$pid" "$name"; then
        printf '%s\n' "$pid"
        return 0
    fi
    say "removing stale $name pid file $pidfile (pid ${pid:-none} is not a live $name)" >&2
    rm -f "$pidfile"
    return 1
}

# any_process NAME: print the pid of some live (not zombie) process called NAME.
any_process() {
    local name=$1 dir
    for dir in /proc/[0-9]*; do
        if is_live "${dir#/proc/}" "$name"; then
            printf '%s\n' "${dir#/proc/}"
            return 0
        fi
    done
    return 1
}

# wait_for_engine [LOG]: poll until the engine answers. With LOG (we started
# dockerd), fail early when no dockerd process is left after a short grace.
wait_for_engine() {
    local log=${1:-} start=$SECONDS deadline=$((SECONDS + wait_seconds))
    while ((SECONDS < deadline)); do
        if engine_answers; then
            say "Docker engine $engine_version answers"
            return 0
        fi
        if [[ -n $log ]] && ((SECONDS - start >= 3)) && ! any_process dockerd >/dev/null; then
            say "dockerd exited during start-up; last lines of $log:"
            tail -n 40 "$log" >&2 || true
            fail "dockerd did not start"
        fi
        sleep 0.5
    done
    say "no answer from the Docker engine after ${wait_seconds}s (${docker_error:-no detail})"
    if [[ -n $log && -f $log ]]; then
        say "last lines of $log:"
        tail -n 40 "$log" >&2 || true
    fi
    fail "timed out waiting for the Docker engine"
}

start_dockerd() {
    local pid
    # A dockerd that owns its pid file (or any running dockerd) but does not
    # answer yet is probably still starting: wait for it instead of racing it.
    if pid=$(live_pid "$dockerd_pidfile" dockerd) || pid=$(any_process dockerd); then
        say "dockerd (pid $pid) is running but does not answer yet; waiting up to ${wait_seconds}s"
        if ! (wait_for_engine); then
            fail "dockerd (pid $pid) runs but does not answer; see its log, or stop it" \
                "(kill $pid) and run this script again"
        fi
        return 0
    fi
    # dockerd reuses a containerd that owns this pid file; a stale one would
    # make it wait for a containerd that is not there.
    if pid=$(live_pid "$containerd_pidfile" containerd); then
        say "reusing the running containerd (pid $pid) left by a previous dockerd"
    fi

    mkdir -p "$state_dir"
    local log=$state_dir/dockerd.log
    local -a extra=()
    if [[ -n ${PODYARD_DOCKERD_ARGS:-} ]]; then
        read -r -a extra <<<"$PODYARD_DOCKERD_ARGS"
    fi
    say "starting dockerd in the background (log: $log)"
    printf '\n=== %s podyard-setup: starting dockerd %s\n' "$(date -Is)" "${extra[*]:-}" >>"$log"
    # setsid: own session, so a Ctrl-C on `make` does not reach dockerd.
    setsid nohup dockerd "${extra[@]}" >>"$log" 2>&1 </dev/null &
    disown 2>/dev/null || true
    wait_for_engine "$log"
}

# --- main -----------------------------------------------------------------------

missing_tools=()
pkg_installed busybox-static /bin/busybox || missing_tools+=(busybox-static)
pkg_installed catatonit /usr/bin/catatonit || missing_tools+=(catatonit)

ensure_promtool
ensure_compose

if engine_answers; then
    say "Docker engine $engine_version answers${DOCKER_HOST:+ at $DOCKER_HOST}; leaving it alone"
    if ((${#missing_tools[@]} > 0)); then
        say "the local images need: ${missing_tools[*]}"
        ensure_packages "${missing_tools[@]}"
    fi
    say "busybox-static and catatonit are installed"
    exit 0
fi

say "no Docker engine answers (${docker_error:-no detail})"
if ((${#missing_tools[@]} > 0)); then
    say "also missing for the local images: ${missing_tools[*]}"
fi

if [[ -n ${DOCKER_HOST:-} && $DOCKER_HOST != "unix://$default_socket" ]]; then
    fail "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST" \
        "to use a local dockerd on $default_socket"
fi
if ! is_root; then
    if [[ -S $default_socket ]] && any_process dockerd >/dev/null; then
        fail "dockerd runs but $default_socket is not usable by $(id -un);" \
            "join the docker group or run as root"
    fi
    fail "no Docker engine answers and starting one needs root" \
        "(as root: apt-get install docker.io busybox-static catatonit && dockerd &)"
fi

missing=("${missing_tools[@]}")
if ! have dockerd || ! have docker; then
    missing+=(docker.io)
fi
ensure_packages "${missing[@]}"
if ! have dockerd; then
    fail "dockerd is still not on PATH after installing docker.io"
fi

# Installing docker.io may have started the engine through its init script.
if engine_answers; then
    say "Docker engine $engine_version answers"
    exit 0
fi
start_dockerd
