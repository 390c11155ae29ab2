"""The ``script`` format: a standalone ``train.py`` (HF ``Trainer``) beside the configuration.

The configuration is written in the ``peft`` format when peft can express it (the script then
needs transformers, peft and datasets only) and in the ``autopeft`` format otherwise (the script
imports ``autopeft.apply``); ``backend`` forces one. The script is
:mod:`autopeft.export.train_template` with its ``SETTINGS`` block filled in: model, task
description (a registry task's hub source and local file format, or your own data's complete
spec: the same files, columns, label names and held-out split, read by a verbatim copy of
:mod:`autopeft.tasks.datafiles` in the script's DATAFILES block), data folder, and the
hyper-parameters of the full fidelity (whole training split, 3 epochs,
sequence length 256, batch 32, warmup 6 %, per-module learning rates with the proxy's lower rate
for bottleneck adapters wider than 64, gradient clipping at 1),
with the study's own learning rate and batch size when it set them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from autopeft._version import __version__
from autopeft.config import PeftConfig
from autopeft.export import autopeft_format, peft_format
from autopeft.export.errors import ExportError
from autopeft.export.model_info import ModelInfo
from autopeft.proxy.fidelity import PRESETS
from autopeft.proxy.train import ADAPTER_RATE_POWER, ADAPTER_REFERENCE_SIZE, DEFAULT_LEARNING_RATES, MAX_GRAD_NORM
from autopeft.tasks import TASKS, Task, datafiles
from autopeft.tasks.readers import read_jsonl

SCRIPT_FILE = "train.py"
BACKENDS = ("auto", "peft", "autopeft")
_START, _END = "# <autopeft-settings>\n", "# </autopeft-settings>\n"
_DATA_START, _DATA_END = "# <autopeft-datafiles>\n", "# </autopeft-datafiles>\n"


def task_settings(task: Any) -> dict[str, Any]:
    """The task description the script reads its data with: a registry task's hub source and
    local file format (from autopeft's registry), or the complete spec of a task on your own
    data (``source``: the same files, columns, labels and held-out split the study used, read by
    the copy of :mod:`autopeft.tasks.datafiles` inside the script)."""
    if isinstance(task, Task) and task.to_spec()["source"] != "registry":
        spec = task.to_spec()
        return {
            "name": task.name,
            "kind": task.kind,
            "text_fields": list(task.text_fields),
            "label_names": list(task.label_names),
            "metrics": list(task.metric_names),
            "main_metric": task.main_metric,
            "source": spec,
        }
    if isinstance(task, Task):
        task = task.name
    if task not in TASKS:
        matches = [name for name in TASKS if name.split("/", 1)[1] == task]
        if len(matches) != 1:
            raise ExportError(f"task {task!r}: the script format needs a task autopeft can read: a registry task "
                              f"({sorted(TASKS)}), bbcnews, folder:ROOT, a task file or your own files (--train ...)")
        task = matches[0]
    spec = TASKS[task]
    columns = dict(spec.local.columns)
    if spec.local.reader is read_jsonl:
        fmt = "jsonl"
    else:
        fmt = "tsv_noheader" if any(isinstance(v, int) for v in columns.values()) else "tsv"
    return {
        "name": spec.name,
        "kind": spec.kind,
        "text_fields": list(spec.text_fields),
        "label_names": list(spec.label_names),
        "metrics": list(spec.metrics),
        "main_metric": spec.main_metric,
        "hub": None if spec.hub is None else {
            "path": spec.hub.path, "config": spec.hub.config, "splits": dict(spec.hub.splits), "columns": dict(spec.hub.columns),
        },
        "local": {"folder": spec.local.folder, "files": {k: list(v) for k, v in spec.local.files.items()},
                  "format": fmt, "columns": columns},
        "transform": "copa" if spec.transform is not None and spec.name.endswith("copa") else None,
    }


def num_labels(task: Any) -> int:
    """The head size of ``task`` (a registry name or a Task)."""
    settings = task_settings(task)
    return 1 if settings["kind"] == "regression" else len(settings["label_names"])


def hyperparameters(fidelity: Any = None, seed: int = 0) -> dict[str, Any]:
    """Full-fidelity training knobs; ``fidelity`` (the study's, a dict) keeps its learning rate
    and batch size when it set them.

    ``adapter_rate_rule`` carries the proxy's rule for large bottleneck adapters
    (:func:`autopeft.proxy.train.adapter_rate_factor`: an adapter wider than ``reference_size``
    trains at ``(reference_size / size) ** power`` of the ``adapter`` rate), so train.py groups
    and scales its parameters as :func:`autopeft.proxy.train.parameter_groups` does. Like the
    proxy, a study that set one learning rate for all gets it unscaled (the rule is None)."""
    full = PRESETS["full"]
    study = fidelity if isinstance(fidelity, dict) else {}
    rate = study.get("learning_rate")
    return {
        "epochs": full.epochs,
        "max_steps": None,
        "max_seq_length": full.max_seq_length,
        "batch_size": study.get("batch_size") or full.batch_size,
        "max_train_examples": full.max_train_examples,
        "max_eval_examples": full.max_eval_examples,
        "warmup_ratio": full.warmup_ratio,
        # full's scale on the per-method defaults, which are sized for the 32 steps of quick
        "learning_rates": {group: (rate if rate is not None else full.learning_rate_scale * lr) for group, lr in DEFAULT_LEARNING_RATES.items()},
        "adapter_rate_rule": None if rate is not None else {"reference_size": ADAPTER_REFERENCE_SIZE, "power": ADAPTER_RATE_POWER},
        "max_grad_norm": MAX_GRAD_NORM,
        "bf16": full.bf16,
        "seed": seed,
    }


def _datafiles_source() -> str:
    """The source of :mod:`autopeft.tasks.datafiles` without its module docstring, to embed in
    the script (it uses the standard library only, so the script stays standalone)."""
    text = Path(datafiles.__file__).read_text(encoding="utf-8")
    body = text[text.index('"""', 3) + 3:].lstrip("\n")  # drop the module docstring
    return ("# Copied from autopeft.tasks.datafiles (autopeft " + _version() + "): reads your own files, folders and\n"
            "# datasets exactly as the study did, the held-out split included.\n" + body)


def _version() -> str:
    return __version__


def render(settings: dict[str, Any]) -> str:
    """``train_template.py`` with ``settings`` in its SETTINGS block and the data reader of
    :mod:`autopeft.tasks.datafiles` in its DATAFILES block."""
    template = Path(__file__).with_name("train_template.py").read_text(encoding="utf-8")
    text = json.dumps(settings, indent=2)
    if "'''" in text:
        raise ExportError("script: a setting contains ''' and cannot be embedded; rename the model or data path")
    block = f"{_START}SETTINGS: dict = json.loads(r'''\n{text}\n''')\n{_END}"
    start, end = template.index(_START), template.index(_END) + len(_END)
    template = template[:start] + block + template[end:]
    start, end = template.index(_DATA_START), template.index(_DATA_END) + len(_DATA_END)
    return template[:start] + _DATA_START + _datafiles_source() + _DATA_END + template[end:]


def write(config: PeftConfig, info: ModelInfo, out_dir: str, *, task: Any, data_dir: str | None = None,
          fidelity: Any = None, seed: int = 0, backend: str = "auto", expected_trainable_params: int | None = None,
          peft_params: int | None = None, head_params: int | None = None, source: dict[str, Any] | None = None) -> list[str]:
    """Write the config (peft or autopeft backend) and ``train.py`` into ``out_dir``.

    ``expected_trainable_params`` is what ``train.py`` must find trainable: the PEFT modules
    (``peft_params``, the study's count) plus the task head (``head_params``), which trains too.
    """
    if backend not in BACKENDS:
        raise ExportError(f"script backend {backend!r}: expected one of {list(BACKENDS)}")
    if not task:
        raise ExportError("script: a task is needed (the study's, or task= / --task NAME, --task FILE.yaml, --train FILE ...)")
    if not info.name:
        raise ExportError("script: the model's id or path is needed; pass the model as a hub id or local path")
    if backend == "auto":
        backend = "autopeft" if peft_format.problems(config, info) else "peft"
    settings_task = task_settings(task)
    script_data_dir = None
    if "source" not in settings_task:  # a registry task: its data folder (the study's, absolute), else the hub
        spec = task.to_spec() if hasattr(task, "to_spec") else {}
        script_data_dir = spec.get("data_dir") or data_dir
    files = (peft_format if backend == "peft" else autopeft_format).write(config, info, out_dir)
    settings = {
        "model": info.name,
        "task": settings_task,
        "data_dir": script_data_dir,
        "backend": backend,
        "config_file": files[0],
        "expected_trainable_params": expected_trainable_params,
        "expected_peft_params": peft_params,
        "expected_head_params": head_params,
        "hyperparameters": hyperparameters(fidelity, seed),
        "source": source or {},
    }
    Path(out_dir, SCRIPT_FILE).write_text(render(settings), encoding="utf-8")
    return [*files, SCRIPT_FILE]
