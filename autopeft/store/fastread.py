"""A light read of a study for large stores (the dashboard): the store's own dataclasses, filled by plain SQL.

Why: :func:`autopeft.store.load_trials` goes through Optuna's ORM, which builds every trial's
parameters and distributions (dozens per trial for a per-layer space) that the dashboard never
shows; on a 2,000-trial study that was about 5 s per read on the 2-core CI machine, and
:func:`autopeft.store.list_studies` reads every trial again to count them. Here the same
:class:`~autopeft.store.StudySummary` and :class:`~autopeft.store.TrialRecord` objects are built
from Optuna's tables (``trials``, ``trial_values``, ``trial_user_attributes``, ``studies``,
``study_directions``, ``study_user_attributes``): the study list from aggregate queries, a study's
trials from three queries and no parameters (``TrialRecord.params`` is empty). It follows :mod:`autopeft.store.read` field for field;
``tests/test_dashboard.py`` checks the two agree on a seeded study, so a change there is caught.

Any database error (an Optuna schema this does not know) falls back to the public API, so the
page shows the study either way, only slower.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from typing import Any

from autopeft.store.calibrations import CALIBRATION_KEY
from autopeft.store.read import StudySummary, TrialRecord, build_record
from autopeft.store.records import META_KEY

logger = logging.getLogger(__name__)
_INF = {"INF_POS": math.inf, "INF_NEG": -math.inf}


def _engine(storage: Any) -> Any:
    engine = getattr(storage, "engine", None)
    if engine is None:
        raise TypeError(f"expected an Optuna RDBStorage, got {type(storage).__name__}")
    return engine


def _when(value: Any) -> _dt.datetime | None:
    if value is None or isinstance(value, _dt.datetime):
        return value
    return _dt.datetime.fromisoformat(str(value))


def _rows(conn: Any, sql: str, **params: Any) -> list[Any]:
    import sqlalchemy

    return list(conn.execute(sqlalchemy.text(sql), params))


def _study_rows(conn: Any) -> list[tuple[int, str, list[str], dict[str, Any]]]:
    """(study_id, name, directions, metadata) of every study, oldest first."""
    studies = _rows(conn, "SELECT study_id, study_name FROM studies ORDER BY study_id")
    directions: dict[int, list[tuple[int, str]]] = {}
    for study_id, direction, objective in _rows(conn, "SELECT study_id, direction, objective FROM study_directions"):
        directions.setdefault(study_id, []).append((objective, str(direction).lower()))
    meta: dict[int, dict[str, Any]] = {}
    for study_id, value in _rows(conn, "SELECT study_id, value_json FROM study_user_attributes WHERE key = :k", k=META_KEY):
        meta[study_id] = dict(json.loads(value) or {})
    return [(sid, name, [d for _, d in sorted(directions.get(sid, []))], meta.get(sid, {})) for sid, name in studies]


def _objectives(meta: dict[str, Any], n: int) -> list[str]:
    names = list(meta.get("objectives") or [])
    return names if len(names) == n else [f"objective_{i}" for i in range(n)]


def _trials(conn: Any, study_id: int, objectives: list[str]) -> list[TrialRecord]:
    trials = _rows(
        conn,
        "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials WHERE study_id = :s ORDER BY number",
        s=study_id,
    )
    values: dict[int, dict[int, float]] = {}
    for trial_id, objective, value, value_type in _rows(
        conn,
        "SELECT v.trial_id, v.objective, v.value, v.value_type FROM trial_values v JOIN trials t ON t.trial_id = v.trial_id WHERE t.study_id = :s",
        s=study_id,
    ):
        values.setdefault(trial_id, {})[objective] = _INF.get(str(value_type), value)
    attrs: dict[int, dict[str, Any]] = {}
    for trial_id, key, value in _rows(
        conn,
        "SELECT a.trial_id, a.key, a.value_json FROM trial_user_attributes a JOIN trials t ON t.trial_id = a.trial_id WHERE t.study_id = :s",
        s=study_id,
    ):
        attrs.setdefault(trial_id, {})[key] = json.loads(value)
    records = []
    for trial_id, number, state, start, complete in trials:
        got = values.get(trial_id)
        trial_values = dict(zip(objectives, (got[i] for i in sorted(got)))) if got else None
        records.append(build_record(int(number), str(state), trial_values, {}, attrs.get(trial_id, {}),
                                    _when(start), _when(complete)))
    return records


def _summaries(conn: Any) -> list[StudySummary]:
    """Every study's summary from aggregate queries (no trial is loaded), calibrations left out."""
    counts: dict[int, dict[str, int]] = {}
    for study_id, state, n in _rows(conn, "SELECT study_id, state, COUNT(*) FROM trials GROUP BY study_id, state"):
        counts.setdefault(study_id, {})[str(state)] = int(n)
    baselines: dict[int, dict[str, int]] = {}
    for study_id, state, n in _rows(
        conn,
        "SELECT t.study_id, t.state, COUNT(*) FROM trial_user_attributes a JOIN trials t ON t.trial_id = a.trial_id "
        "WHERE a.key = 'baseline' GROUP BY t.study_id, t.state",
    ):
        baselines.setdefault(study_id, {})[str(state)] = int(n)
    best: dict[tuple[int, int], float] = {}
    for study_id, objective, top in _rows(
        conn,
        "SELECT t.study_id, v.objective, MAX(v.value) FROM trial_values v JOIN trials t ON t.trial_id = v.trial_id "
        "WHERE v.value_type = 'FINITE' GROUP BY t.study_id, v.objective",
    ):
        best[(study_id, objective)] = top
    times = {
        study_id: (_when(first), _when(last))
        for study_id, first, last in _rows(conn, "SELECT study_id, MIN(datetime_start), MAX(datetime_complete) FROM trials GROUP BY study_id")
    }
    calibrations = {
        study_id for (study_id,) in _rows(conn, "SELECT study_id FROM study_user_attributes WHERE key = :k", k=CALIBRATION_KEY)
    }
    out = []
    for study_id, name, directions, meta in _study_rows(conn):
        if study_id in calibrations:  # autopeft calibrate's studies: not searches, left out as list_studies does
            continue
        objectives = _objectives(meta, len(directions))
        c, b = counts.get(study_id, {}), baselines.get(study_id, {})
        score_at = objectives.index("score") if "score" in objectives else None
        out.append(
            StudySummary(
                name=name,
                directions=directions,
                objectives=objectives,
                metadata=meta,
                n_trials=sum(c.values()),
                n_complete=c.get("COMPLETE", 0),
                n_failed=c.get("FAIL", 0),
                n_running=c.get("RUNNING", 0),
                n_waiting=c.get("WAITING", 0),
                n_pruned=c.get("PRUNED", 0),
                n_baselines=sum(b.values()),
                n_search_complete=c.get("COMPLETE", 0) - b.get("COMPLETE", 0),
                best_score=None if score_at is None else best.get((study_id, score_at)),
                datetime_start=times.get(study_id, (None, None))[0],
                datetime_last=times.get(study_id, (None, None))[1],
            )
        )
    return out


def _fallback(exc: Exception, what: str) -> None:
    if exc.__class__.__module__.split(".")[0] not in ("sqlalchemy", "sqlite3", "psycopg", "json"):
        raise exc
    logger.warning("fast read of %s failed (%s); reading through autopeft.store", what, exc)


def read_studies(storage: Any) -> list[StudySummary]:
    """What :func:`autopeft.store.list_studies` returns, from aggregate queries (oldest first):
    every study but the calibrations."""
    try:
        with _engine(storage).connect() as conn:
            return _summaries(conn)
    except Exception as exc:  # noqa: BLE001 - a schema surprise: read through the public API
        _fallback(exc, "the study list")
        from autopeft.store import list_studies

        return list_studies(storage)


def read_trials(storage: Any, study: str) -> list[TrialRecord]:
    """What :func:`autopeft.store.load_trials` returns, without the Optuna parameters."""
    try:
        with _engine(storage).connect() as conn:
            for study_id, name, directions, meta in _study_rows(conn):
                if name == study:
                    return _trials(conn, study_id, _objectives(meta, len(directions)))
    except Exception as exc:  # noqa: BLE001 - a schema surprise: read through the public API
        _fallback(exc, f"study {study!r}")
        from autopeft.store import load_trials

        return load_trials(storage, study)
    from autopeft.store.errors import StoreError

    raise StoreError(f"study {study!r} is not in the store (deleted while the page was open?); press Reload")
