"""The docker-compose topology of ``docker-compose.yml`` without docker, on one machine: a
PostgreSQL study store (``.ci/services.sh``; skipped without AUTOPEFT_TEST_POSTGRES_URL), a Ray
head (``ray start --head`` on 127.0.0.1), a worker node joined with ``workers/start_worker.sh``,
Ray token authentication on every process (``RAY_AUTH_MODE=token``, one ``RAY_AUTH_TOKEN``), a
search driver (``autopeft search --ray-address ... --storage postgresql+psycopg://...``) running a
real search (a tiny random BERT trained for a few steps per trial) and ``autopeft dashboard`` on
the same store.

Mid-search the worker node is SIGKILLed (its whole process tree, while it runs a trial): that
trial is FAIL with the reason and re-run once, and the search still finishes its budget on the
remaining node, with no node joining to replace the dead one (compose's ``restart: unless-stopped``
would bring one back; the search does not need it). Every process is started in its own session
and torn down by PID at the end, pass or fail; none may be left.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest

URL = os.environ.get("AUTOPEFT_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not URL, reason="AUTOPEFT_TEST_POSTGRES_URL is not set (source .ci/services.sh)")

REPO = Path(__file__).resolve().parents[1]
RAY = str(Path(sys.executable).parent / "ray")
BUDGET = 6
#: 200 optimiser steps of 8 examples (32 tokens) per trial: about 3 s of training on the tiny BERT,
#: long enough to catch a trial running on the worker node.
FIDELITY = "tiny:max_train_examples=32,max_eval_examples=16,max_seq_length=32,batch_size=8,max_steps=200"


#: The compose ``store-init`` service's program (creates Optuna's tables; a no-op when they exist).
STORE_INIT = "import sys; from autopeft.store import open_storage; open_storage(sys.argv[1])"


@pytest.fixture
def store_url():
    """A new, empty database on the test server (as the compose ``postgres`` service's fresh
    volume is), dropped afterwards; the server's own database where we may not create one."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(URL)
    name = f"deploy_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        yield URL
        return
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Topology:
    """Processes started in their own sessions; every process of their trees is remembered
    (also after it is re-parented) so that :meth:`teardown` can kill them all by PID."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env = env
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}
        self.seen: dict[int, psutil.Process] = {}

    def start(self, name: str, command: list[str], **kwargs) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(command, env=self.env, cwd=str(REPO), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, **kwargs)
        log.close()
        self.procs[name] = proc
        self.track()
        return proc

    def tree(self, name: str) -> list[psutil.Process]:
        """The live processes of ``name``: its descendants and its session's members."""
        root = self.procs[name].pid
        found: dict[int, psutil.Process] = {}
        try:
            top = psutil.Process(root)
            for p in [top, *top.children(recursive=True)]:
                found[p.pid] = p
        except psutil.NoSuchProcess:
            pass
        for p in psutil.process_iter():
            try:
                if p.pid not in found and os.getsid(p.pid) == root:
                    found[p.pid] = p
            except (ProcessLookupError, PermissionError, psutil.Error):
                continue
        return list(found.values())

    def track(self) -> None:
        for name in self.procs:
            for p in self.tree(name):
                self.seen.setdefault(p.pid, p)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def kill_tree(self, name: str) -> list[psutil.Process]:
        procs = self.tree(name)
        for p in procs:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        return procs

    def teardown(self) -> list[str]:
        """Stop everything (the dashboard by SIGTERM first, the rest by SIGKILL); returns the
        processes still alive 20 s later."""
        self.track()
        dash = self.procs.get("dashboard")
        if dash is not None and dash.poll() is None:
            dash.terminate()
            try:
                dash.wait(15)
            except subprocess.TimeoutExpired:
                pass
        self.track()
        for p in self.seen.values():
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        _, alive = psutil.wait_procs(list(self.seen.values()), timeout=20)
        return [f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in alive if _alive(p)]


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait(predicate, timeout: float, what: str, topo: Topology, watch: tuple[str, ...] = ()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for name in watch:
            if topo.procs[name].poll() is not None:
                pytest.fail(f"{name} exited ({topo.procs[name].returncode}) before {what}:\n{topo.log(name)}")
        topo.track()
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}:\n" + "\n".join(f"--- {n}\n{topo.log(n)}" for n in topo.procs))


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _running_trial(topo: Topology, name: str) -> psutil.Process | None:
    """A Ray worker of node ``name`` executing ``TrialWorker.run`` (Ray's process title)."""
    for p in topo.tree(name):
        try:
            if "TrialWorker.run" in " ".join(p.cmdline()):
                return p
        except psutil.Error:
            continue
    return None


def _dashboard_page(port: int, study: str) -> bytes:
    """Render the app once over Streamlit's websocket as a browser does (``?study=NAME``); the
    serialized messages of the run."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.sync.client import connect

    chunks = []
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], open_timeout=20, max_size=None) as ws:
        back = BackMsg()
        back.rerun_script.query_string = f"study={study}"
        back.rerun_script.page_script_hash = ""
        ws.send(back.SerializeToString())
        deadline = time.monotonic() + 90
        while True:
            raw = ws.recv(timeout=max(1.0, deadline - time.monotonic()))
            message = ForwardMsg()
            message.ParseFromString(raw)
            chunks.append(raw)
            if message.WhichOneof("type") == "script_finished":
                return b"".join(chunks)


def test_compose_topology_without_docker(tmp_path, store_url):
    from autopeft.store import list_studies, load_trials
    from tests.conftest import save_tiny_bert

    data = tmp_path / "train.csv"
    data.write_text("text,label\n" + "".join(f"story number {i} about {'cats' if i % 2 else 'dogs'},{'a' if i % 2 else 'b'}\n"
                                             for i in range(48)), encoding="utf-8")
    logs = tmp_path / "logs"
    logs.mkdir()
    token = secrets.token_hex(32)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "RAY_USAGE_STATS_ENABLED": "0",
           "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(REPO),
           # a dead node is noticed after 2 missed 1-s health checks, not 5 of 3 s
           "RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "2"}
    env.pop("RAY_ADDRESS", None)
    port, dash_port = _free_port(), _free_port()
    address = f"127.0.0.1:{port}"
    study = f"deploy-{uuid.uuid4().hex[:8]}"
    temp = tempfile.mkdtemp(prefix="apd")  # short: Ray's unix socket paths must fit in 107 bytes
    node = ["--node-ip-address=127.0.0.1", "--num-cpus", "1", "--disable-usage-stats", "--block"]
    topo = Topology(env, logs)
    started = time.monotonic()
    try:
        # ray-head: the compose service's command (its 127.0.0.1 becomes the machine's address: Ray's doing)
        topo.start("head", [RAY, "start", "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}", *node])
        # store-init: the compose one-shot that creates the store's tables before anyone reads them
        init = subprocess.run([sys.executable, "-c", STORE_INIT, store_url], env=env, capture_output=True, text=True, timeout=120)
        assert init.returncode == 0, init.stderr[-2000:]
        # dashboard, on the store while the cluster starts
        topo.start("dashboard", [sys.executable, "-m", "autopeft.cli", "dashboard", "--storage", store_url, "--port", str(dash_port)])
        model = save_tiny_bert(tmp_path / "bert")  # while they start
        _wait(lambda: _port_open(port), 120, "the Ray head's GCS port", topo, ("head",))
        # ray-worker: joined by the script the README gives to every other GPU host
        topo.start("worker", ["bash", "workers/start_worker.sh", address, *node])
        # joined before the driver starts, so that both nodes' actors start together
        _wait(lambda: "Ray runtime started" in topo.log("worker"), 120, "the worker node to join", topo, ("head", "worker"))
        # search: the real objective (training the tiny BERT), two workers, one per node
        driver = topo.start("search", [
            sys.executable, "-m", "autopeft.cli", "search", "--model", model, "--train", str(data), "--space", "lora_layerwise",
            "--sampler", "random", "--baselines", "none", "--trials", str(BUDGET), "--fidelity", FIDELITY, "--seed", "0",
            "--study", study, "--storage", store_url, "--ray-address", address, "--workers", "2", "--cpus-per-trial", "1",
            "--heartbeat", "2", "--no-progress"])

        def worker_node_ran_and_runs_a_trial():
            """The worker node has finished a trial (so it did join and take work) and runs another."""
            pids = {p.pid for p in topo.tree("worker")}
            try:
                done = [r for r in load_trials(store_url, study) if r.state == "COMPLETE"]
            except Exception:  # noqa: BLE001 - the study is not created yet
                return None
            if not any(r.worker and r.worker.pid in pids for r in done):
                return None
            return _running_trial(topo, "worker")

        victim = _wait(worker_node_ran_and_runs_a_trial, 150, "a trial running on the worker node after one finished there",
                       topo, ("head", "worker", "search"))
        victim_pid = victim.pid
        killed = topo.kill_tree("worker")  # the raylet, its workers, agents and `ray start` itself
        assert len(killed) >= 3 and victim_pid in {p.pid for p in killed}
        _, left = psutil.wait_procs(killed, timeout=10)
        assert not [p for p in left if _alive(p)], "the worker node's processes outlived SIGKILL"
        killed_at = time.monotonic()
        # No node replaces it: the search finishes its budget on the head's node alone (the dead
        # node's actor, which Ray keeps trying to restart, is not waited for).

        try:
            driver.wait(240)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the search did not finish within 240 s of the node's death:\n{topo.log('search')}")
        assert driver.returncode == 0, topo.log("search")
        search_s = time.monotonic() - started
        finished_after_kill_s = time.monotonic() - killed_at

        records = load_trials(store_url, study)
        counted = [r for r in records if r.baseline is None and r.retry_of is None and r.rejected is None]
        assert len(counted) == BUDGET  # exactly the budget: the node's death lost no trial, added none
        assert sum(r.state == "COMPLETE" for r in records) == BUDGET
        assert not [r for r in records if r.state in ("RUNNING", "WAITING")]
        failed = [r for r in records if r.state == "FAIL"]
        assert len(failed) == 1, [(r.number, r.state, r.error) for r in records]
        dead = failed[0]
        assert "worker died mid-trial" in dead.error, dead.error
        retries = [r for r in records if r.retry_of == dead.number]
        assert len(retries) == 1 and retries[0].state == "COMPLETE" and retries[0].params == dead.params
        done = [r for r in records if r.state == "COMPLETE"]
        assert all(0.0 <= r.trial_result.score <= 1.0 and r.trial_result.trainable_params > 0 for r in done)
        nodes = {r.worker.node_id for r in done}
        assert len(nodes) >= 2, nodes  # trials completed on the head and on the joined worker node

        # token authentication is on: a driver with another token is refused before writing anything
        refused_at = time.monotonic()
        intruder = subprocess.run(
            [sys.executable, "-m", "autopeft.cli", "search", "--model", model, "--train", str(data), "--trials", "1",
             "--study", f"{study}-intruder", "--storage", store_url, "--ray-address", address, "--no-progress"],
            env={**env, "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_NUM_REDIS_GET_RETRIES": "2"},  # 2 tries, not 20
            cwd=str(REPO), capture_output=True, text=True, timeout=120)
        assert intruder.returncode != 0 and "InvalidAuthToken" in intruder.stderr + intruder.stdout, intruder.stderr[-2000:]
        assert f"{study}-intruder" not in [s.name for s in list_studies(store_url)]

        refused_s = time.monotonic() - refused_at
        # the dashboard serves the study, with the store's numbers
        with urllib.request.urlopen(f"http://127.0.0.1:{dash_port}/_stcore/health", timeout=10) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{dash_port}/?study={study}", timeout=10) as reply:
            assert reply.status == 200
        page = _dashboard_page(dash_port, study)
        assert f"{study} ({BUDGET}/{len(records)} complete)".encode() in page
        print(f"\ndeployment: {len(records)} trials ({BUDGET} complete, 1 failed by the node's death and re-run) "
              f"in {search_s:.0f} s; the search finished {finished_after_kill_s:.0f} s after the kill; the wrong token refused in {refused_s:.0f} s")
    finally:
        teardown_at = time.monotonic()
        left = topo.teardown()
        print(f"deployment: teardown {time.monotonic() - teardown_at:.0f} s")
        shutil.rmtree(temp, ignore_errors=True)
    assert not left, f"processes left after the teardown: {left}"
