"""Calibrations in the study store: how well a fidelity ranks configurations on a task.

``autopeft calibrate`` trains a set of configurations at a cheap fidelity (two seeds) and at a
longer reference, and stores the outcome here so that ``autopeft search`` can warn when it runs
at a fidelity found blind on its task, and the dashboard can show the verdict beside the front.

Each calibration is one Optuna study named ``calibration:<task>:<fidelity>:<time>`` whose
study user attribute :data:`CALIBRATION_KEY` holds the summary (:class:`CalibrationRecord`),
and whose trials are the individual runs (value: the score; user attributes: the configuration
name, its fidelity, seed and full ``TrialResult``), so Optuna's own tools can read them too.
Search studies are the ones carrying :data:`autopeft.store.records.META_KEY`; calibration
studies never carry it, and the study listings leave them out.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

from autopeft.store import keys
from autopeft.store.errors import StoreError
from autopeft.store.keys import CALIBRATION_KEY  # noqa: F401 - the study attribute holding a calibration's summary
#: Prefix of a calibration study's name.
STUDY_PREFIX = "calibration:"


@dataclass(frozen=True)
class CalibrationRow:
    """One configuration of a calibration: its scores at the fidelity and at the reference.

    Attributes:
        name: the baseline's name, or ``sample<K>`` for the K-th sample of the space.
        params: trainable PEFT parameters (the task head excluded).
        scores: the fidelity's scores, one per seed (``None`` for a failed run).
        reference: the reference fidelity's score (``None`` when it failed).
        at_chance: every seed at the fidelity scored at chance or collapsed to one class.
        baseline: the configuration is a hand-designed baseline.
    """

    name: str
    params: int
    scores: tuple[float | None, ...]
    reference: float | None
    at_chance: bool
    baseline: bool


@dataclass(frozen=True)
class CalibrationRecord:
    """The outcome of one calibration (see :mod:`autopeft.calibration`).

    Attributes:
        task, model: what was calibrated; ``data_dir`` where the task's files came from.
        fidelity, reference: the fidelity texts (``quick``, ``standard:max_steps=200``).
        spearman, kendall: rank correlation of the fidelity's seed-mean scores with the
            reference's scores over the configurations (``None`` with fewer than 3).
        noise: pooled seed-to-seed standard deviation at the fidelity.
        spread: standard deviation of the configurations' seed-mean scores at the fidelity.
        noise_ratio: ``noise / spread`` (``inf`` when every configuration ties).
        configs_at_chance, baselines_at_chance: how many scored at chance at the fidelity.
        ranks: the verdict: the fidelity ranks like the reference (the thresholds of
            :mod:`autopeft.calibration.verdict` hold).
        verdict: the one line ``autopeft calibrate`` prints.
        rows: the configurations, with their scores.
    """

    task: str
    model: str
    data_dir: str | None
    fidelity: str
    reference: str
    spearman: float | None
    kendall: float | None
    noise: float
    spread: float
    noise_ratio: float
    configs_at_chance: int
    baselines_at_chance: int
    ranks: bool
    verdict: str
    rows: tuple[CalibrationRow, ...] = ()
    study_name: str | None = None
    created_at: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows"] = [asdict(row) for row in self.rows]
        out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CalibrationRecord":
        values = dict(data)
        values["rows"] = tuple(
            CalibrationRow(**{**row, "scores": tuple(row.get("scores") or ())}) for row in values.get("rows") or ()
        )
        values["extra"] = dict(values.get("extra") or {})
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


def _json_safe(value: float) -> Any:
    return None if value != value or value in (float("inf"), float("-inf")) else value


def record_calibration(storage_url: str, record: CalibrationRecord, runs: Sequence[Mapping[str, Any]] = ()) -> CalibrationRecord:
    """Write ``record`` (and its individual ``runs``) as a new calibration study; returns the
    record with its ``study_name`` and ``created_at`` set.

    Each run is a mapping with ``name``, ``fidelity`` (text), ``seed`` and ``result`` (a
    ``TrialResult.to_dict()``); a run without a score is stored as a FAIL trial.
    """
    import optuna

    from autopeft.store.storage import check_reachable, open_storage

    url = check_reachable(storage_url)
    created = _dt.datetime.now(_dt.timezone.utc)
    name = f"{STUDY_PREFIX}{record.task}:{record.fidelity}:{created.strftime('%Y%m%d-%H%M%S-%f')}"
    stored = CalibrationRecord.from_dict({**record.to_dict(), "study_name": name, "created_at": created.isoformat(timespec="seconds")})
    payload = stored.to_dict()
    payload["noise_ratio"] = _json_safe(payload["noise_ratio"])
    study = optuna.create_study(study_name=name, storage=open_storage(url), direction="maximize")
    study.set_user_attr(CALIBRATION_KEY, payload)
    for run in runs:
        score = (run.get("result") or {}).get("score")
        attrs = {keys.CALIBRATION_CONFIG: run["name"], keys.CALIBRATION_FIDELITY: run["fidelity"], keys.CALIBRATION_SEED: run["seed"],
                 keys.RESULT: dict(run.get("result") or {})}
        state = optuna.trial.TrialState.COMPLETE if score is not None else optuna.trial.TrialState.FAIL
        study.add_trial(optuna.trial.create_trial(state=state, value=score if score is not None else None, user_attrs=attrs))
    return stored


def find_calibrations(storage_url: str, *, task: str | None = None, model: str | None = None, fidelity: str | None = None) -> list[CalibrationRecord]:
    """The store's calibrations matching every given field, newest first; ``[]`` when the store
    does not exist yet (a reader never creates it)."""
    from autopeft.store.storage import check_reachable, open_storage, sqlite_path

    path = sqlite_path(storage_url)
    if path is not None and not path.exists():
        return []
    try:
        storage = open_storage(check_reachable(storage_url, must_exist=True), create=False)
    except StoreError:
        return []
    found = []
    for study in storage.get_all_studies():
        data = study.user_attrs.get(CALIBRATION_KEY)
        if not data:
            continue
        record = CalibrationRecord.from_dict({**data, "noise_ratio": float("inf") if data.get("noise_ratio") is None else data["noise_ratio"]})
        if (task is None or record.task == task) and (model is None or record.model == model) and (fidelity is None or record.fidelity == fidelity):
            found.append(record)
    return sorted(found, key=lambda r: r.created_at or "", reverse=True)


def is_calibration_study(user_attrs: Mapping[str, Any]) -> bool:
    """A study written by :func:`record_calibration` (left out of the study listings)."""
    return CALIBRATION_KEY in user_attrs


__all__ = ["CALIBRATION_KEY", "CalibrationRecord", "CalibrationRow", "find_calibrations", "is_calibration_study", "record_calibration"]
