"""``export_config`` (from a `PeftConfig`) and ``export_trial`` (from a study) for every format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from autopeft.config import PeftConfig
from autopeft.errors import ConfigError
from autopeft.export import adapters_format, autopeft_format, peft_format, readme, script_format
from autopeft.export.errors import ExportError
from autopeft.export.model_info import ModelInfo, resolve_model

README_FILE = "README.md"


def _peft(config: PeftConfig, info: ModelInfo, out_dir: str, **_: Any) -> list[str]:
    return peft_format.write(config, info, out_dir)


def _adapters(config: PeftConfig, info: ModelInfo, out_dir: str, **_: Any) -> list[str]:
    return adapters_format.write(config, info, out_dir)


def _autopeft(config: PeftConfig, info: ModelInfo, out_dir: str, **_: Any) -> list[str]:
    return autopeft_format.write(config, info, out_dir)


def _script(config: PeftConfig, info: ModelInfo, out_dir: str, **kwargs: Any) -> list[str]:
    return script_format.write(config, info, out_dir, **kwargs)


#: Format name -> writer(config, model info, out_dir, **context) -> file names written.
FORMATS: dict[str, Callable[..., list[str]]] = {
    "peft": _peft,
    "adapters": _adapters,
    "autopeft": _autopeft,
    "script": _script,
}


@dataclass
class ExportResult:
    """What an export wrote: the folder, the files, and the counts it promises.

    Attributes:
        peft_params: the PEFT modules' parameters, the task head excluded: the study's
            ``trainable_params`` (the count the sampler, the store and the dashboard show).
        trainable_params: what the exported model trains: ``peft_params + head_params`` (HF
            peft's ``print_trainable_parameters()`` counts the head, which is in
            ``modules_to_save``, and so does ``train.py``'s check).
        head_params: the task head's parameters.
    """

    out_dir: str
    format: str
    files: list[str]
    peft_params: int
    trainable_params: int
    backend: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    head_params: int = 0


def _out_dir(out_dir: Any) -> Path:
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise ExportError(f"--out {str(path)!r} is a file; give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"--out {str(path)!r}: cannot create the folder ({exc.strerror})") from None
    return path


def _task_num_labels(task: str) -> int:
    """The head size of ``task``: a registry task's, or a folder task's (``bbcnews``,
    ``folder:ROOT``: its class folders), so the head count an export states is the study's."""
    from autopeft.service.errors import SearchError
    from autopeft.service.folder_tasks import folder_task, is_folder_task

    if is_folder_task(task):
        try:
            return folder_task(task).num_labels
        except SearchError as exc:
            raise ExportError(f"{exc} (the task head's size comes from its class folders)") from None
    return script_format.num_labels(task)


def export_config(config: PeftConfig, model: Any, format: str, out_dir: Any, *, task: str | None = None,
                  data_dir: str | None = None, num_labels: int | None = None, fidelity: Any = None, seed: int = 0,
                  backend: str = "auto", source: dict[str, Any] | None = None) -> ExportResult:
    """Write ``config`` for ``model`` (hub id / local path, transformers config or model) in
    ``format`` (``peft``, ``adapters``, ``autopeft``, ``script``) into ``out_dir``, with a README.

    ``task`` (``glue/rte``) sets the head size and, for ``script``, the data; ``num_labels``
    overrides the head size (default: the task's, else the model config's). ``backend`` picks the
    script's configuration format (``auto``: peft when it can express the config). Raises
    :class:`InexpressibleError` naming what a format cannot express.
    """
    if not isinstance(config, PeftConfig):
        raise ConfigError(f"config: expected a PeftConfig, got {type(config).__name__}; load one with autopeft.load_config")
    if format not in FORMATS:
        raise ExportError(f"--format {format!r}: expected one of {list(FORMATS)}")
    if num_labels is None and task:
        num_labels = _task_num_labels(task)
    info = resolve_model(model, num_labels)
    config.check_compatible(info.config)
    peft_params = config.num_trainable_params(info.config)
    trainable = peft_params + info.head_params
    source = dict(source or {})
    if format == "peft":
        peft_format.to_peft(config, info)  # raise before anything is written
    elif format == "adapters":
        adapters_format.to_adapters(config, info)
    path = _out_dir(out_dir)
    files = FORMATS[format](config, info, str(path), task=task, data_dir=data_dir, fidelity=fidelity, seed=seed,
                            backend=backend, expected_trainable_params=trainable, peft_params=peft_params,
                            head_params=info.head_params, source=source)
    used_backend = None
    if format == "script":
        used_backend = "peft" if peft_format.ADAPTER_CONFIG in files else "autopeft"
    text = readme.render(format, [*files, README_FILE], source={**source, "task": task, "data_dir": data_dir},
                         model=info.name, num_labels=int(info.config.num_labels), expected=trainable,
                         summary=config.summary(), peft_params=peft_params, head_params=info.head_params,
                         out_dir=str(path), backend=used_backend)
    (path / README_FILE).write_text(text, encoding="utf-8")
    return ExportResult(str(path), format, [*files, README_FILE], peft_params, trainable, used_backend, source, info.head_params)


def export_trial(storage: Any, study: str, format: str, out_dir: Any, *, trial: int | None = None,
                 best_under: Any = None, knee: bool = False, backend: str = "auto", model: Any = None,
                 data_dir: str | None = None) -> ExportResult:
    """Export one trial of ``study`` (chosen by ``trial``, ``best_under`` or ``knee``).

    Model, task, data folder, fidelity and seed come from the study's metadata; ``model`` and
    ``data_dir`` override them (a study searched on another machine).
    """
    from autopeft.export.selection import select
    from autopeft.store import load_study_summary

    record, how = select(storage, study, trial=trial, best_under_budget=best_under, use_knee=knee)
    summary = load_study_summary(storage, study)
    meta = summary.metadata
    config = record.peft_config()
    model_id = model or meta.get("model")
    if not model_id:
        raise ExportError(f"study {study!r} does not record its model; pass --model")
    source = {
        "study": study,
        "storage": storage if isinstance(storage, str) else None,
        "trial": record.number,
        "selection": how,
        "score": record.score,
        "metrics": record.metrics or None,
        "trainable_params": record.trainable_params,
        "percent_params": record.percent_params,
    }
    result = export_config(config, model_id, format, out_dir, task=meta.get("task"),
                           data_dir=data_dir or meta.get("data_dir"), fidelity=meta.get("fidelity"),
                           seed=int(meta.get("seed") or 0), backend=backend, source=source)
    return result
