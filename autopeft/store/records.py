"""What autopeft writes into the study store, and the names it writes it under.

No tables of its own: a study's metadata is the study user attribute ``autopeft`` (a JSON
object, :data:`META_KEY`), and each trial carries user attributes (:data:`TRIAL_KEYS`). Keeping
everything in Optuna's schema means Optuna's alembic migrations version the whole store and a
study can be understood, and re-run, from the database alone.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

#: Study user attribute holding the study's metadata (:func:`study_metadata`).
META_KEY = "autopeft"

#: Trial user attributes written by the search loop.
TRIAL_KEYS = {
    "config": "the full PeftConfig as PeftConfig.to_dict()",
    "result": "every field of the TrialResult (score, metrics, PEFT params with the task head excluded, head params, "
              "bytes, memory, majority share and chance score of the predictions, timings, status, error)",
    "timings": "driver-side timings: queued, started and finished times, wall seconds on the worker",
    "worker": "host, node IP and process id of the worker that ran the trial",
    "error": "why the trial failed (worker death, exception text, interruption)",
    "baseline": "name of the hand-designed baseline this trial evaluates (no suggested params)",
    "retry_of": "number of the trial this one re-runs after a worker or driver died",
    "attempt": "1 for a first run, 2 for its retry",
    "rejected": "why the config was not trained (over --max-params)",
}


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
