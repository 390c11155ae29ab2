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
from autopeft.store.keys import BASELINE, META_KEY
from autopeft.store.read import StudySummary
from autopeft.store.trial import TrialRecord, decode

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
        records.append(decode(int(number), str(state), trial_values, {}, attrs.get(trial_id, {}),
                                    _when(start), _when(complete)))
    return records


def _summaries(conn: Any, keep_calibrations: bool = False) -> list[StudySummary]:
    """Every study's summary from aggregate queries (no trial is loaded), calibrations left out
    unless ``keep_calibrations``."""
    counts: dict[int, dict[str, int]] = {}
    for study_id, state, n in _rows(conn, "SELECT study_id, state, COUNT(*) FROM trials GROUP BY study_id, state"):
        counts.setdefault(study_id, {})[str(state)] = int(n)
    baselines: dict[int, dict[str, int]] = {}
    for study_id, state, n in _rows(
        conn,
        "SELECT t.study_id, t.state, COUNT(*) FROM trial_user_attributes a JOIN trials t ON t.trial_id = a.trial_id "
        "WHERE a.key = :k GROUP BY t.study_id, t.state",
        k=BASELINE,
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
        if study_id in calibrations and not keep_calibrations:  # autopeft calibrate's studies: not searches, left out as list_studies does
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

        return list_studies(_public(storage))


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

        return load_trials(_public(storage), study)
    from autopeft.store.errors import StoreError

    raise StoreError(f"study {study!r} is not in the store (deleted while the page was open?); press Reload")


def read_study(storage: Any, study: str, states: Any = None) -> tuple[StudySummary, list[TrialRecord]]:
    """``(summary, records)`` of ``study``: what :func:`autopeft.store.load_study_summary` and
    :func:`autopeft.store.load_trials` return (``records`` by number, without the Optuna
    parameters; ``states``: keep only trials in these Optuna state names). A :class:`StoreError`
    naming the store's studies when ``study`` is not there, as the public API raises."""
    wanted = {str(s).upper() for s in states} if states else None
    reader = open_reader(storage)
    try:
        with _engine(reader).connect() as conn:
            summaries = {s.name: s for s in _summaries(conn, keep_calibrations=True)}
            if study not in summaries:
                from autopeft.store.errors import StoreError

                raise StoreError(f"--study {study!r}: no such study in the store; studies: {list(summaries) or 'none'}")
            summary = summaries[study]
            study_id = _rows(conn, "SELECT study_id FROM studies WHERE study_name = :n", n=study)[0][0]
            records = _trials(conn, study_id, summary.objectives)
    except Exception as exc:  # noqa: BLE001 - a schema surprise: read through the public API
        from autopeft.store.errors import StoreError

        if isinstance(exc, StoreError):
            raise
        _fallback(exc, f"study {study!r}")
        from autopeft.store.read import load_study_summary, load_trials

        public = _public(reader)
        return load_study_summary(public, study), load_trials(public, study, states=states)
    finally:
        if reader is not storage:
            reader.close()
    return summary, [r for r in records if wanted is None or r.state in wanted]


# --------------------------------------------------------------------------- the CLI's reads
class SqlReader:
    """A store opened for reading by plain SQLAlchemy (no Optuna import): what
    :func:`read_studies` / :func:`read_trials` / :func:`read_front` take, like an Optuna storage.
    ``url``: the store's URL (the public API reads it when the fast read fails)."""

    def __init__(self, url: str):
        import sqlalchemy

        from autopeft.store.storage import check_reachable, sqlite_path

        self.url = check_reachable(url, must_exist=True)
        path = sqlite_path(self.url)
        if path is not None:
            import sqlite3

            resolved = str(path.resolve())
            # A plain connection: no PRAGMA (journal_mode=WAL is a write); SQLite opens a file it
            # cannot write read-only by itself.
            self.engine = sqlalchemy.create_engine("sqlite://", creator=lambda: sqlite3.connect(resolved, timeout=30, check_same_thread=False))
        else:
            from autopeft.store.storage import _connect_args

            self.engine = sqlalchemy.create_engine(self.url, connect_args=_connect_args(self.url), pool_pre_ping=True)

    def close(self) -> None:
        self.engine.dispose()


def open_reader(storage: Any) -> Any:
    """``storage`` as something the fast reads take: a URL becomes a :class:`SqlReader`."""
    return SqlReader(storage) if isinstance(storage, str) else storage


def _public(storage: Any) -> Any:
    """What the public (ORM) API should read when the fast read fails."""
    return storage.url if isinstance(storage, SqlReader) else storage


def _in_chunks(conn: Any, sql: str, ids: list[int], **params: Any) -> list[Any]:
    """Rows of ``sql`` (which holds ``IN :ids``) for every id, 500 ids a query."""
    import sqlalchemy

    out: list[Any] = []
    statement = sqlalchemy.text(sql).bindparams(sqlalchemy.bindparam("ids", expanding=True))
    for start in range(0, len(ids), 500):
        out.extend(conn.execute(statement, {"ids": ids[start:start + 500], **params}))
    return out


def _front_order(records: list[TrialRecord], objectives: list[str], directions: list[str]) -> list[TrialRecord]:
    """:func:`autopeft.store.read.pareto_front`'s order: best first by the first objective, equal
    points once (the first by trial number)."""
    key = objectives[0]
    records = sorted(records, key=lambda r: (r.values or {}).get(key, 0.0), reverse=directions[0] == "maximize")
    seen, unique = set(), []
    for r in records:
        point = tuple((r.values or {}).values())
        if point not in seen:
            seen.add(point)
            unique.append(r)
    return unique


def read_front(storage: Any, study: str) -> tuple[StudySummary, list[TrialRecord], list[TrialRecord], set[int]]:
    """``(summary, front, baselines, baselines_on_front)`` of ``study``, what
    :func:`autopeft.service.report.load_pareto` returns, by plain SQL: the objective values of
    the COMPLETE trials and the baseline flags decide the front, and only the front's and the
    baselines' records are read in full. ``front``: the search trials no COMPLETE trial
    dominates (baselines counted), best first; ``baselines``: the COMPLETE baselines by number."""
    from autopeft.store.read import non_dominated

    reader = open_reader(storage)
    try:
        with _engine(reader).connect() as conn:
            summaries = {s.name: s for s in _summaries(conn, keep_calibrations=True)}
            if study not in summaries:
                from autopeft.store.errors import StoreError

                names = [n for n in summaries]
                raise StoreError(f"--study {study!r}: no such study in the store; studies: {names or 'none'}")
            summary = summaries[study]
            study_id = _rows(conn, "SELECT study_id FROM studies WHERE study_name = :n", n=study)[0][0]
            complete = _rows(conn, "SELECT trial_id, number FROM trials WHERE study_id = :s AND state = 'COMPLETE' ORDER BY number", s=study_id)
            values: dict[int, dict[int, float]] = {}
            for trial_id, objective, value, value_type in _rows(
                conn,
                "SELECT v.trial_id, v.objective, v.value, v.value_type FROM trial_values v JOIN trials t ON t.trial_id = v.trial_id "
                "WHERE t.study_id = :s AND t.state = 'COMPLETE'",
                s=study_id,
            ):
                values.setdefault(trial_id, {})[objective] = _INF.get(str(value_type), value)
            baseline_ids = {trial_id for (trial_id,) in _rows(
                conn,
                "SELECT a.trial_id FROM trial_user_attributes a JOIN trials t ON t.trial_id = a.trial_id "
                "WHERE t.study_id = :s AND a.key = :k AND t.state = 'COMPLETE'",
                s=study_id, k=BASELINE)}
            n_obj = len(summary.directions)
            done = [(tid, num) for tid, num in complete if len(values.get(tid, {})) == n_obj]
            points = [[values[tid][i] for i in range(n_obj)] for tid, _ in done]
            keep = non_dominated(points, summary.directions) if points else []
            front_ids = [done[i][0] for i in keep if done[i][0] not in baseline_ids]
            on_front = {done[i][1] for i in keep if done[i][0] in baseline_ids}
            wanted = sorted(set(front_ids) | baseline_ids)
            attrs: dict[int, dict[str, Any]] = {}
            for trial_id, key, value in _in_chunks(conn, "SELECT trial_id, key, value_json FROM trial_user_attributes WHERE trial_id IN :ids", wanted):
                attrs.setdefault(trial_id, {})[key] = json.loads(value)
            rows = {tid: row for tid, *row in _in_chunks(
                conn, "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials WHERE trial_id IN :ids", wanted)}
    except Exception as exc:  # noqa: BLE001 - a schema surprise: read through the public API
        from autopeft.store.errors import StoreError

        if isinstance(exc, StoreError):
            raise
        _fallback(exc, f"the front of {study!r}")
        return _front_by_orm(_public(reader), study)
    finally:
        if reader is not storage:
            reader.close()

    def record(trial_id: int) -> TrialRecord:
        number, state, start, complete_at = rows[trial_id]
        got = values[trial_id]
        return decode(int(number), str(state), dict(zip(summary.objectives, (got[i] for i in sorted(got)))), {},
                      attrs.get(trial_id, {}), _when(start), _when(complete_at))

    front = _front_order([record(t) for t in sorted(front_ids, key=lambda t: rows[t][0])], summary.objectives, summary.directions)
    baselines = [record(t) for t in sorted((t for t in baseline_ids if t in values and len(values[t]) == len(summary.directions)),
                                           key=lambda t: rows[t][0])]
    return summary, front, baselines, on_front


def _front_by_orm(storage: Any, study: str) -> tuple[StudySummary, list[TrialRecord], list[TrialRecord], set[int]]:
    from autopeft.store.read import load_study_summary, load_trials, non_dominated, pareto_front

    summary = load_study_summary(storage, study)
    front = pareto_front(storage, study, count_baselines=True)
    done = [r for r in load_trials(storage, study, states=["COMPLETE"]) if r.values]
    keep = non_dominated([[r.values[o] for o in summary.objectives] for r in done], summary.directions) if done else []
    return summary, front, [r for r in done if r.baseline], {done[i].number for i in keep if done[i].baseline}
