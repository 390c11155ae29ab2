"""The study store: Optuna's RDB storage plus autopeft's small public read API.

Read API (what the CLI, dashboard and export use): :func:`list_studies`,
:func:`load_study_summary`, :func:`load_trials`, :func:`load_trial`, :func:`pareto_front`,
returning :class:`StudySummary` / :class:`TrialRecord` dataclasses (or a pandas DataFrame).
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
    "open_storage",
    "pareto_front",
    "records_frame",
]
