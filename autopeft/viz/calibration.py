"""The calibration verdict the dashboard shows beside a study's Pareto front.

A front found at a cheap fidelity is only worth reading if that fidelity ranks configurations
like a longer training does on the task. ``autopeft calibrate`` measures that and records it in
the study store (:mod:`autopeft.store.calibrations`); here the newest calibration of the study's
task, model and fidelity is turned into one message: a success when the fidelity ranks, a
warning when it does not, and the command to run when the combination was never calibrated.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any, Mapping

from autopeft.store.calibrations import CalibrationRecord, find_calibrations


@dataclass(frozen=True)
class CalibrationNote:
    """One message about a study's fidelity.

    Attributes:
        kind: ``success`` (the fidelity ranks like its reference), ``warning`` (it does not) or
            ``info`` (never calibrated): the Streamlit call that shows it.
        text: the calibration's verdict line, or the command that would calibrate.
        detail: the statistics behind the verdict (rank correlation, noise ratio, reference,
            when it ran), empty when there is no calibration.
        record: the newest matching :class:`autopeft.store.calibrations.CalibrationRecord`, or None.
    """

    kind: str
    text: str
    detail: str = ""
    record: CalibrationRecord | None = None


def study_fidelity(metadata: Mapping[str, Any]) -> str | None:
    """The fidelity text a study ran at (``quick``, ``tiny:max_steps=8``), as calibrations name it:
    the metadata's ``fidelity_name`` (what ``--fidelity`` said), else a textual ``fidelity``."""
    name = metadata.get("fidelity_name")
    if isinstance(name, str) and name:
        return name
    detail = metadata.get("fidelity")
    return detail if isinstance(detail, str) and detail else None


def _calibrate_command(storage_url: str, metadata: Mapping[str, Any], task: str, fidelity: str) -> str:
    parts = ["autopeft", "calibrate", "--task", task, "--fidelity", fidelity]
    for flag, key in (("--model", "model"), ("--data-dir", "data_dir")):
        if metadata.get(key):
            parts += [flag, str(metadata[key])]
    parts += ["--storage", storage_url]
    return " ".join(shlex.quote(p) for p in parts)


def _detail(record: CalibrationRecord) -> str:
    rho = "n/a" if record.spearman is None else f"{record.spearman:.2f}"
    ratio = "inf" if record.noise_ratio is None or not math.isfinite(record.noise_ratio) else f"{record.noise_ratio:.2f}"
    when = f", {record.created_at}" if record.created_at else ""
    return f"calibrated against {record.reference}: Spearman {rho}, seed noise / spread {ratio}{when}"


def calibration_note(storage_url: str, metadata: Mapping[str, Any], storage: Any = None) -> CalibrationNote:
    """The newest calibration verdict for the study's task, model and fidelity (``metadata`` is
    the study's, :attr:`autopeft.store.StudySummary.metadata`), read from ``storage_url`` (through
    ``storage``, the page's open read-only store, when given and SQLite)."""
    task = metadata.get("task")
    fidelity = study_fidelity(metadata)
    if not task or not fidelity:
        return CalibrationNote("info", "not calibrated: the study does not record its task and fidelity")
    found = None
    if storage is not None:
        from autopeft.store.pageread import read_calibrations

        found = read_calibrations(storage, task=str(task), model=metadata.get("model"), fidelity=fidelity)
    if found is None:
        found = find_calibrations(storage_url, task=str(task), model=metadata.get("model"), fidelity=fidelity)
    if not found:
        return CalibrationNote("info", f"not calibrated: run {_calibrate_command(storage_url, metadata, str(task), fidelity)}")
    newest = found[0]
    return CalibrationNote("success" if newest.ranks else "warning", newest.verdict, _detail(newest), newest)
