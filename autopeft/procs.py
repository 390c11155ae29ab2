"""Child processes that die with their parent.

* :func:`die_with_parent` is a ``preexec_fn`` for :class:`subprocess.Popen`: on Linux the child
  gets ``signal`` (``prctl(PR_SET_PDEATHSIG)``) when the process that started it dies, SIGKILL
  included. It covers direct children only (``autopeft dashboard``'s Streamlit server).
* :class:`ClusterWatchdog` covers what a direct child's death signal cannot: the processes of a
  local Ray cluster. Ray already ties its direct children (GCS, raylet, monitor, log monitor) to
  the driver, but the raylet's children (dashboard agent, runtime-env agent, idle workers, a worker
  busy in an actor call) outlive a raylet killed under them. The watchdog is a small process of its
  own (this file run as a script, in a session of its own so a Ctrl-C to the driver's terminal
  does not reach it); the driver holds the write end of a pipe to its stdin. When the pipe closes
  (the driver exited, was killed, or called :meth:`ClusterWatchdog.close` after ``ray.shutdown``)
  or the driver's PID stops running, it kills that cluster's processes and exits.

  Which processes are the cluster's, recorded while the driver ran, never looked up by name:
  the processes whose environment holds this cluster's token (the driver sets ``TOKEN_ENV`` only
  while ``ray.init`` starts the GCS and the raylet; the raylet passes it to every worker), the
  processes whose ``RAY_RAYLET_PID`` names this cluster's raylet (the agents), the PIDs the driver
  reports after ``ray.init`` and their descendants (snapshotted every second), each identified by
  PID *and* start time, so a reused PID is never signalled. Processes of another cluster (a
  ``ray start --head`` of the user's) carry neither the token nor this raylet's PID.

This module imports only the standard library at import time (psutil inside functions), so
running it as a script starts in a fraction of a second.
"""

from __future__ import annotations

import os
import signal
import sys

#: The environment variable that marks the processes of one local cluster.
TOKEN_ENV = "_AUTOPEFT_RAY_CLUSTER"
#: Seconds between two looks at the driver and two snapshots of the cluster's process tree.
POLL_S = 1.0


def _prctl_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def die_with_parent(sig: int = signal.SIGTERM):
    """A ``preexec_fn``: the child receives ``sig`` when its parent dies (Linux; elsewhere a
    no-op). If the parent died before the child armed it, the child stops at once."""
    parent = os.getpid()  # evaluated in the parent, before the fork

    def preexec() -> None:
        if _prctl_pdeathsig(sig) and os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


# ------------------------------------------------------------------------------------------------
# The watchdog of a local Ray cluster: the driver's side.


class ClusterWatchdog:
    """The driver's handle on a watchdog process (see the module docstring)."""

    def __init__(self) -> None:
        import subprocess
        import uuid

        self.token = uuid.uuid4().hex
        env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
        self.process = subprocess.Popen(
            [sys.executable, "-u", os.path.abspath(__file__), "--watch", str(os.getpid()), self.token],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, close_fds=True, start_new_session=True,
        )

    def report(self, pids) -> None:
        """Tell the watchdog the PIDs of the cluster's processes the driver started."""
        try:
            self.process.stdin.write((" ".join(str(int(p)) for p in pids) + "\n").encode())
            self.process.stdin.flush()
        except (OSError, ValueError):
            pass

    def close(self, timeout: float = 15.0) -> None:
        """The cluster is over: the watchdog kills what is left of it, then exits."""
        import subprocess

        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


# ------------------------------------------------------------------------------------------------
# The watchdog process.


def _proc(pid: int):
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _running(proc) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _scan(token: str, raylets: dict) -> list:
    """Processes carrying this cluster's token, or started by one of its raylets (agents)."""
    import psutil

    me = os.getpid()
    uid = os.getuid() if hasattr(os, "getuid") else None
    found = []
    for proc in psutil.process_iter():
        if proc.pid == me:
            continue
        try:
            if uid is not None and proc.uids().real != uid:
                continue
            env = proc.environ()
        except psutil.Error:
            continue
        if env.get(TOKEN_ENV) == token:
            found.append(proc)
            continue
        raylet = env.get("RAY_RAYLET_PID", "")
        if raylet.isdigit() and int(raylet) in raylets:
            started = raylets[int(raylet)]
            holder = _proc(int(raylet))
            try:
                if holder is not None and abs(holder.create_time() - started) > 0.01:
                    continue  # that PID now belongs to another process (another cluster's raylet)
                if proc.create_time() + 1 >= started:  # not a process of an earlier raylet with that PID
                    found.append(proc)
            except psutil.Error:
                pass
    return found


def _add_tree(proc, into: dict) -> None:
    """``proc`` and its descendants into ``into`` (pid -> psutil.Process), keeping entries already there."""
    import psutil

    into.setdefault(proc.pid, proc)
    try:
        for child in proc.children(recursive=True):
            into.setdefault(child.pid, child)
    except psutil.Error:
        pass


def _note_raylet(proc, raylets: dict) -> None:
    """Remember ``proc`` as a possible raylet: the agents of a raylet carry its PID."""
    import psutil

    try:
        raylets.setdefault(proc.pid, proc.create_time())
    except psutil.Error:
        pass


def _kill(token: str, known: dict, raylets: dict, spare: int) -> None:
    """Stop, then kill, every process of the cluster; repeat until a scan finds none."""
    import psutil

    for _ in range(5):
        victims = {}
        for proc in list(known.values()) + _scan(token, raylets):
            if _running(proc):
                victims[proc.pid] = proc
                _add_tree(proc, victims)
        victims.pop(os.getpid(), None)
        victims.pop(spare, None)  # the driver itself, when it closed the pipe and lives on
        if not victims:
            return
        for proc in victims.values():  # a stopped raylet starts no new worker
            try:
                proc.suspend()
            except psutil.Error:
                pass
        for proc in victims.values():
            _note_raylet(proc, raylets)
            try:
                proc.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(list(victims.values()), timeout=2)
        known.clear()


def _watch(driver_pid: int, token: str) -> int:
    import select

    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    driver = _proc(driver_pid)
    known: dict = {}  # pid -> psutil.Process (PID and start time)
    roots: dict = {}
    raylets: dict = {}  # raylet pid -> its start time
    stdin = sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw") else sys.stdin.buffer
    fd = stdin.fileno()
    pending = b""

    def take(words: bytes) -> None:
        for word in words.split():
            proc = _proc(int(word)) if word.isdigit() else None
            if proc is not None:
                roots[proc.pid] = proc
                _note_raylet(proc, raylets)

    def snapshot() -> None:
        for root in list(roots.values()):
            if not _running(root):
                continue
            known[root.pid] = root
            _add_tree(root, known)
        for pid in [pid for pid, proc in known.items() if not _running(proc)]:
            del known[pid]

    closed = False
    while driver is not None and _running(driver):
        ready, _, _ = select.select([fd], [], [], POLL_S)
        if ready:
            data = os.read(fd, 65536)
            if not data:
                closed = True  # the driver closed the pipe or exited
                break
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                take(line)
        snapshot()
    while not closed and select.select([fd], [], [], 0)[0]:  # what the driver wrote before it died
        data = os.read(fd, 65536)
        closed = not data
        pending += data
    take(pending)
    snapshot()
    _kill(token, known, raylets, driver_pid)
    return 0


if __name__ == "__main__":
    # Run as a script: the folder of this file must not shadow anything on sys.path.
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)
    if len(sys.argv) == 4 and sys.argv[1] == "--watch":
        sys.exit(_watch(int(sys.argv[2]), sys.argv[3]))
    print("usage: procs.py --watch DRIVER_PID TOKEN", file=sys.stderr)
    sys.exit(2)
