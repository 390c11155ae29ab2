"""The dashboard's read of one study: :func:`autopeft.store.read_trials` without decoding every
trial's configuration or result.

The front page shows a handful of fields per trial (state, score, parameter counts, adapter bytes,
majority share, peak memory, train time, worker host, error) and a one-line summary of each
configuration. On SQLite, :func:`read_study_rows` pulls those fields out of the stored JSON with
``json_extract`` into :attr:`StudyRows.columns` (one list per field, in trial order; no
:class:`~autopeft.store.TrialRecord` and no ``TrialResult`` is built), and makes each summary from
the configuration's layers as SQLite's ``json_each`` splits them (each distinct layer, and each
distinct configuration, decoded once). The records themselves (``config`` left out) are read
only if something asks for :attr:`StudyRows.records`; :meth:`StudyRows.record` reads one trial in
full, configuration included, when the page shows it (the detail view).

Only a SQLite store takes this path; any other store, or any surprise (an Optuna schema this does
not know, a SQLite without JSON functions), reads through :func:`autopeft.store.read_trials`
(``columns`` is then None and the page builds its tables from the decoded records), so the page
shows the same either way.

It reads Optuna's tables by plain SQL as :mod:`autopeft.store.fastread` does, which is why it
lives in ``store/``: the store owns the schema. :func:`read_calibrations` reads the store's
calibration verdicts through the same open store.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import json
import logging
import math
from typing import Any

from autopeft.store import TrialRecord, read_trials
from autopeft.store.keys import BASELINE, CONFIG, ERROR, REJECTED, RESULT, RUNG, TIMINGS, WORKER
from autopeft.store.trial import decode, decode_result

logger = logging.getLogger(__name__)
_INF = {"INF_POS": math.inf, "INF_NEG": -math.inf}


class StudyRows:
    """One study's trials as the page reads them.

    * ``columns`` (lazy SQLite path only, else None): the fields the front page shows, one list
      per field in trial order, pulled out of the stored JSON by SQLite's ``json_extract`` (see
      :data:`COLUMN_FIELDS`), so no trial's result is decoded to draw the table, front or
      hypervolume (:func:`autopeft.viz.frames.table_from_columns`);
    * ``summaries``: number -> the one-line configuration summary, for trials that have a configuration;
    * ``records`` (by number; ``config`` left out when ``lazy``): on the lazy path read and decoded
      on first access (nothing on the front page needs them all);
    * :meth:`record`: one trial in full, its configuration included (the detail view).
    """

    def __init__(self, records: dict[int, TrialRecord] | None, summaries: dict[int, str], lazy: bool = False, *,
                 columns: dict[str, list[Any]] | None = None, trial_ids: dict[int, int] | None = None, engine: Any = None,
                 study_id: int | None = None, objectives: list[str] | None = None) -> None:
        self._records = records
        self.summaries = summaries
        self.lazy = lazy
        self.columns = columns
        self._trial_ids = trial_ids or {}
        self._engine = engine
        self._study_id = study_id
        self._objectives = list(objectives or [])
        self._full: dict[int, TrialRecord] = {}

    def __repr__(self) -> str:
        return f"StudyRows({len(self.numbers())} trials, lazy={self.lazy})"

    def numbers(self) -> list[int]:
        """The trials' numbers, in order."""
        if self.columns is not None:
            return list(self.columns["number"])
        return list(self.records)

    @property
    def records(self) -> dict[int, TrialRecord]:
        """Every trial's record (``config`` left out when lazy; read now on the lazy path, then kept)."""
        if self._records is None:
            with gc_paused():
                self._records = _records_sqlite(self._engine, self._study_id, self._objectives)
        return self._records

    def record(self, number: int) -> TrialRecord:
        """Trial ``number`` with its configuration (read now on the lazy path, then kept)."""
        if not self.lazy:
            return self.records[number]
        if number not in self._full:
            self._full[number] = _record_sqlite(self._engine, self._study_id, self._trial_ids[number], self._objectives)
        return self._full[number]


@contextlib.contextmanager
def gc_paused() -> Any:
    """Python's cyclic garbage collector off for the block (then back as it was): building tens of
    thousands of small objects otherwise triggers full collections over the whole heap, a
    sizeable share of the time of a 10,000-trial read. Reference counting still frees memory."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _when(value: Any) -> _dt.datetime | None:
    if value is None or isinstance(value, _dt.datetime):
        return value
    return _dt.datetime.fromisoformat(str(value))


def _layer_summaries() -> Any:
    """A function layer JSON text -> :meth:`LayerConfig.summary`, each distinct text decoded once."""
    from autopeft.config import LayerConfig

    memo: dict[str, str] = {}

    def summary(text: str) -> str:
        got = memo.get(text)
        if got is None:
            got = memo[text] = LayerConfig.from_dict(json.loads(text)).summary()
        return got

    return summary


#: The front page's fields of a stored result (:class:`~autopeft.proxy.TrialResult` fields), pulled
#: out by ``json_extract`` without decoding the result; ``time_train_s`` defaults to 0.0 as in TrialResult.
RESULT_COLUMNS = ("score", "trainable_params", "percent_params", "head_params", "majority_share", "chance_score",
                  "adapter_bytes", "peak_memory_mb", "time_train_s", "error")
_RESULT_DEFAULTS = {"time_train_s": 0.0}
#: The attributes read as columns (result, worker) or not at all (config, timings) on the front page.
_BIG = (CONFIG, RESULT, WORKER, TIMINGS)


def _study_id(cur: Any, study: str) -> int | None:
    found = cur.execute("SELECT study_id FROM studies WHERE study_name = ?", (study,)).fetchone()
    return None if found is None else found[0]


def _values(cur: Any, study_id: int, objectives: list[str], trial_id: int | None = None) -> dict[int, dict[str, float]]:
    """trial_id -> {objective: value} (objectives in their stored order, as read_trials gives them)."""
    sql = "SELECT v.trial_id, v.objective, v.value, v.value_type FROM trial_values v JOIN trials t ON t.trial_id = v.trial_id WHERE t.study_id = ?"
    args: tuple[Any, ...] = (study_id,)
    if trial_id is not None:
        sql, args = sql + " AND t.trial_id = ?", (study_id, trial_id)
    got: dict[int, dict[int, float]] = {}
    for tid, objective, value, value_type in cur.execute(sql, args):
        got.setdefault(tid, {})[objective] = _INF.get(str(value_type), value)
    return {tid: dict(zip(objectives, (byobj[i] for i in sorted(byobj)))) for tid, byobj in got.items()}


def _records_sqlite(engine: Any, study_id: int, objectives: list[str], trial_id: int | None = None,
                    with_config: bool = False) -> dict[int, TrialRecord]:
    """The study's records (or one trial's) as read_trials decodes them; ``config`` left out unless ``with_config``."""
    where = "t.study_id = ?" + ("" if trial_id is None else " AND t.trial_id = ?")
    args: tuple[Any, ...] = (study_id,) if trial_id is None else (study_id, trial_id)
    with engine.connect() as conn:
        cur = conn.connection.cursor()
        trials = cur.execute(f"SELECT t.trial_id, t.number, t.state, t.datetime_start, t.datetime_complete FROM trials t WHERE {where} "
                             "ORDER BY t.number", args).fetchall()
        values = _values(cur, study_id, objectives, trial_id)
        attrs: dict[int, dict[str, Any]] = {}
        skip = "" if with_config else " AND a.key <> ?"
        for tid, key, value in cur.execute(
            f"SELECT a.trial_id, a.key, a.value_json FROM trial_user_attributes a JOIN trials t ON t.trial_id = a.trial_id WHERE {where}{skip}",
            args if with_config else (*args, CONFIG),
        ):
            attrs.setdefault(tid, {})[key] = json.loads(value)
    return {int(number): decode(int(number), str(state), values.get(tid), {}, attrs.get(tid, {}), _when(start), _when(complete))
            for tid, number, state, start, complete in trials}


def _record_sqlite(engine: Any, study_id: int, trial_id: int, objectives: list[str]) -> TrialRecord:
    (record,) = _records_sqlite(engine, study_id, objectives, trial_id, with_config=True).values()
    return record


def _read_sqlite(storage: Any, study: str, objectives: list[str]) -> StudyRows | None:
    from autopeft.proxy.result import COLLAPSE_SHARE  # a plain module: no torch
    from autopeft.viz.frames import group_summary, stored_summary

    engine = getattr(storage, "engine", None)
    if engine is None or engine.dialect.name != "sqlite":
        return None
    join = "FROM trial_user_attributes a JOIN trials t ON t.trial_id = a.trial_id WHERE t.study_id = ?"
    with engine.connect() as conn:
        cur = conn.connection.cursor()
        study_id = _study_id(cur, study)
        if study_id is None:
            return None
        trials = cur.execute(
            "SELECT trial_id, number, state, datetime_start, datetime_complete FROM trials WHERE study_id = ? ORDER BY number", (study_id,)
        ).fetchall()
        values = _values(cur, study_id, objectives)
        small: dict[int, dict[str, Any]] = {}  # the few small attributes (baseline, error, rejected, retry_of ...)
        for trial_id, key, value in cur.execute(f"SELECT a.trial_id, a.key, a.value_json {join} AND a.key NOT IN (?, ?, ?, ?)",
                                                (study_id, *_BIG)):
            small.setdefault(trial_id, {})[key] = json.loads(value)
        # the result's fields the page shows, by json_extract; an unusual result (not an object, or
        # empty) comes back as its text and is decoded as read_trials would
        extract = ", ".join(f"json_extract(a.value_json, '$.{name}')" for name in RESULT_COLUMNS)
        results = {row[0]: row[1:] for row in cur.execute(
            "SELECT a.trial_id, CASE WHEN json_type(a.value_json) <> 'object' OR length(a.value_json) < 16 THEN a.value_json END, "
            f"json_type(a.value_json, '$.majority_share'), {extract} {join} AND a.key = ?", (study_id, RESULT))}
        hosts = dict(cur.execute(f"SELECT a.trial_id, json_extract(a.value_json, '$.host') {join} AND a.key = ?", (study_id, WORKER)).fetchall())
        # each stored configuration's layers as JSON texts, in order, joined by a control character
        # (JSON text holds none unescaped): one row per configuration, and a study's repeated
        # configurations are recognised by that text; a configuration without a ``layers`` list of
        # objects gives NULL here and is decoded in full below
        joined: dict[int, str | None] = dict(cur.execute(
            "SELECT a.trial_id, (SELECT group_concat(v, char(31)) FROM (SELECT j.value AS v FROM json_each(a.value_json, '$.layers') j "
            f"WHERE j.type = 'object' ORDER BY j.key)) {join} AND a.key = ?", (study_id, CONFIG)).fetchall())
        full: dict[int, Any] = {}
        for trial_id in sorted(t for t, text in joined.items() if text is None):  # rare: decoded in full, so the summary says what compact_summary says
            (text,) = cur.execute("SELECT value_json FROM trial_user_attributes WHERE trial_id = ? AND key = ?", (trial_id, CONFIG)).fetchone()
            full[trial_id] = json.loads(text)
    layer_summary = _layer_summaries()

    names = ("number", "state", "baseline", "rejected", "values", "score", "collapsed", *RESULT_COLUMNS[1:-1], "duration_s",
             "worker_host", "error", "rung", "rung_score")
    columns: dict[str, list[Any]] = {name: [] for name in names}
    put = {name: columns[name].append for name in names}
    empty = (None,) * (len(RESULT_COLUMNS) + 2)
    summaries: dict[int, str] = {}
    grouped: dict[str, str] = {}  # a configuration's joined layers -> its summary, each made once
    trial_ids: dict[int, int] = {}
    for trial_id, number, state, start, complete in trials:
        number, state = int(number), str(state)
        attrs = small.get(trial_id, {})
        got = values.get(trial_id)
        raw, share_type, *measured = results.get(trial_id, empty)
        if trial_id not in results:
            fields, result_error, collapsed = dict.fromkeys(RESULT_COLUMNS), None, False
        elif raw is not None:  # an unusual result: as TrialRecord decodes it
            data = json.loads(raw)
            decoded = decode_result(data)
            fields = {name: None if decoded is None else getattr(decoded, name) for name in RESULT_COLUMNS}
            result_error = data.get("error") if isinstance(data, dict) else None
            share = fields["majority_share"]
            collapsed = isinstance(share, (int, float)) and not isinstance(share, bool) and share >= COLLAPSE_SHARE
        else:
            fields = dict(zip(RESULT_COLUMNS, measured))
            result_error = fields["error"]
            for name, default in _RESULT_DEFAULTS.items():
                if fields[name] is None:
                    fields[name] = default
            share = fields["majority_share"]
            collapsed = share_type in ("integer", "real") and share >= COLLAPSE_SHARE
        score = got["score"] if got and "score" in got else fields["score"]
        began, ended = _when(start), _when(complete)
        put["number"](number)
        put["state"](state)
        put["baseline"](attrs.get(BASELINE))
        put["rejected"](attrs.get(REJECTED))
        put["values"](got)
        put["score"](score if state == "COMPLETE" else None)
        put["rung"](attrs.get(RUNG))  # multi-fidelity: the highest rung reached, and the score there
        put["rung_score"](fields["score"] if attrs.get(RUNG) is not None else None)
        put["collapsed"](bool(collapsed))
        for name in RESULT_COLUMNS[1:-1]:
            put[name](fields[name])
        put["duration_s"]((ended - began).total_seconds() if began and ended else None)
        put["worker_host"](hosts.get(trial_id))
        put["error"](attrs.get(ERROR) or result_error)
        trial_ids[number] = trial_id
        layers = joined.get(trial_id)
        if layers is not None:
            try:
                text = grouped.get(layers)
                if text is None:
                    text = grouped[layers] = group_summary([layer_summary(t) for t in layers.split("\x1f")])
                summaries[number] = text
            except Exception:  # noqa: BLE001 - an invalid layer: let the full decode say what it says
                full[trial_id] = _config_of(engine, trial_id)
        if trial_id in full:
            stored = full[trial_id]
            if stored:
                summaries[number] = stored_summary(stored)
    return StudyRows(None, summaries, lazy=True, columns=columns, trial_ids=trial_ids, engine=engine, study_id=study_id,
                     objectives=objectives)


def _config_of(engine: Any, trial_id: int) -> Any:
    with engine.connect() as conn:
        (text,) = conn.connection.cursor().execute(
            "SELECT value_json FROM trial_user_attributes WHERE trial_id = ? AND key = ?", (trial_id, CONFIG)).fetchone()
    return json.loads(text)


def read_study_rows(storage: Any, study: str, objectives: list[str]) -> StudyRows:
    """``study``'s trials for the page (see the module): the lazy SQLite path, else the full read."""
    try:
        rows = _read_sqlite(storage, study, list(objectives))
        if rows is not None:
            return rows
    except Exception as exc:  # noqa: BLE001 - any surprise: the store's own read
        if exc.__class__.__module__.split(".")[0] not in ("sqlalchemy", "sqlite3", "json"):
            raise
        logger.warning("lazy read of %s failed (%s); reading every configuration", study, exc)
    return full_study(read_trials(storage, study))


def full_study(records: list[TrialRecord]) -> StudyRows:
    """:class:`StudyRows` of fully decoded records (the path every store can take)."""
    from autopeft.viz.frames import stored_summary

    summaries, memo = {}, {}
    for r in records:
        stored = r.user_attrs.get(CONFIG)
        if stored:
            summaries[r.number] = stored_summary(stored, memo=memo)
    return StudyRows({r.number: r for r in records}, summaries)


def read_calibrations(storage: Any, *, task: str | None = None, model: str | None = None, fidelity: str | None = None) -> list[Any] | None:
    """:func:`autopeft.store.calibrations.find_calibrations` through the page's already open
    (read-only) SQLite store, by one query of the study attributes rather than a new storage and
    every study; None on any other store or surprise (the caller then asks ``find_calibrations``)."""
    from autopeft.store.calibrations import CALIBRATION_KEY, CalibrationRecord

    engine = getattr(storage, "engine", None)
    if engine is None or engine.dialect.name != "sqlite":
        return None
    try:
        with engine.connect() as conn:
            texts = conn.connection.cursor().execute(
                "SELECT value_json FROM study_user_attributes WHERE key = ?", (CALIBRATION_KEY,)).fetchall()
        found = []
        for (text,) in texts:
            data = json.loads(text)
            if not data:
                continue
            record = CalibrationRecord.from_dict({**data, "noise_ratio": math.inf if data.get("noise_ratio") is None else data["noise_ratio"]})
            if (task is None or record.task == task) and (model is None or record.model == model) and (fidelity is None or record.fidelity == fidelity):
                found.append(record)
    except Exception as exc:  # noqa: BLE001 - any surprise: the store's own read
        logger.warning("calibrations not read through the open store (%s); opening it again", exc)
        return None
    return sorted(found, key=lambda r: r.created_at or "", reverse=True)
