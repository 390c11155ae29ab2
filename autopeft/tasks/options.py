"""The task options every command that takes a task shares (``search``, ``evaluate``,
``calibrate``, ``export``): ``--task`` (a name or a task file) or your own files (``--train``
...), turned into one task reference by :func:`task_reference`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from autopeft.tasks.datafiles import FORMAT_BY_SUFFIX
from autopeft.tasks.errors import TaskError
from autopeft.tasks.folder_tasks import PACKAGED
from autopeft.tasks.resolve import is_registry_name, spec_from_options

#: Options that describe your own files (``args`` attribute -> flag).
FILE_FLAGS: dict[str, str] = {
    "train": "--train", "eval": "--eval", "text_fields": "--text-fields", "label_field": "--label-field",
    "columns": "--columns", "kind": "--kind", "eval_fraction": "--eval-fraction", "labels": "--labels",
}


def add_task_arguments(parser: argparse.ArgumentParser, *, task_help: str | None = None, data_dir_help: str | None = None,
                       labels_help: str | None = None) -> None:
    """Add ``--task``, ``--data-dir`` and the own-data options to ``parser``."""
    group = parser.add_argument_group("task", "a named task or a task file (--task), or your own files (--train ...)")
    group.add_argument("--task", help=task_help or "glue/rte, superglue/cb, bbcnews, folder:ROOT (ROOT/LABEL/*.txt), or a task file FILE.yaml")
    group.add_argument("--data-dir", help=data_dir_help or "folder holding glue/ and superglue/ (or the task's folder); default: the hub")
    group.add_argument("--train", metavar="PATH", help="your training data: a CSV, TSV or JSONL file, or a folder of class folders (LABEL/*.txt)")
    group.add_argument("--eval", metavar="PATH", help="your validation data (default: --eval-fraction of --train held out)")
    group.add_argument("--text-fields", metavar="F1[,F2]", help="the text column(s) of --train; two are tokenised as a pair (default: text)")
    group.add_argument("--label-field", metavar="L", help="the label column of --train (default: label)")
    group.add_argument("--columns", metavar="C1,C2,...", help="the column names of a headerless CSV/TSV file, in order")
    group.add_argument("--kind", choices=("classification", "regression"), help="classification (default) or regression")
    group.add_argument("--eval-fraction", type=float, metavar="F",
                       help="share of --train held out for validation when there is no --eval (default 0.2; stratified, the same on every run)")
    group.add_argument("--labels", metavar="A,B,...",
                       help=labels_help or "the label names in order (default: the distinct labels of --train, sorted)")


def _is_data_path(text: str) -> bool:
    """A ``--task`` value that names a data file or folder rather than a task."""
    if text in PACKAGED or text.startswith("folder:") or is_registry_name(text):
        return False
    path = Path(text).expanduser()
    return path.suffix.lower() in FORMAT_BY_SUFFIX or path.is_dir()


def task_reference(args: argparse.Namespace, *, required: bool) -> Any:
    """The task reference of parsed arguments: the ``--task`` text (a name or a task file),
    the complete spec of your own files (``--train ...``; read and checked now, so a bad file
    fails before anything is written), or None when no task is given and ``required`` is False.
    """
    given = {key: getattr(args, key, None) for key in FILE_FLAGS if getattr(args, key, None) is not None}
    task = getattr(args, "task", None)
    data_dir = getattr(args, "data_dir", None)
    if task and "train" in given:
        raise TaskError(f"--task {task!r} and --train {given['train']!r}: give one (a task name or task file, or your own files)")
    if task and _is_data_path(task):
        given = {"train": task, **given}  # --task my.csv reads like --train my.csv
        task = None
    if "train" in given:
        if data_dir is not None:
            raise TaskError(f"--data-dir {data_dir!r} applies to named tasks (glue/..., superglue/...); --train names your files")
        return spec_from_options(given, origin="cli")
    if given:
        names = ", ".join(FILE_FLAGS[key] for key in given)
        if task:
            where = "put it in the task file" if Path(task).suffix.lower() in (".yaml", ".yml") else f"{task!r} defines its own data"
            raise TaskError(f"{names}: applies to your own files (--train FILE); {where}")
        raise TaskError(f"{names}: needs --train FILE (your training data)")
    if task:
        return task
    if required:
        raise TaskError("no task: give --task NAME (glue/rte, bbcnews, folder:ROOT, or a task file FILE.yaml), or your own data "
                        "with --train FILE [--eval FILE] --text-fields F --label-field L [--columns C1,C2 for a headerless file]")
    return None
