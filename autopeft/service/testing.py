"""Cheap objectives with ``autopeft.proxy.evaluate``'s signature, for the orchestration tests and
benchmark (they exercise the whole loop, store and Ray, without training anything).

``zero_cost``: returns at once. ``cpu_bound``: burns ``AUTOPEFT_TEST_TRIAL_SECONDS`` (2 s) of
CPU. ``sleepy``: writes its process id to ``$AUTOPEFT_TEST_PIDDIR/<trial>.pid`` and sleeps
``AUTOPEFT_TEST_TRIAL_SECONDS``, so a test can kill the worker mid-trial. The score is a fixed
function of the config, so fronts are reproducible.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any


def _score(config: Any) -> float:
    """A deterministic score in [0.5, 0.95) that grows with the config's total size."""
    data = config.to_dict() if hasattr(config, "to_dict") else config
    size = 0
    for layer in data["layers"]:
        size += sum(v for k, v in layer.items() if isinstance(v, int) and not isinstance(v, bool))
        size += sum((layer.get("lora") or {}).values()) + (4 if layer.get("ia3") else 0)
    noise = int(hashlib.sha1(repr(data).encode()).hexdigest()[:6], 16) / 16**6
    return 0.5 + 0.4 * (1 - 1 / (1 + size / 200)) + 0.05 * noise


def _result(config: Any, started: float) -> dict[str, Any]:
    return {"score": _score(config), "metrics": {"accuracy": _score(config)}, "status": "ok", "error": None, "time_train_s": time.perf_counter() - started}


def zero_cost(model: str, task: str, config: Any, fidelity: Any = "quick", seed: int = 0, *, data_dir: Any = None, device: Any = None) -> dict[str, Any]:
    return _result(config, time.perf_counter())


def cpu_bound(model: str, task: str, config: Any, fidelity: Any = "quick", seed: int = 0, *, data_dir: Any = None, device: Any = None) -> dict[str, Any]:
    started = time.perf_counter()
    seconds = float(os.environ.get("AUTOPEFT_TEST_TRIAL_SECONDS", "2"))
    x = 0
    while time.perf_counter() - started < seconds:
        for i in range(10_000):
            x = (x * 31 + i) % 1_000_003
    return _result(config, started)


def sleepy(model: str, task: str, config: Any, fidelity: Any = "quick", seed: int = 0, *, data_dir: Any = None, device: Any = None) -> dict[str, Any]:
    from autopeft.service.worker import current_trial

    started = time.perf_counter()
    pid_dir = os.environ.get("AUTOPEFT_TEST_PIDDIR")
    if pid_dir:
        path = os.path.join(pid_dir, f"{current_trial()}.pid")
        with open(path + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(path + ".tmp", path)
    time.sleep(float(os.environ.get("AUTOPEFT_TEST_TRIAL_SECONDS", "2")))
    return _result(config, started)


def failing(model: str, task: str, config: Any, fidelity: Any = "quick", seed: int = 0, *, data_dir: Any = None, device: Any = None) -> dict[str, Any]:
    raise RuntimeError("this objective always fails")
