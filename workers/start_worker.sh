#!/usr/bin/env bash
# Start a Ray worker node on this (GPU) host and join it to an autopeft head.
#
#   workers/start_worker.sh HEAD_HOST:PORT [--num-gpus N] [--num-cpus N] [extra `ray start` flags]
#
# A cluster that autopeft joins keeps its own addresses: unlike the local cluster of a plain
# `autopeft search` (127.0.0.1 only), its head and worker nodes listen on HEAD_IP / the node's IP
# and on every interface, so anyone who reaches those ports can run code on it unless it uses
# Ray's token authentication. Generate one token and give the same one to the head, every worker
# node and the driver (RAY_AUTH_TOKEN, or RAY_AUTH_TOKEN_PATH naming a file; default
# ~/.ray/auth_token):
#   export RAY_AUTH_MODE=token RAY_AUTH_TOKEN=$(python -c 'import secrets; print(secrets.token_hex(32))')
#   ray start --head --port=6379 --node-ip-address=HEAD_IP --include-dashboard=false
#   workers/start_worker.sh HEAD_IP:6379 --num-gpus 1          # on each worker host, same env
#   autopeft search --ray-address HEAD_IP:6379 --workers 4 --gpus-per-trial 0.5 ...
# RAY_AUTH_MODE and the token must be the same on the head, on every worker node and on the
# driver, else the driver fails with InvalidAuthToken. RAY_AUTH_MODE=disabled (what the tests
# use, on 127.0.0.1) is for a network you trust; firewall the Ray ports either way.
# Every node needs the same Python environment with autopeft installed (pip install autopeft).
set -euo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 HEAD_HOST:PORT [ray start flags...]" >&2
    exit 2
fi
head=$1
shift
export RAY_USAGE_STATS_ENABLED=${RAY_USAGE_STATS_ENABLED:-0}
# RAY_AUTH_MODE and RAY_AUTH_TOKEN / RAY_AUTH_TOKEN_PATH are passed through as set: they must
# match the head and the driver.
python -c "import autopeft.service.worker" || {
    echo "start_worker: autopeft is not importable in this Python environment; install it first" >&2
    exit 2
}
exec ray start --address="$head" "$@"
