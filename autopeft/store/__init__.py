"""The study store: Optuna's RDB storage, and the only code that knows how autopeft lays a study out in it.

Schema: the names of the study and trial user attributes (:mod:`.keys`), and one codec between a
trial's attributes and its frozen :class:`TrialRecord` (:mod:`.trial`: the config as a
``PeftConfig``, the result as a ``TrialResult``, the worker, the timings and the lifecycle flags).
Writes: :class:`StudyStore` (:mod:`.study`) owns every read and write a search driver makes
(metadata, enqueue, batched parameter writes, results, rejections, re-queues, heartbeats and
failing a dead driver's trials by the database clock).

Read API (what the CLI, dashboard and export use): :func:`list_studies`,
:func:`load_study_summary`, :func:`load_trials`, :func:`load_trial`, :func:`pareto_front`,
returning frozen :class:`StudySummary` / :class:`TrialRecord` dataclasses (or a pandas DataFrame).
For viewers of large studies: :func:`open_readonly` (connections that cannot write) and the
light reads :func:`read_studies` / :func:`read_trials` / :func:`read_study` (the same dataclasses by plain SQL, without
Optuna's parameter objects).
Importing this package is cheap; optuna and sqlalchemy load on first call.
"""

from __future__ import annotations

from autopeft.store.errors import StoreError
from autopeft.store.read import (
    StudySummary,
    list_studies,
    load_study_summary,
    load_trial,
    load_trials,
    non_dominated,
    pareto_front,
    records_frame,
)
from autopeft.store.fastread import read_studies, read_study, read_trials
from autopeft.store.readonly import open_readonly
from autopeft.store.keys import META_KEY, TRIAL_KEYS
from autopeft.store.storage import DEFAULT_STORAGE, check_reachable, normalize_url, open_storage
from autopeft.store.study import StudyStore, StudyTally, TrialClosedError, count_trials, delete_study, read_metadata
from autopeft.store.trial import Lineage, Timings, TrialRecord, WorkerInfo

__all__ = [
    "DEFAULT_STORAGE",
    "META_KEY",
    "TRIAL_KEYS",
    "Lineage",
    "StoreError",
    "StudyStore",
    "StudySummary",
    "StudyTally",
    "Timings",
    "TrialClosedError",
    "TrialRecord",
    "WorkerInfo",
    "check_reachable",
    "count_trials",
    "delete_study",
    "list_studies",
    "load_study_summary",
    "load_trial",
    "load_trials",
    "non_dominated",
    "normalize_url",
    "open_readonly",
    "open_storage",
    "pareto_front",
    "read_metadata",
    "read_studies",
    "read_study",
    "read_trials",
    "records_frame",
]
