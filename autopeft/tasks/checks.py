"""Checks of a task's examples before anything trains on them.

:func:`check_task_examples` reads both splits of a task on local files (a registry task with
``data_dir`` as well as your own files), so a missing column, an unparsable label or an empty
split fails as one line naming the file and line; a classification task's training split must
hold at least two classes. ``autopeft search`` runs it before the study is created
(:mod:`autopeft.service.preflight`).
"""

from __future__ import annotations

from typing import Any

from autopeft.tasks.errors import TaskError


def check_task_examples(task: Any) -> dict[str, int]:
    """Read both splits of ``task`` when its examples are local files (hub tasks are not read:
    the hub may be slow or offline). Returns the example count per split ({} for hub tasks).

    Raises the task's own one-line error (:class:`~autopeft.tasks.DataFormatError`,
    :class:`~autopeft.tasks.TaskError`) for a missing column, a bad label or an empty split, and
    a :class:`~autopeft.tasks.TaskError` for a classification training split with one class."""
    from autopeft.tasks.resolve import check_task_data
    from autopeft.tasks.task import SourceTask

    if isinstance(task, SourceTask):
        return check_task_data(task)  # reads and checks your own files (columns, labels, classes)
    if getattr(task, "data_dir", None) is None and getattr(task, "files", None) is None:
        return {}
    counts = {}
    for split in ("train", "validation"):
        examples = task.load_split(split)  # raises naming the file, the line and the column
        if not examples:
            raise TaskError(f"task {task.name!r}: the {split} split holds no examples")
        counts[split] = len(examples)
    if task.kind == "classification":
        path = str(task.split_path("train"))
        classes = sorted({e["label"] for e in task.load_split("train")})
        if len(classes) < 2:
            names = [task.label_names[i] if isinstance(i, int) and 0 <= i < len(task.label_names) else i for i in classes]
            raise TaskError(f"{path}: the training split has {len(classes)} distinct label(s) {names}; "
                            f"classification needs at least 2 of {list(task.label_names)}")
    return counts


__all__ = ["check_task_examples"]
