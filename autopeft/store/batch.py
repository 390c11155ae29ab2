"""Writing a trial's suggested parameters in one transaction instead of one per parameter.

Optuna commits every ``suggest_*`` separately; a per-layer space has dozens of parameters, so
on SQLite those commits were most of the driver's time per trial. Inside :func:`batched_params`
the RDB backend's per-parameter write is buffered and the buffer is inserted with one
``executemany`` when the block ends. It relies on two internals of Optuna's RDBStorage
(``_set_trial_param`` and ``models.TrialParamModel``); when they are missing it does nothing and
Optuna writes as usual.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator


def _backend(storage: Any) -> Any:
    return getattr(storage, "_backend", storage)


@contextlib.contextmanager
def batched_params(study: Any) -> Iterator[None]:
    backend = _backend(study._storage)
    try:
        from optuna import distributions
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session
    except ImportError:
        yield
        return
    if not hasattr(backend, "_set_trial_param") or not hasattr(backend, "scoped_session"):
        yield
        return
    buffer: list[dict[str, Any]] = []

    def buffered(trial_id: int, name: str, value: float, distribution: Any, previous: Any = None) -> None:
        if previous is not None:
            distributions.check_distribution_compatibility(previous, distribution)
        buffer.append(
            {"trial_id": trial_id, "param_name": name, "param_value": value, "distribution_json": distributions.distribution_to_json(distribution)}
        )

    backend._set_trial_param = buffered
    try:
        yield
    finally:
        del backend._set_trial_param  # back to the class's method
        if buffer:
            with _create_scoped_session(backend.scoped_session, True) as session:
                trial = models.TrialModel.find_or_raise_by_id(buffer[0]["trial_id"], session)
                backend.check_trial_is_updatable(trial.trial_id, trial.state)
                session.execute(models.TrialParamModel.__table__.insert(), buffer)
