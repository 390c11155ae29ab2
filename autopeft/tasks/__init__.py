"""Labelled text tasks: GLUE, SuperGLUE and custom files, with their official metrics.

``get_task("glue/rte")`` reads the hub through ``datasets.load_dataset``;
``get_task("glue/rte", data_dir="/data")`` reads the same task from local files in the official
formats; ``custom_task(...)`` reads your own CSV/TSV/JSONL. This package imports neither torch
nor transformers (``datasets`` only when the hub is used).
"""

from __future__ import annotations

from autopeft.tasks.errors import DataFormatError, TaskError
from autopeft.tasks.metrics import METRICS
from autopeft.tasks.registry import TASKS, custom_task, get_task, task_names
from autopeft.tasks.task import Task, TaskSpec

__all__ = ["DataFormatError", "METRICS", "TASKS", "Task", "TaskError", "TaskSpec", "custom_task", "get_task", "task_names"]
