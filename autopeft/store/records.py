"""What autopeft writes into the study store, and the names it writes it under.

No tables of its own: a study's metadata is the study user attribute ``autopeft`` (a JSON
object, :data:`META_KEY`), and each trial carries user attributes (:data:`TRIAL_KEYS`, both named
in :mod:`autopeft.store.keys`). Keeping
everything in Optuna's schema means Optuna's alembic migrations version the whole store and a
study can be understood, and re-run, from the database alone.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from autopeft.store.keys import META_KEY, TRIAL_KEYS  # noqa: F401 - re-exported: the names live in keys


def study_metadata(
    *,
    model: str,
    task: str,
    data_dir: str | None,
    space_name: str,
    space_text: str,
    fidelity: Any,
    objectives: list[str],
    directions: list[str],
    sampler: str,
    seed: int,
    trials: int,
    max_params: str | None,
    baselines: list[str],
    objective_fn: str,
    warm_start: list[str],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metadata dict stored under :data:`META_KEY` when a study is created."""
    import optuna

    from autopeft._version import __version__

    return {
        "model": model,
        "task": task,
        "data_dir": data_dir,
        "space_name": space_name,
        "space_yaml": space_text,
        "fidelity": fidelity,
        "objectives": list(objectives),
        "directions": list(directions),
        "sampler": sampler,
        "seed": seed,
        "trials": trials,
        "max_params": max_params,
        "baselines": list(baselines),
        "objective_fn": objective_fn,
        "warm_start": list(warm_start),
        "autopeft_version": __version__,
        "optuna_version": optuna.__version__,
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }
