#!/usr/bin/env bash
# The private Docker engine of the integration tests, by hand (tests/integration/dockerd.py).
#
#   scripts/test-engine.sh shell [CMD...]   start a private engine, run CMD (default: $SHELL)
#                                           with DOCKER_HOST pointing at it, then remove it
#   scripts/test-engine.sh reap             remove what crashed test sessions left behind
#                                           (daemons, mounts, bridges pyd<n>, directories)
#
# Needs root, like the integration tests. The default engine is never touched.
# Environment: PYTHON (default: .venv/bin/python, else python3).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-$repo_root/.venv/bin/python}
[[ -x $python ]] || python=python3
export PYTHONPATH="$repo_root${PYTHONPATH:+:$PYTHONPATH}"

usage() {
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case ${1:-} in
reap)
    exec "$python" -c '
from tests.integration.dockerd import reap_stale_engines
reaped = reap_stale_engines()
print("test-engine: removed " + (", ".join(reaped) if reaped else "nothing"))
'
    ;;
shell)
    shift
    (($# > 0)) || set -- "${SHELL:-bash}"
    exec "$python" - "$@" <<'EOF'
import asyncio, os, signal, subprocess, sys

from controller.runtime.localimages import build_local_images_on
from tests.integration.dockerd import start_private_dockerd

signal.signal(signal.SIGTERM, signal.default_int_handler)
engine = start_private_dockerd(name_prefix="sh")
try:
    asyncio.run(build_local_images_on(engine.docker_host, demo=True))
    print(f"test-engine: DOCKER_HOST={engine.docker_host} (log: {engine.log_path})", flush=True)
    env = dict(os.environ, DOCKER_HOST=engine.docker_host)
    code = subprocess.call(sys.argv[1:], env=env)
except KeyboardInterrupt:
    code = 130
finally:
    engine.stop()
    print("test-engine: removed", flush=True)
sys.exit(code)
EOF
    ;;
*) usage ;;
esac
