"""``export_config`` (from a `PeftConfig`) and ``export_trial`` (from a study) for every format.

Every export is written into a new temporary folder beside ``out_dir`` and moved into place
only once all its files are written (:func:`_staged`), so an export that fails half-way leaves
no partial files and an existing folder as it was. ``export_trial`` refuses a FAIL or PRUNED
trial, naming its state, unless ``allow_failed``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from autopeft.config import PeftConfig
from autopeft.errors import ConfigError
from autopeft.export import adapters_format, autopeft_format, peft_format, readme, script_format
from autopeft.export.errors import ExportError
from autopeft.export.model_info import ModelInfo, resolve_model
from autopeft.export.selection import select
from autopeft.store import load_study_summary
from autopeft.tasks import Task, UnknownTaskError, task_spec
from autopeft.tasks.resolve import task_from_spec

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


#: Trial states whose configuration was never measured: exporting one needs ``allow_failed``.
UNFINISHED_STATES = ("FAIL", "PRUNED")


def _out_dir(out_dir: Any) -> Path:
    """The target folder, checked (not a file) and its parent created; the folder itself is
    made only when the export is complete (:func:`_staged`)."""
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise ExportError(f"--out {str(path)!r} is a file; give a folder")
    try:
        Path(os.path.abspath(path)).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"--out {str(path)!r}: cannot create the folder ({exc.strerror})") from None
    return path


@contextlib.contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """A new temporary folder beside ``path`` (the same filesystem, so moving it is a rename) to
    write the export into; when the block finishes, its files move into ``path``: the folder is
    renamed into place when ``path`` does not exist, otherwise (an existing folder, perhaps the
    working directory) each file replaces its namesake with one rename and the folder's other
    files stay. When the block raises
    (anything, Ctrl-C included) the temporary folder is removed and ``path`` is as it was."""
    target = Path(os.path.abspath(path))  # ".." resolved, links kept
    stage = target.parent / f".{target.name}.autopeft-export-{uuid.uuid4().hex[:12]}"
    try:
        stage.mkdir()
    except OSError as exc:
        raise ExportError(f"--out {str(path)!r}: cannot write beside it in {str(target.parent)!r} ({exc.strerror})") from None
    try:
        yield stage
        if not target.exists() and not target.is_symlink():
            stage.rename(target)
        else:
            if not target.is_dir():
                raise ExportError(f"--out {str(path)!r} is a file; give a folder")
            items = sorted(stage.iterdir())
            blocked = [item.name for item in items if (target / item.name).is_dir()]
            if blocked:  # checked before any file moves, so the folder is left as it was
                raise ExportError(f"--out {str(path)!r} holds folders named {blocked}, where the export writes files; "
                                  "move them or export into another folder")
            for item in items:
                os.replace(item, target / item.name)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def resolve_export_task(task: Any, data_dir: str | None = None) -> Task:
    """The :class:`autopeft.tasks.Task` of a task reference (a study's recorded spec, a name, a
    task file, a spec dict or a Task), from its spec alone: no data is read and a registry
    task's data folder need not exist here (a study searched on another machine)."""
    if isinstance(task, Task) and data_dir is None:
        return task
    return task_from_spec(task_spec(task, data_dir), check_data_dir=False)


def _head(task: Any, num_labels: Any, label_names: Any) -> tuple[int | None, list[str] | None]:
    """(head size, label names) from the task, checked against ``num_labels`` / ``label_names``."""
    names = None
    if label_names is not None:
        names = [part.strip() for part in label_names.split(",")] if isinstance(label_names, str) else [str(n) for n in label_names]
        if len(names) < 1 or any(not n for n in names) or len(set(names)) != len(names):
            raise ExportError(f"--labels {label_names!r}: expected distinct, non-empty label names, e.g. --labels neg,pos")
    if num_labels is not None and (isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 1):
        raise ExportError(f"--num-labels {num_labels!r}: expected a positive integer (1 for a regression)")
    if names is not None and num_labels is not None and num_labels != len(names):
        raise ExportError(f"--num-labels {num_labels} but --labels names {len(names)}: {names}; give one of them")
    if task is not None:
        task_names = list(task.label_names) if task.kind == "classification" else None
        if names is not None and names != task_names:
            raise ExportError(f"--labels {','.join(names)}: task {task.name!r} has the labels {task_names}; leave --labels out")
        if num_labels is not None and num_labels != task.num_labels:
            raise ExportError(f"--num-labels {num_labels}: task {task.name!r} has a {task.num_labels}-output head; leave --num-labels out")
        return task.num_labels, task_names
    return (len(names) if names is not None else num_labels), names


def export_config(config: PeftConfig, model: Any, format: str, out_dir: Any, *, task: Any = None,
                  data_dir: str | None = None, num_labels: int | None = None, label_names: Any = None,
                  fidelity: Any = None, seed: int = 0, backend: str = "auto",
                  source: dict[str, Any] | None = None) -> ExportResult:
    """Write ``config`` for ``model`` (hub id / local path, transformers config or model) in
    ``format`` (``peft``, ``adapters``, ``autopeft``, ``script``) into ``out_dir``, with a README.

    ``task`` (any task reference: ``glue/rte``, ``bbcnews``, a task file, a task spec dict, a
    Task) sets the head size and label names and, for ``script``, the data train.py reads.
    Without a task, ``label_names`` (``["neg", "pos"]`` or ``"neg,pos"``) or ``num_labels`` set
    the head; with neither, the model config's ``num_labels`` is kept (a loaded model's head).
    ``backend`` picks the script's configuration format (``auto``: peft when it can express the
    config). Raises :class:`InexpressibleError` naming what a format cannot express.
    """
    if not isinstance(config, PeftConfig):
        raise ConfigError(f"config: expected a PeftConfig, got {type(config).__name__}; load one with autopeft.load_config")
    if format not in FORMATS:
        raise ExportError(f"--format {format!r}: expected one of {list(FORMATS)}")
    resolved = None if task is None else resolve_export_task(task, data_dir)
    num_labels, labels = _head(resolved, num_labels, label_names)
    info = resolve_model(model, num_labels)
    config.check_compatible(info.backbone)
    peft_params = config.num_trainable_params(info.backbone)
    trainable = peft_params + info.head_params
    source = dict(source or {})
    if format == "peft":
        peft_format.to_peft(config, info)  # raise before anything is written
    elif format == "adapters":
        adapters_format.to_adapters(config, info)
    path = _out_dir(out_dir)
    with _staged(path) as stage:
        files = FORMATS[format](config, info, str(stage), task=resolved, data_dir=data_dir, fidelity=fidelity, seed=seed,
                                backend=backend, expected_trainable_params=trainable, peft_params=peft_params,
                                head_params=info.head_params, source=source)
        used_backend = None
        if format == "script":
            used_backend = "peft" if peft_format.ADAPTER_CONFIG in files else "autopeft"
        spec = None if resolved is None else resolved.to_spec()
        about = {**source, "task": source.get("task") or (None if resolved is None else resolved.name),
                 "data_dir": spec.get("data_dir") if spec and spec["source"] == "registry" else None,
                 "data": readme.data_line(spec), "labels": ", ".join(labels) if labels else None}
        text = readme.render(format, [*files, README_FILE], source=about,
                             model=info.name, num_labels=int(info.config.num_labels), expected=trainable,
                             summary=config.summary(), peft_params=peft_params, head_params=info.head_params,
                             out_dir=str(path), backend=used_backend,
                             regression=resolved is not None and resolved.kind == "regression", task_spec=spec)
        (stage / README_FILE).write_text(text, encoding="utf-8")
    return ExportResult(str(path), format, [*files, README_FILE], peft_params, trainable, used_backend, source, info.head_params)


def export_trial(storage: Any, study: str, format: str, out_dir: Any, *, trial: int | None = None,
                 best_under: Any = None, knee: bool = False, backend: str = "auto", model: Any = None,
                 data_dir: str | None = None, num_labels: int | None = None, label_names: Any = None,
                 allow_failed: bool = False) -> ExportResult:
    """Export one trial of ``study`` (chosen by ``trial``, ``best_under`` or ``knee``).

    A FAIL or PRUNED trial (its configuration was never measured) is refused, naming its state,
    unless ``allow_failed`` (``--allow-failed``); its README then records the state.

    Model, task (its recorded spec: files, fields, label names), fidelity and seed come from the
    study's metadata; ``model`` and ``data_dir`` (a registry task's data folder) override them
    (a study searched on another machine). ``num_labels`` / ``label_names`` serve only a study
    whose task autopeft does not know (a plugged-in objective's); otherwise they must agree.
    """
    record, how = select(storage, study, trial=trial, best_under_budget=best_under, use_knee=knee)
    if record.state in UNFINISHED_STATES and not allow_failed:
        error = (record.error or record.stopped or "").strip().splitlines()  # a multi-fidelity trial: where it was stopped
        why = f" ({error[0][:200]})" if error else ""
        raise ExportError(f"trial {record.number} of study {study!r} is {record.state}{why}: it has no measured score, so its "
                          "configuration is not a searched result; pass --allow-failed (allow_failed=True) to export it anyway")
    summary = load_study_summary(storage, study)
    meta = summary.metadata
    config = record.peft
    measured = record.trial_result
    model_id = model or meta.get("model")
    if not model_id:
        raise ExportError(f"study {study!r} does not record its model; pass --model")
    task = meta.get("task_spec")
    if task is not None:
        if data_dir is not None and task.get("source") != "registry":
            raise ExportError(f"--data-dir applies to named tasks; study {study!r} reads its own files ({task.get('train') or task.get('dataset')})")
    else:  # a study recorded before task specs: its task name and data folder
        task = meta.get("task")
        data_dir = data_dir or meta.get("data_dir")
        if task:
            try:
                task_spec(task, data_dir)
            except UnknownTaskError:
                if num_labels is None and label_names is None:
                    raise ExportError(f"study {study!r} records the task {task!r}, which autopeft does not know (a plugged-in "
                                      "objective's own); pass --num-labels N or --labels a,b,c for the task head") from None
                task = data_dir = None
    source = {
        "study": study,
        "storage": storage if isinstance(storage, str) else None,
        "trial": record.number,
        "state": record.state,
        "selection": how,
        "score": record.score,
        "metrics": (measured.metrics or None) if measured is not None else None,
        "trainable_params": record.trainable_params,
        "percent_params": record.percent_params,
    }
    if meta.get("task"):
        source["task"] = meta["task"]  # the name the study shows
    return export_config(config, model_id, format, out_dir, task=task or None, data_dir=data_dir,
                         num_labels=num_labels, label_names=label_names, fidelity=meta.get("fidelity"),
                         seed=int(meta.get("seed") or 0), backend=backend, source=source)
