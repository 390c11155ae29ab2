"""Errors of the task layer: an unknown task, a missing data file, a malformed row."""

from __future__ import annotations

from autopeft.errors import AutoPeftError


class TaskError(AutoPeftError, ValueError):
    """A task cannot be resolved or loaded: unknown name, missing folder or file, bad option."""


class DataFormatError(TaskError):
    """A data file is malformed: the message names the file, the line and the column."""

    def __init__(self, path: str, line: int, column: str | int | None, problem: str) -> None:
        where = f"{path}, line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.column = column


class UnknownTaskError(TaskError):
    """A task name that is neither a registry task, a packaged dataset, ``folder:ROOT``, a task
    file nor a data file (a plugged-in search objective may still know it)."""
