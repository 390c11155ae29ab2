"""Processes autopeft starts: where they listen and whether they outlive their parent.

* The local Ray cluster a driver starts (no ``--ray-address``) must listen on loopback only: the
  listening sockets of every process of the driver's tree (GCS, raylet, dashboard agent,
  runtime-env agent, monitor, the driver's and the workers' gRPC servers) are read with psutil and
  any non-loopback address fails.
* ``kill -9`` of that driver must take its cluster with it: after a bounded wait no process of the
  tree recorded while it ran (by PID and start time) may still run, the agents and a worker busy in
  an actor call included.
  A ``ray start --head`` cluster of someone else on the same machine must survive it.
* ``autopeft dashboard``: SIGTERM or SIGKILL to it must stop the Streamlit server it started.

Every process these tests start is killed by PID in a ``finally``, pass or fail; none of them
looks for Ray processes by name, so a cluster of someone else on the machine is never touched.
"""

from __future__ import annotations

import ipaddress
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")
pytest.importorskip("ray")

REPO = Path(__file__).resolve().parents[1]

#: A driver: the local cluster of ``ray_pool.connect`` plus an actor stuck in a call (a trial
#: still training), then it waits to be killed. It prints the actor's PID, then READY.
DRIVER = r"""
import os, sys, time
from autopeft.service import ray_pool
import ray

ray_pool.connect(None, num_cpus=2)

@ray.remote(num_cpus=1, max_restarts=-1)
class Busy:
    def pid(self):
        return os.getpid()

    def spin(self):
        while True:
            sum(range(10000))
            time.sleep(0.05)

busy = Busy.remote()
print("ACTOR", ray.get(busy.pid.remote(), timeout=300), flush=True)
busy.spin.remote()
time.sleep(1)
print("READY", flush=True)
time.sleep(3600)
"""


def _env() -> dict:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "PYTHONPATH": path}
    env.pop("RAY_ADDRESS", None)  # a local cluster, whatever the caller's shell says
    return env


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _alive(procs) -> list[psutil.Process]:
    """The processes of ``procs`` still running (psutil checks the start time, so a reused PID
    does not count; a zombie has stopped running and does not count either)."""
    out = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append(proc)
        except psutil.NoSuchProcess:
            pass
    return out


def _kill_all(procs) -> None:
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(list(procs), timeout=10)


def _wait_gone(procs, timeout: float) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    left = _alive(procs)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = _alive(left)
    return left


def _describe(procs) -> str:
    parts = []
    for proc in procs:
        try:
            parts.append(f"{proc.pid} {proc.name()} (ppid {proc.ppid()})")
        except psutil.Error:
            parts.append(f"{proc.pid} (gone)")
    return ", ".join(parts)


def _is_loopback(host: str) -> bool:
    addr = ipaddress.ip_address(host.split("%")[0])
    mapped = getattr(addr, "ipv4_mapped", None)
    return (mapped or addr).is_loopback


def _listening(procs) -> list[tuple[int, str, str, int]]:
    """``(pid, name, ip, port)`` of every listening TCP socket and bound UDP socket of ``procs``."""
    out = []
    for proc in procs:
        try:
            conns = proc.net_connections(kind="inet")
            name = proc.name()
        except psutil.Error:
            continue
        for conn in conns:
            listening = conn.status == psutil.CONN_LISTEN or (conn.type == socket.SOCK_DGRAM and not conn.raddr)
            if listening and conn.laddr:
                out.append((proc.pid, name, conn.laddr.ip, conn.laddr.port))
    return out


def _reap(proc: subprocess.Popen, root: psutil.Process, seen: dict) -> None:
    """Kill ``proc``'s whole tree, every process of it ever seen included, by PID (pass or fail)."""
    for child in _tree(root):
        seen.setdefault(child.pid, child)
    _kill_all([*seen.values(), root])
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


@pytest.fixture(scope="module")
def driver():
    """A driver process with its local cluster up and an actor busy in a call; yields
    ``(driver Popen, its process tree recorded while it ran)``. Torn down by PID."""
    proc = subprocess.Popen([sys.executable, "-c", DRIVER], env=_env(), cwd=str(REPO), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    root = psutil.Process(proc.pid)
    seen: dict[int, psutil.Process] = {}
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout] + [lines.put(None)], daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while True:
            for child in _tree(root):
                seen.setdefault(child.pid, child)
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                if time.monotonic() > deadline:
                    pytest.fail(f"the driver did not start its cluster in time:\n{''.join(output)[-3000:]}")
                continue
            if line is None:
                pytest.fail(f"the driver exited before its cluster was up:\n{''.join(output)[-3000:]}")
            output.append(line)
            if line.startswith("READY"):
                break
        time.sleep(2)  # let the agents finish binding their ports
        for child in _tree(root):
            seen.setdefault(child.pid, child)
        yield proc, list(seen.values())
    finally:
        _reap(proc, root, seen)


def test_local_cluster_listens_on_loopback_only(driver):
    proc, recorded = driver
    assert proc.poll() is None, "the driver died before its sockets could be read"
    procs = _tree(psutil.Process(proc.pid))
    names = {p.name() for p in _alive(procs)}
    assert "raylet" in names and "gcs_server" in names, f"not a local cluster: {sorted(names)}"
    sockets = _listening(procs)
    assert len(sockets) >= 4, f"too few listening sockets to be a cluster: {sockets}"
    public = [s for s in sockets if not _is_loopback(s[2])]
    assert not public, "listening beyond loopback: " + ", ".join(f"{name} (pid {pid}) on {ip}:{port}" for pid, name, ip, port in public)


@pytest.fixture
def bystander():
    """Someone else's cluster on the same machine (``ray start --head``, its own temp dir so no
    other driver joins it); yields its processes. Stopped by signalling its process group."""
    ray_cli = Path(sys.executable).parent / "ray"
    if not ray_cli.exists():
        pytest.skip("no `ray` CLI beside the interpreter")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="apb")  # short: Ray's unix socket paths must fit in 107 bytes
    head = subprocess.Popen(
        [str(ray_cli), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=1",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
        env={**_env(), "RAY_AUTH_MODE": "disabled"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    root = psutil.Process(head.pid)
    seen: dict[int, psutil.Process] = {}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the bystander's `ray start --head` did not start")
                time.sleep(0.5)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # up when its raylet has started its agents
            tree = _tree(root)
            if any(p.name() == "raylet" and p.children() for p in _alive(tree)):
                break
            time.sleep(0.5)
        time.sleep(1)
        for child in _tree(root):
            seen.setdefault(child.pid, child)
        yield list(seen.values())
    finally:
        for child in _tree(root):
            seen.setdefault(child.pid, child)
        try:
            os.killpg(head.pid, signal.SIGKILL)  # SIGTERM drains for 30 s; nothing here to keep
        except ProcessLookupError:
            pass
        _kill_all([*seen.values(), root])
        try:
            head.wait(10)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(temp, ignore_errors=True)


def test_killed_driver_takes_its_cluster_with_it(driver, bystander):
    proc, recorded = driver
    assert proc.poll() is None, "the driver died on its own"
    recorded = [p for p in recorded if p.pid != proc.pid]
    names = {p.name() for p in _alive(recorded)}
    assert "raylet" in names and any(n.startswith("ray::") for n in names), f"not a local cluster: {sorted(names)}"
    others = _alive(bystander)
    assert any(p.name() == "raylet" for p in others), f"the bystander cluster is not up: {_describe(others)}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    left = _wait_gone(recorded, timeout=30)
    assert not left, f"still running 30 s after kill -9 of the driver: {_describe(left)}"
    gone = [p for p in others if p not in _alive(others)]
    assert not gone, f"processes of another Ray cluster died with the driver: {_describe(gone)}"


# ---------------------------------------------------------------------------------------------
# autopeft dashboard


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def store_url(tmp_path_factory):
    pytest.importorskip("streamlit")
    optuna = pytest.importorskip("optuna")
    from autopeft.viz.synthetic import write_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'studies.db'}"
    write_study(url, "dash-kill", n_trials=3, n_failed=0, seed=1, with_params=False)
    return url


@pytest.mark.parametrize("sig", [
    pytest.param(signal.SIGTERM, id="sigterm"),
    pytest.param(signal.SIGKILL, id="sigkill", marks=pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")),
])
def test_dashboard_server_dies_with_the_command(store_url, sig):
    port = _free_port()
    command = [sys.executable, "-c", "import sys; from autopeft.cli import main; sys.exit(main())",
               "dashboard", "--storage", store_url, "--port", str(port)]
    proc = subprocess.Popen(command, env=_env(), cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    root = psutil.Process(proc.pid)
    seen: dict[int, psutil.Process] = {}
    try:
        deadline = time.monotonic() + 90
        while True:  # up when the server answers on its port
            for child in _tree(root):
                seen.setdefault(child.pid, child)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"autopeft dashboard exited with {proc.returncode} before serving")
                if time.monotonic() > deadline:
                    pytest.fail("autopeft dashboard did not serve in time")
                time.sleep(0.5)
        for child in _tree(root):
            seen.setdefault(child.pid, child)
        server = [p for pid, p in seen.items() if pid != proc.pid]
        assert server, "autopeft dashboard serves without a child process: nothing to check"
        os.kill(proc.pid, sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"autopeft dashboard still runs 20 s after {sig.name}")
        left = _wait_gone(server, timeout=20)
        assert not left, f"the server outlived `autopeft dashboard` ({sig.name}) by 20 s: {_describe(left)}"
        listeners = [c.pid for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port]
        assert not set(listeners) & set(seen), f"port {port} is still served by {listeners}"  # another process may reuse the port
    finally:
        _reap(proc, root, seen)
