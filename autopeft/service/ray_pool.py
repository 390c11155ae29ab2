"""Ray: connecting to (or starting) a cluster, and a pool of long-lived trial workers.

``ray.init()`` starts a local cluster unless ``address`` names an existing one (``--ray-address``,
e.g. ``127.0.0.1:6379``, a cluster started by ``ray start --head``, see ``workers/``). Each
worker is a :class:`~autopeft.service.worker.TrialWorker` actor holding ``cpus_per_trial`` CPUs
and ``gpus_per_trial`` GPUs (fractions allowed). An actor whose process dies is restarted by Ray
(``max_restarts=-1``); the call that was running raises ``RayActorError`` and the search loop
re-queues that trial once.

Ray 2.60 turns token authentication on by default: a driver joining a ``ray start --head``
cluster needs the same ``RAY_AUTH_MODE`` as the cluster (tests run both with ``disabled``).

The local cluster (no ``address``, no ``RAY_ADDRESS``) is the driver's own: it never joins a
``ray start`` cluster found on the machine, and

* it listens on 127.0.0.1 only. Ray makes every server of a node (GCS, raylet, object manager,
  the driver's and the workers' gRPC servers, dashboard agent, runtime-env agent, monitor) listen
  on loopback when the node's IP is a loopback address, but ``ray.init`` rewrites
  ``_node_ip_address="127.0.0.1"`` into the machine's routable IP unless Ray runs in its
  single-machine mode (its default on macOS and Windows); :func:`connect` turns that mode on for
  the call to ``ray.init`` only;
* it dies with the driver, even on SIGKILL: an :class:`autopeft.procs.ClusterWatchdog` process
  kills what is left of it when the driver exits or dies, or when :func:`shutdown` is called.

A cluster joined with ``--ray-address`` keeps its own addresses and processes.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from autopeft.service.errors import SearchError

#: Environment variables forwarded to workers (offline model loading, caches, test hooks).
_FORWARD_PREFIXES = ("HF_", "TRANSFORMERS_", "AUTOPEFT_", "TOKENIZERS_")

#: The only address the local cluster listens on.
LOCALHOST = "127.0.0.1"

#: The watchdog of the local cluster this process started, if any (see :mod:`autopeft.procs`).
_watchdog: Any = None


def _worker_env() -> dict[str, str]:
    from autopeft.procs import TOKEN_ENV

    env = {k: v for k, v in os.environ.items() if k.startswith(_FORWARD_PREFIXES) and k != TOKEN_ENV}
    # Workers import autopeft from where the driver does (the folder holding the package).
    import autopeft

    root = str(Path(autopeft.__file__).resolve().parent.parent)
    paths = [root, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def connect(address: str | None, *, num_cpus: float | None = None, log_to_driver: bool = False) -> dict[str, Any]:
    """Join ``address`` (or ``$RAY_ADDRESS``) or start a local cluster on 127.0.0.1 that dies
    with this process; returns ``ray.cluster_resources()``."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return ray.cluster_resources()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address == "local":
        address = None  # Ray's word for a new local cluster: ours, on loopback, watched
    kwargs: dict[str, Any] = {
        "runtime_env": {"env_vars": _worker_env()},
        "log_to_driver": log_to_driver or bool(os.environ.get("AUTOPEFT_RAY_LOGS")),
        "logging_level": "ERROR",
        "configure_logging": True,
    }
    if address:
        _check_port(address)
        kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except Exception as exc:  # ConnectionError, auth errors, ... -> one clear line
            raise _connect_error(address, exc) from None
        return ray.cluster_resources()
    kwargs.update(address="local", _node_ip_address=LOCALHOST, include_dashboard=False)
    if num_cpus is not None:
        kwargs["num_cpus"] = num_cpus
    _start_local(ray, kwargs)
    return ray.cluster_resources()


def _start_local(ray: Any, kwargs: dict[str, Any]) -> None:
    """``ray.init`` of a new local cluster bound to loopback, watched by a
    :class:`~autopeft.procs.ClusterWatchdog`."""
    global _watchdog
    from ray._private import ray_constants

    from autopeft.procs import TOKEN_ENV, ClusterWatchdog

    if _watchdog is not None:  # Ray was shut down without shutdown(): that cluster is over
        _watchdog.close()
        _watchdog = None
    # Windows: Ray ties the cluster's processes to the driver with a job object already.
    watchdog = ClusterWatchdog() if sys.platform != "win32" else None
    saved_mode = ray_constants.ENABLE_RAY_CLUSTER
    saved_token = os.environ.get(TOKEN_ENV)
    # Single-machine mode: ray.init keeps 127.0.0.1 as the node IP instead of rewriting it into
    # the machine's routable address, and every server of the node then listens on loopback.
    ray_constants.ENABLE_RAY_CLUSTER = False
    if watchdog is not None:
        os.environ[TOKEN_ENV] = watchdog.token  # inherited by the GCS, the raylet and every worker
    try:
        ray.init(**kwargs)
    except Exception as exc:
        if watchdog is not None:
            watchdog.close()
        raise _connect_error(None, exc) from None
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_mode
        if saved_token is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = saved_token
    node = getattr(ray._private.worker, "_global_node", None)
    pids = [info.process.pid for infos in (getattr(node, "all_processes", None) or {}).values() for info in infos if info.process is not None]
    if watchdog is not None:
        watchdog.report(pids)
    _watchdog = watchdog


def _connect_error(address: str | None, exc: BaseException) -> SearchError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    hint = ""
    if "auth" in text.lower() or "token" in text.lower():
        hint = "; set the same RAY_AUTH_MODE (or token) as the cluster"
    where = f"--ray-address {address!r}" if address else "local Ray cluster"
    return SearchError(f"{where}: cannot connect ({exc.__class__.__name__}: {text}){hint}")


def _check_port(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at ``HOST:PORT`` (ray.init retries long)."""
    import socket

    if "://" in address or address == "auto" or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise SearchError(f"--ray-address {address!r}: cannot connect ({exc.__class__.__name__}: {exc}); start the head with `ray start --head`") from None


def shutdown() -> None:
    """Disconnect; a local cluster this process started is stopped, and its watchdog kills
    whatever of it ``ray.shutdown`` left running."""
    global _watchdog
    import ray

    if ray.is_initialized():
        ray.shutdown()
    if _watchdog is not None:
        watchdog, _watchdog = _watchdog, None
        watchdog.close()


def trial_actor(objective_fn: str, cpus_per_trial: float = 1.0, gpus_per_trial: float = 0.0) -> Any:
    """One :class:`~autopeft.service.worker.TrialWorker` Ray actor holding the trial's CPUs and
    GPUs, restarted by Ray when its process dies (the one place such an actor is built: the
    pool and ``workers/actor.py`` use it)."""
    import ray

    from autopeft.service.worker import TrialWorker

    remote = ray.remote(TrialWorker).options(
        num_cpus=cpus_per_trial,
        num_gpus=gpus_per_trial,
        max_restarts=-1,
        max_task_retries=0,
        runtime_env={"env_vars": _worker_env()},
    )
    return remote.remote(objective_fn, cpus_per_trial, "cuda" if gpus_per_trial > 0 else None)


class WorkerPool:
    """``size`` :class:`TrialWorker` actors; one trial at a time per actor, asynchronously.

    A staged trial (multi-fidelity) that the worker answers as ``held`` keeps its actor: the
    actor is neither free nor running until the driver either continues the trial on it
    (:meth:`resume`) or stops it (:meth:`release`), which the loop does as soon as it has the
    answer, so no actor waits on a rung."""

    def __init__(self, size: int, objective_fn: str, *, cpus_per_trial: float = 1.0, gpus_per_trial: float = 0.0):
        self.actors = [trial_actor(objective_fn, cpus_per_trial, gpus_per_trial) for _ in range(size)]
        self.free = list(self.actors)
        self.running: dict[Any, tuple[int, Any]] = {}  # object ref -> (trial number, actor)
        self.recovering: dict[Any, Any] = {}  # ping ref -> actor whose process died
        self.holding: dict[int, Any] = {}  # trial number -> actor holding the paused staged trial

    @property
    def has_free(self) -> bool:
        return bool(self.free)

    def submit(self, payload: dict[str, Any], actor: Any = None) -> None:
        actor = self.free.pop(0) if actor is None else actor
        ref = actor.run.remote(payload)
        self.running[ref] = (payload["number"], actor)

    def resume(self, request: Any) -> None:
        """Continue the held staged trial ``request.number`` on the actor that holds it (on a
        free actor when none does: it then trains the trial afresh to the step)."""
        actor = self.holding.pop(request.number, None)
        self.submit(request, actor)

    def release(self, number: int) -> None:
        """Stop the held staged trial ``number``: its actor drops it and is free again."""
        actor = self.holding.pop(number, None)
        if actor is not None:
            actor.release.remote(number)  # calls to one actor run in order: before its next trial
            self.free.append(actor)

    def wait(self, timeout: float) -> list[tuple[int, dict[str, Any] | None, BaseException | None]]:
        """Finished trials as ``(number, outcome, error)``; ``error`` is set when the worker died.

        An actor whose process died is restarted by Ray; it goes back to the free list only
        after it answers a ping, so the next trial is not sent to an actor still restarting.
        """
        import ray

        if not self.running and not self.recovering:
            return []
        refs = [*self.running, *self.recovering]
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and len(refs) > 1:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        done = []
        for ref in ready:
            if ref in self.recovering:
                actor = self.recovering.pop(ref)
                try:
                    ray.get(ref)
                    self.free.append(actor)
                except ray.exceptions.RayActorError:
                    self.recovering[actor.info.remote()] = actor  # still restarting: ping again
                continue
            number, actor = self.running.pop(ref)
            try:
                outcome = ray.get(ref)
                done.append((number, outcome, None))
                if getattr(outcome, "held", False):
                    self.holding[number] = actor
                else:
                    self.free.append(actor)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.RayTaskError, ray.exceptions.ObjectLostError) as exc:
                done.append((number, None, exc))
                self.recovering[actor.info.remote()] = actor
        return done

    def running_numbers(self) -> list[int]:
        return [number for number, _ in self.running.values()]

    def stop(self) -> None:
        import ray

        for actor in self.actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.running.clear()
        self.recovering.clear()
        self.holding.clear()
        self.free.clear()


def describe_exception(exc: BaseException) -> str:
    """One line for a worker failure, for the trial's ``error`` attribute."""
    text = str(exc).strip().splitlines()
    first = next((line for line in text if line.strip()), "")
    return f"worker died mid-trial ({exc.__class__.__name__}: {first[:300]})"


__all__ = ["WorkerPool", "connect", "describe_exception", "shutdown", "trial_actor"]
