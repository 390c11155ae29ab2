#!/usr/bin/env bash
# Start a Ray worker node on this (GPU) host and join it to an autopeft head.
#
#   workers/start_worker.sh HEAD_HOST:PORT [--num-gpus N] [--num-cpus N] [extra `ray start` flags]
#
# The head is started once with, e.g.:
#   RAY_AUTH_MODE=disabled ray start --head --port=6379 --node-ip-address=HEAD_IP --include-dashboard=false
# and the search runs anywhere that reaches it:
#   RAY_AUTH_MODE=disabled autopeft search --ray-address HEAD_IP:6379 --workers 4 --gpus-per-trial 0.5 ...
# Ray 2.60 turns token authentication on by default: RAY_AUTH_MODE (or the token) must be the same
# on the head, on every worker node and on the driver, else the driver fails with InvalidAuthToken.
# Every node needs the same Python environment with autopeft installed (pip install autopeft).
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 HEAD_HOST:PORT [ray start flags...]" >&2
    exit 2
fi
head=$1
shift
export RAY_USAGE_STATS_ENABLED=${RAY_USAGE_STATS_ENABLED:-0}
# RAY_AUTH_MODE is passed through as set: it must match the head and the driver.
python -c "import autopeft.service.worker" || {
    echo "start_worker: autopeft is not importable in this Python environment; install it first" >&2
    exit 2
}
exec ray start --address="$head" "$@"
