"""Writing many finished trials at once: batched inserts into Optuna's tables.

``optuna.Study.add_trials`` writes each trial, each of its parameters and each of its user
attributes as separate statements in separate transactions (a 718-trial synthetic study took
more than 600 s on the loaded CI machine). :func:`add_trials` writes the same rows, in the same
schema, with one ``executemany`` per table and one transaction per chunk of trials, so a
10,000-trial study takes seconds; the study reads back through Optuna and :mod:`autopeft.store`
exactly as if ``add_trials`` had written it (``tests/test_study_store.py`` checks that).

:func:`autopeft.viz.synthetic.write_study` writes synthetic autopeft studies (baselines, search
trials, failures, RUNNING trials) through it, for tests and benchmarks (``benchmarks/store_reads.py``).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Any, Sequence


#: Trials per transaction (each a handful of rows in four tables).
CHUNK = 2000


def _value_row(trial_id: int, objective: int, value: float) -> dict[str, Any]:
    if math.isinf(value):
        return {"trial_id": trial_id, "objective": objective, "value": None, "value_type": "INF_POS" if value > 0 else "INF_NEG"}
    if math.isnan(value):
        raise ValueError("a trial value is NaN; Optuna does not store NaN values")
    return {"trial_id": trial_id, "objective": objective, "value": float(value), "value_type": "FINITE"}


def add_trials(storage: Any, study_name: str, trials: Sequence[Any], *, chunk: int = CHUNK) -> list[int]:
    """Append ``trials`` (``optuna.trial.FrozenTrial``, e.g. from ``optuna.trial.create_trial``)
    to the existing study ``study_name`` of ``storage`` (a URL or an opened Optuna RDB storage),
    numbered after its last trial; returns their numbers. What ``study.add_trials`` does, in
    batched inserts."""
    import sqlalchemy
    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models

    from autopeft.store.batch import backend

    if isinstance(storage, str):
        from autopeft.store.storage import open_storage

        storage = open_storage(storage)
    engine = backend(storage).engine
    tables = {name: model.__table__ for name, model in (
        ("trials", models.TrialModel), ("params", models.TrialParamModel), ("values", models.TrialValueModel),
        ("attrs", models.TrialUserAttributeModel), ("system", models.TrialSystemAttributeModel))}
    numbers: list[int] = []
    with engine.begin() as conn:
        row = conn.execute(sqlalchemy.text("SELECT study_id FROM studies WHERE study_name = :n"), {"n": study_name}).first()
        if row is None:
            raise KeyError(f"no study {study_name!r} in the store")
        study_id = int(row[0])
        last = conn.execute(sqlalchemy.text("SELECT MAX(number) FROM trials WHERE study_id = :s"), {"s": study_id}).scalar()
    next_number = -1 if last is None else int(last)
    now = _dt.datetime.now()
    for start in range(0, len(trials), chunk):
        part = trials[start:start + chunk]
        with engine.begin() as conn:
            trial_rows = []
            for trial in part:
                next_number += 1
                numbers.append(next_number)
                state = trial.state.name
                begun = trial.datetime_start or (now if state != "WAITING" else None)
                ended = trial.datetime_complete or (now if state in ("COMPLETE", "FAIL", "PRUNED") else None)
                trial_rows.append({"number": next_number, "study_id": study_id, "state": state,
                                   "datetime_start": begun, "datetime_complete": ended})
            conn.execute(tables["trials"].insert(), trial_rows)
            first = numbers[-len(part)]
            ids = dict(conn.execute(
                sqlalchemy.text("SELECT number, trial_id FROM trials WHERE study_id = :s AND number >= :a AND number <= :b"),
                {"s": study_id, "a": first, "b": numbers[-1]}).all())
            params, values, attrs, system = [], [], [], []
            for number, trial in zip(numbers[-len(part):], part):
                trial_id = ids[number]
                for name, value in trial.params.items():
                    dist = trial.distributions[name]
                    params.append({"trial_id": trial_id, "param_name": name, "param_value": dist.to_internal_repr(value),
                                   "distribution_json": distribution_to_json(dist)})
                for objective, value in enumerate(trial.values or ()):
                    values.append(_value_row(trial_id, objective, value))
                for key, value in trial.user_attrs.items():
                    attrs.append({"trial_id": trial_id, "key": key, "value_json": json.dumps(value)})
                for key, value in trial.system_attrs.items():
                    system.append({"trial_id": trial_id, "key": key, "value_json": json.dumps(value)})
            for name, rows in (("params", params), ("values", values), ("attrs", attrs), ("system", system)):
                if rows:
                    conn.execute(tables[name].insert(), rows)
    return numbers
