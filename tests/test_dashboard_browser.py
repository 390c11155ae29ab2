"""The dashboard in a real browser: start it the way ``autopeft dashboard`` does, load it in a
headless chromium (Debian's, driven by playwright-core from npm) and check the Pareto chart
really drew every finished trial. A page without the chart (a blank page) must fail the check.

Needs ``/usr/bin/chromium`` (or ``$CHROMIUM``), node, and ``tests/browser/node_modules`` (``npm ci``
there); ``.ci/browser.sh`` installs them and sets ``AUTOPEFT_REQUIRE_BROWSER=1``, so in CI a missing
piece fails the test; elsewhere it skips.
Set ``AUTOPEFT_SCREENSHOTS=DIR`` to also save the main views as PNGs (how docs/img/ is made).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BROWSER_DIR = ROOT / "tests" / "browser"
SCRIPT = BROWSER_DIR / "check_dashboard.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium; see .ci/browser.sh)"
    if shutil.which("node") is None:
        return "node is not installed"
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        return "run `npm ci` in tests/browser (see .ci/browser.sh)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _browser_available():
    """Skip where the browser is not installed, except in CI (.ci/browser.sh sets AUTOPEFT_REQUIRE_BROWSER=1)."""
    why = _missing()
    if why and os.environ.get("AUTOPEFT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser test is required here but {why}")
    if why:
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _check(url: str, *args: str, timeout_s: float = 60) -> tuple[int, dict]:
    env = {**os.environ, "CHROMIUM": CHROMIUM}
    proc = subprocess.run(["node", str(SCRIPT), url, *args], cwd=BROWSER_DIR, capture_output=True, text=True, timeout=timeout_s, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report from the browser script: {proc.stdout}\n{proc.stderr}"
    return proc.returncode, json.loads(lines[-1])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A seeded study served by the same command line ``autopeft dashboard`` runs."""
    import optuna

    from autopeft.commands.dashboard import streamlit_command
    from autopeft.viz.synthetic import write_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'studies.db'}"
    written = write_study(url, "sst2-browser", n_trials=30, n_failed=2, seed=3, with_params=False)
    port = _free_port()
    command = streamlit_command(argparse.Namespace(storage=url, port=port, host="127.0.0.1"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 40
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    break
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            server.kill()
            pytest.fail(f"the dashboard did not start: {server.stdout.read() if server.stdout else ''}")
        time.sleep(0.3)
    try:
        yield {"base": base, "written": written}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def test_pareto_chart_renders_every_finished_trial(served):
    finished = len(served["written"]["scores"])  # 3 baselines + 28 completed search trials
    assert finished == 31
    args = ["--min-points", str(finished)]
    shots = os.environ.get("AUTOPEFT_SCREENSHOTS")
    if shots:
        args += ["--screenshots", shots]
    code, report = _check(served["base"], *args, timeout_s=120 if shots else 60)
    assert code == 0 and report["ok"], report
    assert report["points"] == finished  # failed trials left out, nothing drawn twice
    assert report["title"] == "sst2-browser"
    assert report["hover"] and report["hover"].startswith("trial ") and "score 0." in report["hover"], report["hover"]


def test_a_page_without_the_chart_fails_the_check(served):
    # Streamlit's health endpoint is a page with no chart at all: the check must say so.
    code, report = _check(f"{served['base']}/_stcore/health", "--timeout-ms", "4000")
    assert code == 1 and not report["ok"] and report["points"] == 0
    assert "Timeout" in report["error"] or "waiting for" in report["error"]
