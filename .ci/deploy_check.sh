#!/usr/bin/env bash
# The deployment files are valid without a Docker engine:
#  * `docker compose config` (the v2 plugin, or Debian's docker-compose, installed here with apt
#    when neither is present) parses and interpolates docker-compose.yml with a throwaway env file
#    of generated secrets, and refuses it with .env.example's empty secrets;
#  * the resolved file keeps its promises: the services, token auth with one token everywhere,
#    no port but the dashboard's on 127.0.0.1, the GPU reservation, nothing that blocks --scale;
#  * the Dockerfile parses (hadolint when installed, else the instruction check below): known
#    instructions, a FROM first, COPY sources that exist, a non-root USER, no secret in it.
#   bash .ci/deploy_check.sh        # exits non-zero on the first broken promise
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
work=$(mktemp -d /tmp/autopeft-deploy.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "deploy check: $*" >&2; exit 1; }

compose=()
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deploy check: installing docker-compose from Debian's packages" >&2
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose; } > "$work/apt.log" 2>&1 ||
        { tail -n 30 "$work/apt.log"; fail "apt-get install docker-compose failed"; }
    compose=(docker-compose)
else
    fail "no docker compose and no root to install it (apt-get install docker-compose)"
fi
echo "deploy check: $("${compose[@]}" version 2>/dev/null | head -n 1)"

# 1. a throwaway .env of generated secrets: the file must parse and interpolate
python3 - "$work/env" <<'PY'
import secrets, sys
with open(sys.argv[1], "w") as f:
    f.write(f"POSTGRES_PASSWORD={secrets.token_hex(24)}\nRAY_AUTH_TOKEN={secrets.token_hex(32)}\nTORCH_VARIANT=cpu\n")
PY
run_compose() { "${compose[@]}" --project-directory "$repo" -f docker-compose.yml --env-file "$1" "${@:2}"; }
run_compose "$work/env" config -q 2> "$work/config.err" || { cat "$work/config.err" >&2; fail "docker-compose.yml is invalid"; }
run_compose "$work/env" config > "$work/resolved.yml" 2> "$work/config.err" || { cat "$work/config.err" >&2; fail "docker-compose.yml is invalid"; }

# 2. .env.example as it is (empty secrets) must be refused, naming the variable
if run_compose .env.example config -q > /dev/null 2> "$work/empty.err"; then
    fail "docker-compose.yml starts without secrets (expected \${POSTGRES_PASSWORD:?...} / \${RAY_AUTH_TOKEN:?...})"
fi
grep -Eq "POSTGRES_PASSWORD|RAY_AUTH_TOKEN" "$work/empty.err" || { cat "$work/empty.err" >&2; fail "the refusal does not name the missing secret"; }

# 3. what the resolved file promises
python3 - "$work/resolved.yml" "$work/env" docker-compose.yml <<'PY'
import re, sys
import yaml

resolved = yaml.safe_load(open(sys.argv[1]))
env = dict(line.strip().split("=", 1) for line in open(sys.argv[2]) if "=" in line)
source = open(sys.argv[3]).read()
problems = []
services = resolved.get("services", {})
wanted = {"postgres", "store-init", "ray-head", "ray-worker", "search", "dashboard"}
if not wanted <= set(services):
    problems.append(f"services missing: {sorted(wanted - set(services))}")
for secret in ("POSTGRES_PASSWORD", "RAY_AUTH_TOKEN"):
    if env[secret] in source:
        problems.append(f"{secret}'s value is written in docker-compose.yml")
for line in source.splitlines():
    if re.search(r"(PASSWORD|TOKEN)\s*:", line) and "${" not in line and not line.lstrip().startswith("#"):
        problems.append(f"a literal credential in docker-compose.yml: {line.strip()}")
for name, svc in services.items():
    if "container_name" in svc:
        problems.append(f"{name}: container_name blocks --scale")
    command = " ".join(map(str, (svc.get("entrypoint") or []) + (svc.get("command") or [])))
    if name == "postgres":
        if "healthcheck" not in svc or not svc.get("volumes"):
            problems.append("postgres: needs a volume and a healthcheck")
        continue
    environment = svc.get("environment") or {}
    if environment.get("RAY_AUTH_MODE") != "token":
        problems.append(f"{name}: RAY_AUTH_MODE is {environment.get('RAY_AUTH_MODE')!r}, not 'token'")
    if environment.get("RAY_AUTH_TOKEN") != env["RAY_AUTH_TOKEN"]:
        problems.append(f"{name}: RAY_AUTH_TOKEN is not the .env token")
    if env["POSTGRES_PASSWORD"] in command:
        problems.append(f"{name}: the database password is on the command line")
for name, svc in services.items():
    ports = svc.get("ports") or []
    if name == "dashboard":
        if [str(p) for p in ports] not in (["127.0.0.1:8501:8501"], ["127.0.0.1:8501:8501/tcp"]):
            problems.append(f"dashboard: ports {ports}, expected only 127.0.0.1:8501:8501")
    elif ports:
        problems.append(f"{name}: publishes {ports}; only the dashboard may")
devices = (((services.get("ray-worker") or {}).get("deploy") or {}).get("resources") or {}).get("reservations", {}).get("devices") or []
if not any("gpu" in (d.get("capabilities") or []) for d in devices):
    problems.append("ray-worker: no GPU reservation (deploy.resources.reservations.devices, capabilities: [gpu])")
head = " ".join(map(str, services.get("ray-head", {}).get("command") or []))
if "--head" not in head or "--include-dashboard=false" not in head:
    problems.append(f"ray-head: unexpected command {head!r}")
if "start_worker.sh ray-head:6379" not in " ".join(map(str, services.get("ray-worker", {}).get("command") or [])):
    problems.append("ray-worker: does not join with workers/start_worker.sh ray-head:6379")
search = " ".join(map(str, (services.get("search", {}).get("entrypoint") or [])))
if "autopeft search" not in search or "--ray-address ray-head:6379" not in search or "postgresql+psycopg://" not in search:
    problems.append(f"search: does not run autopeft search on the head and PostgreSQL: {search!r}")
if problems:
    sys.exit("deploy check: docker-compose.yml: " + "; ".join(problems))
PY

# 4. the Dockerfile
if command -v hadolint >/dev/null 2>&1; then
    hadolint Dockerfile || fail "hadolint found problems in the Dockerfile"
fi
python3 - Dockerfile <<'PY'
import os, re, shlex, sys

path = sys.argv[1]
known = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG",
         "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "MAINTAINER"}
instructions, current, start = [], "", 0
for number, raw in enumerate(open(path), 1):
    line = raw.rstrip("\n")
    if not current and (not line.strip() or line.lstrip().startswith("#")):
        continue
    if not current:
        start = number
    if line.rstrip().endswith("\\"):
        current += line.rstrip()[:-1] + " "
        continue
    current += line
    instructions.append((start, current.strip()))
    current = ""
if current:
    sys.exit(f"deploy check: Dockerfile: line {start}: a continuation runs past the end of the file")
problems = []
keywords = []
for number, text in instructions:
    keyword, _, rest = text.partition(" ")
    if keyword.upper() not in known:
        problems.append(f"line {number}: unknown instruction {keyword!r}")
    if keyword != keyword.upper():
        problems.append(f"line {number}: instruction {keyword!r} is not upper case")
    if not rest.strip() and keyword.upper() not in ("ONBUILD",):
        problems.append(f"line {number}: {keyword} without arguments")
    keywords.append((number, keyword.upper(), rest.strip()))
    if keyword.upper() in ("ENV", "ARG", "LABEL") and re.search(r"\b[A-Z0-9_]*(PASSWORD|TOKEN|SECRET)\s*=\s*\S", rest, re.I):
        problems.append(f"line {number}: a secret in the image ({keyword} {rest[:40]}...)")
    if keyword.upper() in ("COPY", "ADD"):
        parts = [p for p in shlex.split(rest) if not p.startswith("--")]
        for source in parts[:-1]:
            if not os.path.exists(source):
                problems.append(f"line {number}: {keyword} source {source!r} does not exist")
    if keyword.upper() in ("CMD", "ENTRYPOINT", "RUN", "SHELL") and rest.lstrip().startswith("["):
        import json
        try:
            json.loads(rest)
        except ValueError:
            problems.append(f"line {number}: {keyword}'s exec form is not valid JSON")
first = next((k for _, k, _ in keywords if k != "ARG"), None)
if first != "FROM":
    problems.append(f"the first instruction after ARGs is {first}, not FROM")
users = [r for _, k, r in keywords if k == "USER"]
if not users or users[-1].split(":")[0] in ("root", "0"):
    problems.append("the image runs as root (no USER, or USER root last)")
if problems:
    sys.exit("deploy check: Dockerfile: " + "; ".join(problems))
print(f"deploy check: Dockerfile: {len(instructions)} instructions parse")
PY
echo "== deploy check: docker-compose.yml valid (${compose[*]} config), refused without secrets; Dockerfile parses"
