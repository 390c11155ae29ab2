"""The study store: Optuna's RDB storage plus autopeft's small public read API.

Read API (what the CLI, dashboard and export use): :func:`list_studies`,
:func:`load_study_summary`, :func:`load_trials`, :func:`load_trial`, :func:`pareto_front`,
returning :class:`StudySummary` / :class:`TrialRecord` dataclasses (or a pandas DataFrame).
For viewers of large studies: :func:`open_readonly` (connections that cannot write) and the
light reads :func:`read_studies` / :func:`read_trials` (the same dataclasses by plain SQL, without
Optuna's parameter objects).
Importing this package is cheap; optuna and sqlalchemy load on first call.
"""

from __future__ import annotations

from autopeft.store.errors import StoreError
from autopeft.store.read import (
    StudySummary,
    TrialRecord,
    list_studies,
    load_study_summary,
    load_trial,
    load_trials,
    non_dominated,
    pareto_front,
    records_frame,
)
from autopeft.store.fastread import read_studies, read_trials
from autopeft.store.readonly import open_readonly
from autopeft.store.records import META_KEY, TRIAL_KEYS
from autopeft.store.storage import DEFAULT_STORAGE, check_reachable, normalize_url, open_storage

__all__ = [
    "DEFAULT_STORAGE",
    "META_KEY",
    "TRIAL_KEYS",
    "StoreError",
    "StudySummary",
    "TrialRecord",
    "check_reachable",
    "list_studies",
    "load_study_summary",
    "load_trial",
    "load_trials",
    "non_dominated",
    "normalize_url",
    "open_readonly",
    "open_storage",
    "pareto_front",
    "read_studies",
    "read_trials",
    "records_frame",
]
