"""The downloads the dashboard offers for one trial, produced by :mod:`autopeft.export`.

Each format of :data:`DOWNLOADS` is written by ``autopeft.export.export_trial`` into a temporary
folder and read back as bytes for a download button: a single file where the format is one
file (``adapter_config.json``, ``autopeft_config.json``), a zip of the folder otherwise (the
training script with its configuration and README). Nothing here touches the study: export
reads it through the store's read API with the storage object it is given.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autopeft.errors import AutoPeftError
from autopeft.export import export_trial

if TYPE_CHECKING:
    from optuna.storages import BaseStorage


@dataclass(frozen=True)
class DownloadFormat:
    """One download: the export format, the button label, and the file it hands over."""

    format: str
    label: str
    file: str | None  # the one file to hand over; None: zip the whole export folder
    mime: str


#: Download name -> how it is produced, in the order the page shows them.
DOWNLOADS: dict[str, DownloadFormat] = {
    d.format: d
    for d in (
        DownloadFormat("peft", "HF peft config (adapter_config.json)", "adapter_config.json", "application/json"),
        DownloadFormat("autopeft", "autopeft JSON (autopeft_config.json)", "autopeft_config.json", "application/json"),
        DownloadFormat("script", "training script (train.py + config + README, zip)", None, "application/zip"),
    )
}


@dataclass
class Download:
    """A built download (``data`` set) or why it could not be built (``error`` set)."""

    format: str
    label: str
    file_name: str
    mime: str
    data: bytes | None = None
    error: str | None = None


def _zip_folder(folder: Path, prefix: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def build_download(storage: "str | BaseStorage", study: str, trial: int, format: str, *, model: str | None = None,
                   allow_failed: bool = False) -> Download:
    """Export ``trial`` of ``study`` in ``format`` and return the bytes to download.

    A FAIL or PRUNED trial is refused (``Download.error`` names its state) unless
    ``allow_failed``, as ``autopeft export`` refuses it without ``--allow-failed``.

    An error autopeft raises on purpose (a config peft cannot express, a model whose config
    cannot be loaded) comes back in ``Download.error`` as one line instead of being raised, so
    the page shows it beside the other formats.
    """
    spec = DOWNLOADS[format]
    stem = f"{study}-trial{trial}"
    file_name = f"{stem}-{spec.file}" if spec.file else f"{stem}-{format}.zip"
    out = Download(format, spec.label, file_name, spec.mime)
    with tempfile.TemporaryDirectory(prefix="autopeft-dashboard-") as tmp:
        folder = Path(tmp) / stem
        try:
            export_trial(storage, study, format, folder, trial=trial, model=model, allow_failed=allow_failed)
        except AutoPeftError as exc:
            out.error = str(exc)
            return out
        out.data = (folder / spec.file).read_bytes() if spec.file else _zip_folder(folder, stem)
    return out
