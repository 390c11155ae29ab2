"""A driver's heartbeat for its RUNNING trials, recorded from a thread.

Optuna records a heartbeat only inside ``Study.optimize``; the asynchronous search loop runs its
trials itself, so it beats here: every ``interval / 2`` seconds for each trial it holds, so long
blocking steps (starting Ray, loading a study) never let another driver mistake them for a dead
driver's trials. Beats are stamped by the database clock (Optuna's ``record_heartbeat``).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)


class Heartbeat:
    """Beats for the trials :meth:`add`-ed until they are :meth:`discard`-ed; a context manager
    running the beating thread."""

    def __init__(self, storage: Any, interval: int):
        self.storage = storage
        self.interval = interval
        self.trial_ids: set[int] = set()
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="autopeft-heartbeat", daemon=True)

    def add(self, trial: Any) -> None:
        """Beat now for ``trial`` (an Optuna ``Trial``), and from now on."""
        self.storage.record_heartbeat(trial._trial_id)
        with self.lock:
            self.trial_ids.add(trial._trial_id)

    def discard(self, trial: Any) -> None:
        with self.lock:
            self.trial_ids.discard(trial._trial_id)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval / 2):
            with self.lock:
                ids = list(self.trial_ids)
            for trial_id in ids:
                try:
                    self.storage.record_heartbeat(trial_id)
                except Exception as exc:  # noqa: BLE001 - a lost beat is retried next round
                    logger.warning("heartbeat of trial id %d failed: %s", trial_id, exc)

    def __enter__(self) -> "Heartbeat":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
