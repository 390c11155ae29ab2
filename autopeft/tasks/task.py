"""`Task`: one labelled text task, its data sources and its official metrics.

A task is described by a :class:`TaskSpec` (static: fields, labels, metrics, where the data
lives on the hub and in which local file format) and resolved into a :class:`Task` bound to a
data source (the hub by default, or a local ``data_dir``). ``Task.load_split`` returns a list
of examples, each a dict ``{<text field>: str, ..., "label": int | float}``: label indices
into ``label_names`` for classification, floats for regression.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np

from autopeft.tasks import datafiles
from autopeft.tasks import metrics as metric_functions
from autopeft.tasks.datafiles import RowError, example_of, label_lookup, parse_label
from autopeft.tasks.errors import DataFormatError, TaskError

KINDS = ("classification", "regression")
SPLITS = ("train", "validation")
SPLIT_ALIASES = {"train": "train", "validation": "validation", "val": "validation", "dev": "validation"}

Reader = Callable[[Path], Iterator[tuple[int, dict]]]


@dataclass(frozen=True)
class HubSource:
    """Where ``datasets.load_dataset`` finds the task, and its column names there."""

    path: str
    config: str | None
    splits: Mapping[str, str]
    columns: Mapping[str, str]


@dataclass(frozen=True)
class LocalSource:
    """The local file format: candidate file names per split, a reader, and column keys.

    ``columns`` maps each text field and ``"label"`` to a column name (files with a header or
    JSONL) or a 0-based position (headerless TSV). ``folder`` is the task's folder relative to
    a data root (``glue/rte``); ``None`` for custom tasks whose files are given directly.
    """

    files: Mapping[str, tuple[str, ...]]
    reader: Reader
    columns: Mapping[str, str | int]
    folder: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    """Static description of a task. ``transform`` (optional) builds the text fields from a
    raw record (COPA joins premise, question and both choices)."""

    name: str
    kind: str
    text_fields: tuple[str, ...]
    label_names: tuple[str, ...]
    metrics: tuple[str, ...]
    main_metric: str
    hub: HubSource | None
    local: LocalSource
    description: str = ""
    transform: Callable[[dict], dict] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TaskError(f"task {self.name!r}: kind must be one of {list(KINDS)}, got {self.kind!r}")
        if self.main_metric not in self.metrics:
            raise TaskError(f"task {self.name!r}: main_metric {self.main_metric!r} is not in its metrics {list(self.metrics)}")
        for name in self.metrics:
            if name not in metric_functions.METRICS:
                raise TaskError(f"task {self.name!r}: unknown metric {name!r}; known: {sorted(metric_functions.METRICS)}")
        if not self.text_fields:
            raise TaskError(f"task {self.name!r}: text_fields is empty; name at least one text column")
        if self.kind == "classification" and len(self.label_names) < 2:
            raise TaskError(f"task {self.name!r}: a classification task needs at least 2 label names, got {list(self.label_names)}")


@dataclass
class Task:
    """A task bound to a data source. ``data_dir=None`` reads from the hub."""

    spec: TaskSpec
    data_dir: str | None = None
    files: Mapping[str, str] | None = None  # custom tasks: split -> file path
    _cache: dict[str, list[dict]] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------- description
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def text_fields(self) -> tuple[str, ...]:
        return self.spec.text_fields

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.spec.label_names

    @property
    def num_labels(self) -> int:
        """Output size of the task head: the class count, or 1 for regression."""
        return 1 if self.kind == "regression" else len(self.label_names)

    @property
    def main_metric(self) -> str:
        return self.spec.main_metric

    @property
    def metric_names(self) -> tuple[str, ...]:
        return self.spec.metrics

    def __repr__(self) -> str:
        source = self.files or self.data_dir or "hub"
        return f"Task({self.name!r}, kind={self.kind!r}, labels={list(self.label_names)}, source={source!r})"

    def to_spec(self) -> dict[str, Any]:
        """The JSON-able task spec that rebuilds this task (:func:`autopeft.tasks.resolve_task`):
        what a study records and a Ray worker receives. A registry task's is its name and data
        folder."""
        from autopeft.tasks.registry import TASKS

        if self.files is not None or TASKS.get(self.name) is not self.spec:
            raise TaskError(f"task {self.name!r} was built by hand and has no spec; build it with autopeft.tasks.custom_task "
                            "or autopeft.tasks.resolve_task (a task file or a dict of its keys)")
        data_dir = None if self.data_dir is None else str(Path(self.data_dir).expanduser().resolve())
        return {"format_version": 1, "source": "registry", "name": self.name, "data_dir": data_dir}

    # ------------------------------------------------------------- metrics
    def compute_metrics(self, predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, float]:
        """All of the task's metrics. Classification predictions may be label indices or
        per-class scores (the arg-max is taken); regression predictions are floats."""
        preds = np.asarray(predictions)
        if self.kind == "classification" and preds.ndim == 2:
            preds = preds.argmax(axis=-1)
        if self.kind == "regression":
            preds = preds.reshape(-1).astype(np.float64)
        return metric_functions.compute(self.spec.metrics, preds, references)

    # ------------------------------------------------------------- data
    def split_name(self, split: str) -> str:
        try:
            return SPLIT_ALIASES[split]
        except KeyError:
            raise TaskError(f"split {split!r}: expected one of {list(SPLITS)}") from None

    def split_path(self, split: str) -> Path:
        """The local file of a split (raises with the names it tried when there is none)."""
        split = self.split_name(split)
        if self.files is not None:
            if split not in self.files:
                raise TaskError(f"task {self.name!r} has no {split!r} file; give one when creating the custom task")
            path = Path(self.files[split])
            if not path.is_file():
                raise TaskError(f"task {self.name!r}: {split} file {str(path)!r} does not exist")
            return path
        if self.data_dir is None:
            raise TaskError(f"task {self.name!r} reads from the hub; it has no local {split} file")
        return _find_local_file(self.spec, Path(self.data_dir), split)

    def source_id(self, split: str) -> str:
        """A string that changes when the data of ``split`` changes (cache keys use it)."""
        split = self.split_name(split)
        if self.data_dir is None and self.files is None:
            hub = self.spec.hub
            return f"hub:{hub.path}:{hub.config}:{hub.splits[split]}" if hub else "hub:none"
        path = self.split_path(split).resolve()
        stat = path.stat()
        return f"file:{path}:{stat.st_size}:{stat.st_mtime_ns}"

    def load_split(self, split: str) -> list[dict]:
        """The examples of ``split`` ("train" or "validation"), read once per Task object."""
        split = self.split_name(split)
        if split not in self._cache:
            if self.data_dir is None and self.files is None:
                self._cache[split] = self._load_hub(split)
            else:
                self._cache[split] = self._load_local(split)
        return self._cache[split]

    def _convert(self, record: dict, columns: Mapping[str, Any], where: tuple[str, int]) -> dict:
        path, line = where
        if self.spec.transform is not None:
            try:
                record = self.spec.transform(record)
            except KeyError as exc:
                raise DataFormatError(path, line, exc.args[0], "missing") from None
            columns = {name: name for name in (*self.text_fields, "label")}
        try:
            return example_of(record, {name: columns[name] for name in self.text_fields}, columns["label"],
                              self._label)
        except RowError as exc:
            raise DataFormatError(path, line, exc.column, exc.problem) from None

    def _label(self, value: Any) -> int | float:
        """A raw label value -> class index or float (:func:`autopeft.tasks.datafiles.parse_label`,
        which also takes a class index as text here)."""
        return parse_label(value, self.kind, self.label_names, self._labels)

    @functools.cached_property
    def _labels(self) -> dict[str, int]:
        """Raw label text -> index: the names, their lower case and the indices as text."""
        return label_lookup(self.label_names, indices=True)

    def _load_local(self, split: str) -> list[dict]:
        path = self.split_path(split)
        source = self.spec.local
        examples = [self._convert(record, source.columns, (str(path), line)) for line, record in source.reader(path)]
        if not examples:
            raise TaskError(f"task {self.name!r}: {str(path)!r} holds no examples")
        return examples

    def _load_hub(self, split: str) -> list[dict]:
        hub = self.spec.hub
        if hub is None:
            raise TaskError(f"task {self.name!r} has no hub source; pass data_dir")
        import datasets  # a dependency; looked up at call time (tests put a fake in sys.modules)

        try:
            dataset = datasets.load_dataset(hub.path, hub.config, split=hub.splits[split])
        except Exception as exc:  # network, missing dataset: one line for the CLI
            raise TaskError(
                f"task {self.name!r}: datasets.load_dataset({hub.path!r}, {hub.config!r}) failed "
                f"({exc.__class__.__name__}: {exc}); without network pass --data-dir with local files"
            ) from None
        where = f"{hub.path}/{hub.config}[{hub.splits[split]}]"
        out = []
        for index, record in enumerate(dataset):
            example = self._convert(record, hub.columns, (where, index + 1))
            out.append(example)
        return out


def _find_local_file(spec: TaskSpec, data_dir: Path, split: str) -> Path:
    """``data_dir`` is either the root holding ``glue/`` and ``superglue/`` or the task folder."""
    if not data_dir.is_dir():
        raise TaskError(f"--data-dir {str(data_dir)!r} is not a folder")
    source = spec.local
    candidates = [data_dir / source.folder] if source.folder else []
    candidates.append(data_dir)
    tried = []
    for folder in candidates:
        for filename in source.files[split]:
            path = folder / filename
            if path.is_file():
                return path
            tried.append(str(path))
    raise TaskError(f"task {spec.name!r}: no {split} file found; tried {tried}")


def _no_reader(path: Path) -> Iterator[tuple[int, dict]]:
    raise TaskError(f"{path}: a task on your own data reads through autopeft.tasks.datafiles")


@dataclass(repr=False)
class SourceTask(Task):
    """A task on your own data: CSV/TSV/JSONL files, a folder of class folders, or a
    ``datasets`` dataset, described by its task spec ``source`` (see :mod:`autopeft.tasks.resolve`)
    and read by :mod:`autopeft.tasks.datafiles` (the module an exported ``train.py`` embeds)."""

    source: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> "SourceTask":
        """The task of a complete ``files``, ``folder`` or ``dataset`` spec (no data is read)."""
        kind = spec["kind"]
        metrics = tuple(spec.get("metrics") or (("accuracy", "macro_f1") if kind == "classification" else ("pearson", "spearman")))
        static = TaskSpec(
            name=str(spec["name"]),
            kind=kind,
            text_fields=tuple(spec["text_fields"]),
            label_names=tuple(str(n) for n in (spec.get("label_names") or ())) if kind == "classification" else (),
            metrics=metrics,
            main_metric=metrics[0],
            hub=None,
            local=LocalSource({}, _no_reader, {}),
            description=f"{spec['source']} {kind} task",
        )
        return cls(static, source=dict(spec))

    def __repr__(self) -> str:
        where = self.source.get("train") or self.source.get("dataset")
        return f"Task({self.name!r}, kind={self.kind!r}, labels={list(self.label_names)}, source={self.source['source']}:{where!r})"

    def to_spec(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.source))

    def _error(self, exc: Exception) -> TaskError:
        if getattr(exc, "line", None) is not None:
            return DataFormatError(exc.path, exc.line, exc.column, exc.problem)
        return TaskError(str(exc))

    def split_path(self, split: str) -> Path:
        """The file (``files``) or folder (``folder``) a split is read from."""
        split = self.split_name(split)
        source = self.source
        own = split == "validation" and bool(source.get("eval"))
        if source["source"] == "files":
            return Path(source["eval"] if own else source["train"])
        if source["source"] == "folder":
            try:
                return datafiles.folder_root(source, "eval" if own else "train")
            except datafiles.DataFileError as exc:
                raise self._error(exc) from None
        raise TaskError(f"task {self.name!r} reads the dataset {source.get('dataset')!r}; it has no local {split} file")

    def source_id(self, split: str) -> str:
        split = self.split_name(split)
        try:
            return datafiles.fingerprint(self.source, split)
        except datafiles.DataFileError as exc:
            raise self._error(exc) from None

    def load_split(self, split: str) -> list[dict]:
        split = self.split_name(split)
        if split not in self._cache:
            try:
                self._cache[split] = datafiles.load_examples(self.source, split)
            except datafiles.DataFileError as exc:
                raise self._error(exc) from None
        return self._cache[split]
