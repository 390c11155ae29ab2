"""Writing a trial's suggested parameters in one session instead of one commit per parameter.

Optuna commits every ``suggest_*`` separately; a per-layer space has dozens of parameters, so on
SQLite those commits were most of the driver's time per trial. :class:`BatchingRDBStorage` is
the RDB storage :func:`autopeft.store.open_storage` returns: inside its :meth:`batched_params`
block the parameters a thread writes are kept (the trial sees them at once: Optuna caches its
own trial), and written with one ``executemany`` in one session when the block ends. It
overrides the storage's per-parameter write (``_set_trial_param``, which Optuna's cached storage
calls) in a subclass; outside a block it writes as Optuna does.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Iterator

import optuna
from optuna import distributions
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session


class BatchingRDBStorage(optuna.storages.RDBStorage):
    """Optuna's RDB storage whose parameter writes can be batched (:meth:`batched_params`)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._batch = threading.local()

    @contextlib.contextmanager
    def batched_params(self) -> Iterator[None]:
        """Keep this thread's parameter writes until the block ends, then write them at once."""
        if getattr(self._batch, "rows", None) is not None:  # nested: the outer block writes
            yield
            return
        rows: list[dict[str, Any]] = []
        self._batch.rows = rows
        try:
            yield
        finally:
            self._batch.rows = None
            if rows:
                self._write_params(rows)

    def _set_trial_param(self, trial_id: int, param_name: str, param_value_internal: float,
                         distribution: distributions.BaseDistribution, previous_distribution: Any = None) -> None:
        rows = getattr(self._batch, "rows", None)
        if rows is None:
            return super()._set_trial_param(trial_id, param_name, param_value_internal, distribution, previous_distribution)
        if previous_distribution is not None:
            distributions.check_distribution_compatibility(previous_distribution, distribution)
        rows.append({"trial_id": trial_id, "param_name": param_name, "param_value": param_value_internal,
                     "distribution_json": distributions.distribution_to_json(distribution)})
        return None

    def _write_params(self, rows: list[dict[str, Any]]) -> None:
        with _create_scoped_session(self.scoped_session, True) as session:
            trial = models.TrialModel.find_or_raise_by_id(rows[0]["trial_id"], session)
            self.check_trial_is_updatable(trial.trial_id, trial.state)
            session.execute(models.TrialParamModel.__table__.insert(), rows)


def backend(storage: Any) -> Any:
    """The RDB storage under Optuna's cached-storage wrapper (a study's storage is wrapped)."""
    return getattr(storage, "_backend", storage)


@contextlib.contextmanager
def batched_params(study: Any) -> Iterator[None]:
    """Batch the parameter writes of ``study`` (an ``optuna.Study`` on a store opened by
    :func:`autopeft.store.open_storage`) inside the block; elsewhere Optuna writes as usual."""
    rdb = backend(study._storage)
    if not isinstance(rdb, BatchingRDBStorage):
        yield
        return
    with rdb.batched_params():
        yield
