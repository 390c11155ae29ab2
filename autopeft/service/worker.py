"""The trial worker: a long-lived process (a Ray actor) that evaluates one config per call.

A trial's payload names its task by its spec (a JSON-able dict, see :mod:`autopeft.tasks.resolve`);
the worker rebuilds the :class:`~autopeft.tasks.Task` from it once per process. It keeps its
imports, and through the objective (``autopeft.proxy.evaluate`` keeps a
per-process backbone and tokenisation cache), the backbone and tokenised data across trials, so
a trial's overhead is one Ray call, not a process start. Ray workers get ``OMP_NUM_THREADS=1``
and a reused worker would keep the torch thread count it started with, so the thread count is
set from the trial's CPU allocation before every trial.

Multi-fidelity (a request with a :class:`~autopeft.service.messages.Stage`): the objective path
names a *staged* trial class (``autopeft.proxy.runner:StagedTrial``'s interface: built with
``evaluate``'s arguments, ``total_steps``, ``advance(step) -> TrialResult``, ``close()``). The
worker trains it to the rung's step and keeps it in memory by trial number (``held``) until the
driver either continues it (the next rung's request, to this same worker) or releases it
(:meth:`TrialWorker.release`). A continuation whose trial this process does not hold (the actor
restarted) trains a fresh one to the step: same seed, same schedule, so the same score.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from typing import Any

_CURRENT_TRIAL: int | None = None
_TASKS: dict[str, Any] = {}  # JSON of a task spec (or name and data folder) -> its Task, per process


def current_trial() -> int | None:
    """Number of the trial this process is running (for objectives that need it)."""
    return _CURRENT_TRIAL


def task_of(task: Any, data_dir: str | None = None) -> Any:
    """The :class:`autopeft.tasks.Task` a trial's payload names: a task spec dict (what the
    search driver sends), or a name (``glue/rte``, ``bbcnews``, ``folder:ROOT``; older drivers
    and calibrations send names). Built once per process, so its examples are read once. A name
    no registry knows is returned as is, for a plugged-in objective that defines its own tasks."""
    import json

    from autopeft.tasks import UnknownTaskError, resolve_task

    key = json.dumps([task, data_dir], sort_keys=True, default=str)
    if key not in _TASKS:
        try:
            _TASKS[key] = resolve_task(task) if isinstance(task, dict) else resolve_task(task, data_dir)  # a spec holds its paths
        except UnknownTaskError:
            if not isinstance(task, str):
                raise
            return task
    return _TASKS[key]


class TrialWorker:
    """Evaluates configs with the objective named by import path. Wrapped by ``ray.remote``."""

    def __init__(self, objective_fn: str, cpus: float = 1.0, device: str | None = None, env: dict[str, str] | None = None):
        self.threads = max(1, int(cpus))
        for key, value in (env or {}).items():
            os.environ[key] = value
        os.environ["OMP_NUM_THREADS"] = str(self.threads)
        os.environ["MKL_NUM_THREADS"] = str(self.threads)
        self.objective_path = objective_fn
        self.device = device
        self._fn = None
        self.host = socket.gethostname()
        self.trials_run = 0
        self._info: dict[str, Any] | None = None
        self._held: dict[int, Any] = {}  # trial number -> the paused staged trial

    def _objective(self) -> Any:
        if self._fn is None:
            from autopeft.service.trial_fn import resolve

            self._fn = resolve(self.objective_path)
        return self._fn

    def _set_threads(self) -> None:
        import sys

        torch = sys.modules.get("torch")
        if torch is not None and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)

    def info(self) -> dict[str, Any]:
        """Where this worker runs (the driver records it on every trial)."""
        if self._info is not None:
            return self._info
        try:
            import ray

            node_ip = ray.util.get_node_ip_address()
            node_id = ray.get_runtime_context().get_node_id()
        except Exception:  # noqa: BLE001 - outside Ray
            node_ip = node_id = None
        self._info = {"host": self.host, "node_ip": node_ip, "node_id": node_id, "pid": os.getpid()}
        return self._info

    def run(self, request: Any) -> Any:
        """Evaluate one :class:`~autopeft.service.messages.TrialRequest` and answer a
        :class:`~autopeft.service.messages.TrialOutcome`; never raises for an objective error
        (the outcome says it failed). A dict payload of earlier versions is answered with a dict."""
        from autopeft.service.messages import TrialRequest

        if isinstance(request, TrialRequest):
            return self.evaluate(request) if request.stage is None else self.advance(request)
        return self.evaluate(TrialRequest.from_payload(request)).to_payload()

    def evaluate(self, request: Any) -> Any:
        global _CURRENT_TRIAL
        from autopeft.service.messages import split_result

        _CURRENT_TRIAL = request.number
        started = time.time()
        try:
            raw = self._call_objective(request)
            self._set_threads()
            result, extra = split_result(raw)
        except Exception as exc:  # noqa: BLE001 - the trial fails, the worker lives on
            result, extra = _failed(exc)
        finally:
            _CURRENT_TRIAL = None
        self.trials_run += 1
        return self._outcome(request, started, result, extra)

    def _call_objective(self, request: Any) -> Any:
        """The objective called on ``request``'s model, task, config, fidelity and seed (torch's
        threads set first): a result for a whole trial, a staged trial for a staged objective."""
        fn = self._objective()
        self._set_threads()
        task = task_of(request.task, request.data_dir)
        return fn(request.model, task, request.config, request.fidelity, request.seed, data_dir=request.data_dir, device=self.device)

    def _outcome(self, request: Any, started: float, result: Any, extra: Any, **stage: Any) -> Any:
        """The :class:`~autopeft.service.messages.TrialOutcome` of ``request``, started at
        ``started`` (epoch seconds), with this worker's identity and the timings; ``stage``:
        the rung fields of a staged trial."""
        from autopeft.service.messages import TrialOutcome
        from autopeft.store.trial import Timings, WorkerInfo

        finished = time.time()
        return TrialOutcome(
            number=request.number,
            result=result,
            extra=extra,
            worker=WorkerInfo(**self.info(), trials_run=self.trials_run),
            timings=Timings(queued=request.queued, started=started, finished=finished, wall_s=finished - started,
                            dispatch_s=None if request.queued is None else started - request.queued),
            **stage,
        )

    def release(self, number: int) -> bool:
        """Drop the paused staged trial ``number`` (the driver stopped it); False if not held."""
        trial = self._held.pop(number, None)
        if trial is None:
            return False
        _close(trial)
        return True

    def held(self) -> list[int]:
        """Numbers of the staged trials this worker holds paused."""
        return sorted(self._held)

    def advance(self, request: Any) -> Any:
        """Train the staged trial of ``request`` to its rung's step and answer the outcome there;
        the trial is kept (``held``) unless it reached its whole budget or failed. Never raises
        for an objective error."""
        global _CURRENT_TRIAL
        from autopeft.service.messages import split_result

        _CURRENT_TRIAL = request.number
        started = time.time()
        trial = self._held.pop(request.number, None)
        for orphan in list(self._held):  # the driver decides before it sends this worker anything else
            _close(self._held.pop(orphan))
        step = total = None
        rung = request.stage.rung
        try:
            self._set_threads()
            if trial is None:
                trial = self._call_objective(request)  # a staged objective: the call builds the trial
            total = int(trial.total_steps)
            if total > 0:
                steps = request.stage.ladder.steps(total)
                rung = min(rung, len(steps) - 1)
                step = steps[rung]
            raw = trial.advance(step)
            self._set_threads()
            result, extra = split_result(raw)
        except Exception as exc:  # noqa: BLE001 - the trial fails, the worker lives on
            result, extra = _failed(exc)
        finally:
            _CURRENT_TRIAL = None
        held = trial is not None and result.status == "ok" and step is not None and step < total
        if held:
            self._held[request.number] = trial
        elif trial is not None:
            _close(trial)
        self.trials_run += 0 if rung else 1
        return self._outcome(request, started, result, extra,
                             rung=rung, step=step if step is not None else (total or None), total_steps=total, held=held)


def _failed(exc: BaseException) -> tuple[Any, dict[str, Any]]:
    """(result, extra) of a trial whose objective raised ``exc``: failed, with the traceback."""
    from autopeft.service.messages import split_result

    tb = traceback.format_exc(limit=8)
    return split_result({"status": "failed", "error": f"{exc.__class__.__name__}: {exc}", "traceback": tb})


def _close(trial: Any) -> None:
    close = getattr(trial, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - freeing memory is best effort
            pass
