"""``autopeft dashboard``: serve the Streamlit dashboard (``dashboard/app.py``) on a study store.

Runs ``python -m streamlit run dashboard/app.py -- --storage URL`` with the server bound to
127.0.0.1 unless ``--host`` says otherwise (Streamlit alone binds every interface and probes an
external IP), headless, without usage statistics, and with ``fileWatcherType none`` (watching
the source tree for edits floods inotify on big checkouts). The store is opened read-only by the
app; a missing database is refused here before the server starts.

The server dies with the command: SIGTERM, SIGHUP or Ctrl-C to ``autopeft dashboard`` is passed on
to it (and it is killed if it has not stopped 10 s later), and on Linux it gets SIGTERM from the
kernel when the command dies any other way, SIGKILL included (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from autopeft.errors import AutoPeftError
from autopeft.store.storage import DEFAULT_STORAGE

HELP = "Serve the dashboard: Pareto fronts, trial details and exports of a study store."
DEFAULT_PORT = 8501
DEFAULT_HOST = "127.0.0.1"


class DashboardCommandError(AutoPeftError, ValueError):
    """The dashboard cannot be started (missing app file, streamlit not installed, bad port)."""


def app_path() -> Path:
    """The dashboard's ``app.py``: package data of ``autopeft.dashboard`` (the repository's
    ``dashboard/`` folder), a real file in a wheel install and in an editable install alike."""
    from importlib import resources

    return Path(str(resources.files("autopeft.dashboard") / "app.py"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"study store URL, opened read-only (default {DEFAULT_STORAGE})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to serve on (default {DEFAULT_PORT})")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}; 0.0.0.0 serves every interface)")


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The command line that serves the app (also what the tests start)."""
    if not 0 < args.port < 65536:
        raise DashboardCommandError(f"--port {args.port}: expected a port number between 1 and 65535")
    app = app_path()
    if not app.is_file():
        raise DashboardCommandError(f"the dashboard app {str(app)!r} is missing; reinstall autopeft (pip install --force-reinstall autopeft)")
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", args.host,
        "--server.port", str(args.port),
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
        "--", "--storage", args.storage,
    ]


def run(args: argparse.Namespace) -> int:
    import importlib.util

    from autopeft.store import open_readonly

    if importlib.util.find_spec("streamlit") is None:
        raise DashboardCommandError("streamlit is not installed; pip install 'streamlit>=1.40'")
    open_readonly(args.storage)  # a missing or foreign database: one line now, not a page later
    command = streamlit_command(args)
    print(f"autopeft dashboard: serving {args.storage} at http://{args.host}:{args.port} (Ctrl-C stops)", file=sys.stderr)
    return serve(command)


#: Seconds the server has to stop after the signal passed on to it, before it is killed.
STOP_GRACE_S = 10.0


def serve(command: list[str]) -> int:
    """Run the server ``command`` as a child that dies with this process; returns its exit code
    (0 after Ctrl-C)."""
    import signal
    import threading
    import time

    from autopeft.procs import die_with_parent

    posix = sys.platform != "win32"
    server = subprocess.Popen(command, preexec_fn=die_with_parent(signal.SIGTERM) if posix else None)
    stopping: list[float] = []

    def pass_on(signum: int, frame: object) -> None:
        if not stopping:
            stopping.append(time.monotonic())
        try:
            server.terminate()
        except OSError:
            pass

    handled = [signal.SIGTERM, *([signal.SIGHUP] if posix else [])]
    if threading.current_thread() is not threading.main_thread():
        handled = []  # signal handlers can only be set in the main thread
    previous = {sig: signal.signal(sig, pass_on) for sig in handled}
    interrupted = False
    try:
        while True:
            try:
                code = server.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                if stopping and time.monotonic() - stopping[0] > STOP_GRACE_S:
                    server.kill()
            except KeyboardInterrupt:  # Ctrl-C reached the server too; give it time to stop
                interrupted = True
                pass_on(signal.SIGINT, None)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if interrupted else code
