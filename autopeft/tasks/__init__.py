"""Labelled text tasks: GLUE, SuperGLUE, packaged and folder datasets, and your own data.

``resolve_task(ref)`` is the one way from a task reference to a :class:`Task`: a registry name
(``glue/rte``; the hub through ``datasets.load_dataset``, or local files in the official formats
with ``data_dir``), ``bbcnews``, ``folder:ROOT``, a task file (YAML), a data file, a dict of
task-file keys, or a complete task spec. ``task_spec(ref)`` is the JSON-able spec a study
records and a worker rebuilds the task from (``task.to_spec()`` gives it back).
``custom_task(...)`` reads your own CSV/TSV/JSONL files; ``check_task_examples(task)`` reads and
checks both splits of a task on local files before anything trains on them. This package imports neither torch nor
transformers (``datasets`` only when the hub or a dataset is used, ``yaml`` for task files).
"""

from __future__ import annotations

from autopeft.tasks.checks import check_task_examples
from autopeft.tasks.errors import DataFormatError, TaskError, UnknownTaskError
from autopeft.tasks.metrics import METRICS
from autopeft.tasks.registry import TASKS, custom_task, get_task, task_names
from autopeft.tasks.resolve import check_task_data, load_task_file, resolve_task, task_label, task_spec
from autopeft.tasks.task import SourceTask, Task, TaskSpec

__all__ = [
    "DataFormatError", "METRICS", "SourceTask", "TASKS", "Task", "TaskError", "TaskSpec", "UnknownTaskError", "check_task_data",
    "check_task_examples", "custom_task", "get_task", "load_task_file", "resolve_task", "task_label", "task_names", "task_spec",
]
