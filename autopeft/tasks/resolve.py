"""One way from a task reference to a :class:`~autopeft.tasks.Task`, and the task spec a study records.

A *task reference* is any of:

* a registry name (``glue/rte``, ``sst2``), read from the hub or from ``data_dir``;
* ``bbcnews`` (a packaged dataset) or ``folder:ROOT`` (``ROOT/LABEL/*.txt``);
* the path of a task file (``.yaml``/``.yml``, the format below) or of a data file
  (``.csv``/``.tsv``/``.jsonl``, with a ``text`` and a ``label`` column);
* a dict of task-file keys (``{"train": "my.csv", "columns": ["text", "label"], ...}``), or a
  complete task spec (below), or a :class:`Task`.

:func:`task_spec` turns a reference into its **task spec**: a JSON-able dict that says
everything the task reads (``source``: ``registry``, ``files``, ``folder`` or ``dataset``; files
and folders as absolute paths; format, columns, text and label fields, kind, label names,
metrics, the held-out split), so that the study store, a Ray worker, ``search --resume``,
``calibrate`` and ``export`` rebuild the same task from it without the original command line.
:func:`resolve_task` returns the :class:`Task` (``task.to_spec()`` gives the spec back).

Task-file keys (``format_version: 1``; relative paths are relative to the task file)::

    name: news                      # optional: what studies and exports call the task
    train: data/train.tsv           # a CSV/TSV/JSONL file, or a folder of class folders
    eval: data/eval.tsv             # optional; without it eval_fraction of train is held out
    eval_fraction: 0.2              # stratified and deterministic (see autopeft.tasks.datafiles)
    split_seed: 0
    columns: [text, label]          # the columns of a headerless CSV/TSV file
    text_fields: [text]             # one or two text columns (a pair is tokenised as a pair)
    label_field: label
    kind: classification            # or regression
    labels: {sci_tech: "Sci/Tech"}  # raw value (or folder name) -> label; or the label names in order
    metrics: [accuracy, macro_f1]   # default; regression: [pearson, spearman]
    format: tsv                     # optional: from the extension otherwise
    quoting: false                  # CSV quotes in a TSV file (default: CSV yes, TSV no)
    # or, instead of train:
    dataset: ag_news                # datasets.load_dataset id, a local dataset script or folder,
    config: null                    #   or a Dataset.save_to_disk folder
    train_split: train
    eval_split: test                # optional; without it eval_fraction of train_split is held out
    # or a named task:
    task: glue/rte
    data_dir: ../shared/data
"""

from __future__ import annotations

import copy
import difflib
import os
from pathlib import Path
from typing import Any, Mapping

import yaml

from autopeft.tasks import datafiles
from autopeft.tasks.errors import DataFormatError, TaskError
from autopeft.tasks.folder_tasks import PACKAGED, folder_spec, packaged_spec
from autopeft.tasks.metrics import METRICS
from autopeft.tasks.registry import TASKS, get_task, resolve_name
from autopeft.tasks.task import KINDS, SourceTask, Task

SPEC_VERSION = 1
TASK_FILE_SUFFIXES = (".yaml", ".yml")

#: Task-file key -> command-line flag (the same option under its two names).
OPTION_FLAGS: dict[str, str] = {
    "format_version": "format_version", "name": "--name", "task": "--task", "data_dir": "--data-dir",
    "train": "--train", "eval": "--eval", "eval_fraction": "--eval-fraction", "split_seed": "--split-seed",
    "columns": "--columns", "text_fields": "--text-fields", "label_field": "--label-field", "kind": "--kind",
    "labels": "--labels", "metrics": "--metrics", "format": "--format", "quoting": "--quoting",
    "dataset": "--dataset", "config": "--dataset-config", "train_split": "--train-split", "eval_split": "--eval-split",
}
_FILE_KEYS = {"name", "train", "eval", "eval_fraction", "split_seed", "format", "columns", "text_fields", "label_field",
              "kind", "labels", "metrics", "quoting"}
_FOLDER_KEYS = {"name", "train", "eval", "eval_fraction", "labels", "kind", "metrics"}
_DATASET_KEYS = {"name", "dataset", "config", "train_split", "eval_split", "eval_fraction", "split_seed", "text_fields",
                 "label_field", "kind", "labels", "metrics"}
#: Keys of a complete spec, per source (the registry's: format_version, source, name, data_dir).
SPEC_KEYS: dict[str, set[str]] = {
    "registry": {"format_version", "source", "name", "data_dir"},
    "files": {"format_version", "source", "name", "train", "eval", "eval_fraction", "split_seed", "format", "eval_format",
              "columns", "quoting", "text_fields", "label_field", "kind", "labels", "label_names", "metrics"},
    "folder": {"format_version", "source", "name", "train", "eval", "eval_fraction", "package", "labels", "label_names",
               "kind", "text_fields", "label_field", "metrics"},
    "dataset": {"format_version", "source", "name", "dataset", "saved", "config", "train_split", "eval_split", "eval_fraction",
                "split_seed", "text_fields", "label_field", "kind", "labels", "label_names", "metrics"},
}


class _Where:
    """How an error names an option: ``--flag`` on the command line, the key in a task file or dict."""

    def __init__(self, origin: str, file: Path | None = None):
        self.origin = origin
        self.prefix = f"task file {str(file)!r}: " if file is not None else ""

    def name(self, key: str) -> str:
        return OPTION_FLAGS.get(key, key) if self.origin == "cli" else key

    def error(self, key: str, value: Any, problem: str) -> TaskError:
        shown = f" {value!r}" if value is not None else ""
        return TaskError(f"{self.prefix}{self.name(key)}{shown}: {problem}")


def _data_error(exc: datafiles.DataFileError) -> TaskError:
    if exc.line is not None:
        return DataFormatError(exc.path, exc.line, exc.column, exc.problem)
    return TaskError(str(exc))


# ----------------------------------------------------------------------------- option values
def _names(value: Any, key: str, where: _Where) -> list[str] | None:
    """``"a,b"`` or ``["a", "b"]`` -> ``["a", "b"]``."""
    if value is None:
        return None
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        names = [str(v).strip() for v in value]
    else:
        raise where.error(key, value, "expected column names, comma-separated (a,b) or a list")
    if not names or any(not n for n in names):
        raise where.error(key, value, "expected at least one non-empty name")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise where.error(key, value, f"names {repeated} more than once")
    return names


def _path(value: Any, key: str, where: _Where, base: Path) -> Path:
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise where.error(key, value, "expected a path")
    path = Path(str(value)).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def _fraction(value: Any, where: _Where) -> float:
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        raise where.error("eval_fraction", value, "expected a number between 0 and 1, e.g. 0.2") from None
    if not 0.0 < fraction < 1.0:
        raise where.error("eval_fraction", value, "expected a number between 0 and 1 (exclusive), e.g. 0.2")
    return fraction


def _seed(value: Any, where: _Where) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where.error("split_seed", value, "expected a non-negative integer")
    return value


def _kind(value: Any, where: _Where) -> str:
    if value not in KINDS:
        raise where.error("kind", value, f"expected one of {list(KINDS)}")
    return value


def _labels(value: Any, where: _Where) -> tuple[list[str] | None, dict[str, str] | None]:
    """``labels``: the label names in order (a list, or ``a,b,c``), or a mapping raw -> label."""
    if value is None:
        return None, None
    if isinstance(value, Mapping):
        mapping = {}
        for raw, label in value.items():
            if not isinstance(label, (str, int, float)) or isinstance(label, bool) or not str(label).strip():
                raise where.error("labels", {raw: label}, "expected a label name for each raw value (labels: {sci_tech: Sci/Tech})")
            mapping[datafiles.raw_text(raw)] = str(label).strip()
        return None, mapping
    names = _names(value, "labels", where)
    if len(names) < 2:
        raise where.error("labels", value, "a classification task needs at least 2 labels")
    return names, None


def _metrics(value: Any, kind: str, where: _Where) -> list[str]:
    if value is None:
        return ["accuracy", "macro_f1"] if kind == "classification" else ["pearson", "spearman"]
    names = _names(value, "metrics", where)
    unknown = [n for n in names if n not in METRICS]
    if unknown:
        raise where.error("metrics", value, f"unknown metric(s) {unknown}; known: {sorted(METRICS)}")
    return names


def _check_keys(opts: Mapping[str, Any], allowed: set[str], what: str, where: _Where) -> None:
    for key in opts:
        if key not in allowed:
            raise where.error(key, None, f"does not apply to {what}")


# ----------------------------------------------------------------------------- label names
def _inferred_label_names(spec: dict[str, Any], mapping: dict[str, str] | None, kind_given: bool, where: _Where,
                          class_names: list[str] | None = None) -> list[str]:
    """The distinct labels of the training data (through ``mapping``), numbers in numeric order,
    or a dataset's ClassLabel names in their order."""
    mapping = mapping or {}
    if class_names:
        names: list[str] = []
        for raw in class_names:
            label = mapping.get(datafiles.raw_text(raw), datafiles.raw_text(raw))
            if label not in names:
                names.append(label)
        return names
    values = datafiles.label_values(spec)
    if not kind_given:
        for raw, path, line in values:
            try:
                number = float(raw)
            except ValueError:
                break
            if not number.is_integer():
                raise DataFormatError(path, line, spec["label_field"], f"label {raw!r} is a non-integer number; for a numeric "
                                      f"target pass {where.name('kind')} regression, or {where.name('kind')} classification "
                                      "to keep such values as class names")
    seen: dict[str, tuple[str, int]] = {}
    for raw, path, line in values:
        seen.setdefault(mapping.get(raw, raw), (path, line))
    if len(seen) < 2:
        raise TaskError(f"{spec.get('train') or spec.get('dataset')}: column {spec['label_field']!r} has {len(seen)} distinct "
                        f"label(s) {sorted(seen)}; classification needs at least 2 (for a numeric target pass "
                        f"{where.name('kind')} regression)")
    return sorted(seen, key=datafiles.label_order)


# ----------------------------------------------------------------------------- builders
def _files_spec(opts: dict[str, Any], where: _Where, base: Path, default_name: str | None) -> dict[str, Any]:
    _check_keys(opts, _FILE_KEYS, "a CSV/TSV/JSONL --train file", where)
    train = _path(opts["train"], "train", where, base)
    if not train.is_file():
        raise where.error("train", str(train), "no such file or folder")
    eval_path = None
    if opts.get("eval") is not None:
        eval_path = _path(opts["eval"], "eval", where, base)
        if eval_path.is_dir():
            raise where.error("eval", str(eval_path), "is a folder; with a --train file, --eval is a file too")
        if not eval_path.is_file():
            raise where.error("eval", str(eval_path), "no such file")
        if opts.get("eval_fraction") is not None:
            raise where.error("eval_fraction", opts["eval_fraction"], f"give {where.name('eval')} (your own eval file) or "
                              f"{where.name('eval_fraction')} (a held-out share of train), not both")
    fmt_given = opts.get("format")
    if fmt_given is not None and fmt_given not in datafiles.FILE_FORMATS:
        raise where.error("format", fmt_given, f"expected one of {list(datafiles.FILE_FORMATS)}")
    try:
        fmt = datafiles.file_format(train, fmt_given)
        eval_fmt = None if eval_path is None else datafiles.file_format(eval_path, fmt_given)
    except datafiles.DataFileError as exc:
        raise _data_error(exc) from None
    columns = _names(opts.get("columns"), "columns", where)
    if columns and fmt == "jsonl":
        raise where.error("columns", ",".join(columns), "names the columns of a headerless CSV/TSV file; JSONL rows name their own keys")
    kind_given = opts.get("kind") is not None
    kind = _kind(opts.get("kind", "classification"), where)
    text_fields = _names(opts.get("text_fields"), "text_fields", where) or ["text"]
    label_field = opts.get("label_field") or "label"
    if not isinstance(label_field, str):
        raise where.error("label_field", label_field, "expected one column name")
    if label_field in text_fields:
        raise where.error("label_field", label_field, f"is also a text field ({','.join(text_fields)}); name two different columns")
    if columns:
        for field, key in [*((f, "text_fields") for f in text_fields), (label_field, "label_field")]:
            if field not in columns:
                raise where.error("columns", ",".join(columns), f"names no column {field!r}; add it, or pass "
                                  f"{where.name(key)} naming one of {columns}")
    quoting = opts.get("quoting")
    if quoting is not None and not isinstance(quoting, bool):
        raise where.error("quoting", quoting, "expected true or false")
    labels, mapping = _labels(opts.get("labels"), where)
    if kind == "regression" and (labels or mapping):
        raise where.error("labels", opts.get("labels"), "applies to classification; a regression's labels are numbers")
    spec: dict[str, Any] = {
        "format_version": SPEC_VERSION,
        "source": "files",
        "name": opts.get("name") or default_name or f"custom/{train.stem}",
        "train": str(train),
        "eval": None if eval_path is None else str(eval_path),
        "eval_fraction": None if eval_path is not None else _fraction(opts.get("eval_fraction", datafiles.DEFAULT_EVAL_FRACTION), where),
        "split_seed": _seed(opts.get("split_seed", 0), where),
        "format": fmt,
        "eval_format": eval_fmt,
        "columns": columns,
        "quoting": quoting,
        "text_fields": text_fields,
        "label_field": label_field,
        "kind": kind,
        "labels": mapping,
        "label_names": [],
        "metrics": _metrics(opts.get("metrics"), kind, where),
    }
    try:
        for path, file_fmt in ((train, fmt), (eval_path, eval_fmt)):
            if path is not None:
                first = datafiles.header(path, file_fmt, columns, quoting)
                datafiles.check_fields(path, file_fmt, first, text_fields, label_field, columns)
        if kind == "classification":
            spec["label_names"] = labels or _inferred_label_names(spec, mapping, kind_given, where)
    except datafiles.DataFileError as exc:
        raise _data_error(exc) from None
    return spec


def _folder_spec(opts: dict[str, Any], where: _Where, base: Path, default_name: str | None) -> dict[str, Any]:
    _check_keys(opts, _FOLDER_KEYS, "a folder of class folders (each file is one example's text, its folder the label)", where)
    if opts.get("kind", "classification") != "classification":
        raise where.error("kind", opts["kind"], "a folder of class folders is a classification task")
    root = _path(opts["train"], "train", where, base)
    eval_root = None if opts.get("eval") is None else _path(opts["eval"], "eval", where, base)
    if eval_root is not None and opts.get("eval_fraction") is not None:
        raise where.error("eval_fraction", opts["eval_fraction"], f"give {where.name('eval')} or {where.name('eval_fraction')}, not both")
    labels, mapping = _labels(opts.get("labels"), where)
    fraction = None if opts.get("eval_fraction") is None else _fraction(opts["eval_fraction"], where)
    try:
        return folder_spec(root, name=opts.get("name") or default_name, eval_root=eval_root, labels=mapping or labels,
                           eval_fraction=fraction, metrics=_metrics(opts.get("metrics"), "classification", where),
                           where=f"{where.prefix}{where.name('train')}")
    except datafiles.DataFileError as exc:
        raise _data_error(exc) from None


def _is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and any((path / name).is_file() for name in ("dataset_dict.json", "state.json"))


def _dataset_spec(opts: dict[str, Any], where: _Where, base: Path, default_name: str | None) -> dict[str, Any]:
    _check_keys(opts, _DATASET_KEYS, "a dataset (datasets.load_dataset or a saved one)", where)
    dataset = opts["dataset"]
    if not isinstance(dataset, (str, os.PathLike)) or not str(dataset).strip():
        raise where.error("dataset", dataset, "expected a datasets id (ag_news), a dataset script or a Dataset.save_to_disk folder")
    local = Path(str(dataset)).expanduser()
    local = local if local.is_absolute() else base / local
    saved = _is_saved_dataset(local)
    ident = str(local.resolve()) if local.exists() else str(dataset)
    if opts.get("eval_split") is not None and opts.get("eval_fraction") is not None:
        raise where.error("eval_fraction", opts["eval_fraction"], f"give {where.name('eval_split')} or {where.name('eval_fraction')}, not both")
    kind_given = opts.get("kind") is not None
    kind = _kind(opts.get("kind", "classification"), where)
    text_fields = _names(opts.get("text_fields"), "text_fields", where) or ["text"]
    label_field = opts.get("label_field") or "label"
    labels, mapping = _labels(opts.get("labels"), where)
    spec: dict[str, Any] = {
        "format_version": SPEC_VERSION,
        "source": "dataset",
        "name": opts.get("name") or default_name or Path(str(dataset)).name or str(dataset),
        "dataset": ident,
        "saved": saved,
        "config": opts.get("config"),
        "train_split": str(opts.get("train_split") or "train"),
        "eval_split": None if opts.get("eval_split") is None else str(opts["eval_split"]),
        "eval_fraction": None if opts.get("eval_split") is not None else _fraction(opts.get("eval_fraction", datafiles.DEFAULT_EVAL_FRACTION), where),
        "split_seed": _seed(opts.get("split_seed", 0), where),
        "text_fields": text_fields,
        "label_field": str(label_field),
        "kind": kind,
        "labels": mapping,
        "label_names": [],
        "metrics": _metrics(opts.get("metrics"), kind, where),
    }
    try:
        class_names = datafiles.dataset_class_names(spec)
        if kind == "classification":
            spec["label_names"] = labels or _inferred_label_names(spec, mapping, kind_given, where, class_names)
    except datafiles.DataFileError as exc:
        raise _data_error(exc) from None
    return spec


def spec_from_options(options: Mapping[str, Any], *, base_dir: Any = None, origin: str = "dict", file: Path | None = None,
                      default_name: str | None = None) -> dict[str, Any]:
    """The complete task spec of task-file keys (``options``; see the module docstring).

    ``base_dir``: what relative paths are relative to (the task file's folder; default the
    working directory). ``origin`` (``cli``, ``file`` or ``dict``) picks how errors name an
    option (``--columns`` or ``columns``). Reads the training data's first row (to check the
    columns) and its labels (the label names, unless ``labels`` lists them).
    """
    where = _Where(origin, file)
    if not isinstance(options, Mapping):
        raise TaskError(f"{where.prefix}expected a mapping of task keys (train:, text_fields:, ...), got {type(options).__name__}")
    for key in options:
        if key not in OPTION_FLAGS:
            close = difflib.get_close_matches(str(key), list(OPTION_FLAGS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {sorted(OPTION_FLAGS)}"
            raise TaskError(f"{where.prefix}unknown key {key!r}{hint}")
    opts = {key: value for key, value in options.items() if value is not None}
    version = opts.pop("format_version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise where.error("format_version", version, f"this autopeft reads task files of format_version {SPEC_VERSION}")
    given = [key for key in ("task", "train", "dataset") if key in opts]
    if len(given) != 1:
        names = ", ".join(where.name(k) for k in ("task", "train", "dataset"))
        problem = "give only one of" if given else "give one of"
        raise TaskError(f"{where.prefix}{problem} {names} (a task name, your training data, or a datasets id)")
    base = Path(base_dir).resolve() if base_dir is not None else Path.cwd()
    if given[0] == "task":
        _check_keys(opts, {"task", "data_dir"}, f"the named task {opts['task']!r} (it defines its own files and fields)", where)
        data_dir = None if opts.get("data_dir") is None else str(_path(opts["data_dir"], "data_dir", where, base))
        return _named_spec(str(opts["task"]), data_dir, base)
    if "data_dir" in opts:
        raise where.error("data_dir", opts["data_dir"], f"applies to named tasks (glue/..., superglue/...); your files are "
                          f"named by {where.name(given[0])}")
    if given[0] == "dataset":
        return _dataset_spec(opts, where, base, default_name)
    train = _path(opts["train"], "train", where, base)
    if train.is_dir():
        return _folder_spec(opts, where, base, default_name)
    return _files_spec(opts, where, base, default_name)


def load_task_file(path: Any) -> dict[str, Any]:
    """The task spec of a task file (YAML, the keys of the module docstring)."""
    file = Path(str(path)).expanduser().resolve()
    if not file.is_file():
        raise TaskError(f"task file {str(path)!r}: no such file")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise TaskError(f"task file {str(file)!r}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, Mapping):
        raise TaskError(f"task file {str(file)!r}: expected a mapping of keys (train:, text_fields:, label_field:, ...), "
                        f"got {type(data).__name__}")
    return spec_from_options(data, base_dir=file.parent, origin="file", file=file, default_name=f"custom/{file.stem}")


def _registry_spec(name: str, data_dir: str | None) -> dict[str, Any]:
    spec = resolve_name(name)  # raises UnknownTaskError / TaskError (ambiguous)
    return {"format_version": SPEC_VERSION, "source": "registry", "name": spec.name,
            "data_dir": None if data_dir is None else str(Path(data_dir).expanduser().resolve())}


def is_registry_name(name: str) -> bool:
    """Whether ``name`` is a registry task (``glue/rte``, or a bare name such as ``sst2``)."""
    return name in TASKS or any(key.split("/", 1)[1] == name for key in TASKS)


def _named_spec(name: str, data_dir: str | None, base: Path) -> dict[str, Any]:
    """The spec of a string reference: a packaged dataset, ``folder:ROOT``, a task file, a
    registry name (before any file of that name), then a data file or a folder."""
    path = Path(name).expanduser()
    path = path if path.is_absolute() else base / path
    registry = is_registry_name(name)
    own_files = name in PACKAGED or name.startswith("folder:") or path.suffix.lower() in TASK_FILE_SUFFIXES or (
        not registry and (path.suffix.lower() in datafiles.FORMAT_BY_SUFFIX or path.is_dir()))
    if data_dir is not None and own_files:
        raise TaskError(f"--data-dir applies to named tasks (glue/..., superglue/...); {name!r} reads its own files")
    if name in PACKAGED:
        return packaged_spec(name)
    if name.startswith("folder:"):
        root = Path(name.split(":", 1)[1]).expanduser()
        root = root if root.is_absolute() else base / root
        if not root.is_dir():
            raise TaskError(f"--task {name!r}: no such folder {str(root)!r}")
        return folder_spec(root, where=f"--task {name!r}:")
    if path.suffix.lower() in TASK_FILE_SUFFIXES:
        return load_task_file(path)
    if own_files:
        if not path.exists():
            raise TaskError(f"--task {name!r}: no such file")
        return spec_from_options({"train": str(path)}, origin="cli")
    return _registry_spec(name, data_dir)


def check_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a complete task spec (as a study records it), checked for its keys."""
    source = spec.get("source")
    if source not in SPEC_KEYS:
        raise TaskError(f"task spec: source {source!r}: expected one of {list(SPEC_KEYS)}")
    version = spec.get("format_version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise TaskError(f"task spec: format_version {version!r}: this autopeft reads version {SPEC_VERSION}")
    unknown = sorted(set(spec) - SPEC_KEYS[source])
    if unknown:
        raise TaskError(f"task spec ({source}): unknown key(s) {unknown}; known: {sorted(SPEC_KEYS[source])}")
    out = copy.deepcopy(dict(spec))
    out.setdefault("format_version", SPEC_VERSION)
    if source == "registry":
        if not isinstance(out.get("name"), str):
            raise TaskError("task spec (registry): name must be a task name such as glue/rte")
        return out
    required = {"files": ("train", "text_fields", "label_field", "kind"), "folder": ("train",),
                "dataset": ("dataset", "text_fields", "label_field", "kind")}[source]
    missing = [key for key in required if out.get(key) in (None, "", [])]
    if missing:
        raise TaskError(f"task spec ({source}): missing {missing}")
    out.setdefault("kind", "classification")
    out.setdefault("text_fields", ["text"])
    out.setdefault("label_field", "label")
    if out["kind"] not in KINDS:
        raise TaskError(f"task spec: kind {out['kind']!r}: expected one of {list(KINDS)}")
    if out["kind"] == "classification" and len(out.get("label_names") or ()) < 2:
        raise TaskError(f"task spec ({source}): label_names {out.get('label_names')!r}: a classification spec lists its labels "
                        "(build it with autopeft.tasks.task_spec, which reads them from the data)")
    if source == "files":
        out.setdefault("format", datafiles.FORMAT_BY_SUFFIX.get(Path(out["train"]).suffix.lower()))
        if out.get("eval") and not out.get("eval_format"):
            out["eval_format"] = datafiles.FORMAT_BY_SUFFIX.get(Path(out["eval"]).suffix.lower(), out["format"])
    out.setdefault("metrics", ["accuracy", "macro_f1"] if out["kind"] == "classification" else ["pearson", "spearman"])
    return out


# ----------------------------------------------------------------------------- entry points
def task_spec(ref: Any, data_dir: Any = None) -> dict[str, Any]:
    """The complete task spec of a task reference (see the module docstring).

    ``data_dir`` serves registry tasks only (the folder holding ``glue/`` and ``superglue/``);
    it is recorded as an absolute path and not checked here (an export of a study searched on
    another machine needs the spec, not the files).
    """
    data_dir = None if data_dir is None else str(data_dir)
    if isinstance(ref, Task):
        spec = ref.to_spec()
        if data_dir is not None:
            if spec["source"] != "registry":
                raise TaskError(f"--data-dir applies to named tasks (glue/..., superglue/...); {ref.name!r} reads its own files")
            spec["data_dir"] = str(Path(data_dir).expanduser().resolve())
        return spec
    if isinstance(ref, Mapping):
        if "source" in ref:
            spec = check_spec(ref)
            if data_dir is not None:
                if spec["source"] != "registry":
                    raise TaskError(f"--data-dir applies to named tasks (glue/..., superglue/...); {spec['name']!r} reads its own files")
                spec["data_dir"] = str(Path(data_dir).expanduser().resolve())
            return spec
        options = dict(ref)
        if data_dir is not None:
            options.setdefault("data_dir", data_dir)
        return spec_from_options(options)
    if isinstance(ref, (str, os.PathLike)) and str(ref).strip():
        return _named_spec(str(ref), data_dir, Path.cwd())
    raise TaskError(f"task: expected a task name (glue/rte, bbcnews, folder:ROOT), a task file, a spec dict or a Task, got {ref!r}")


def task_from_spec(spec: Mapping[str, Any], *, check_data_dir: bool = True) -> Task:
    """The :class:`Task` of a complete spec. ``check_data_dir=False`` skips the registry check
    that ``data_dir`` exists (export reads the spec only)."""
    spec = check_spec(spec)
    if spec["source"] == "registry":
        if check_data_dir:
            return get_task(spec["name"], data_dir=spec.get("data_dir"))
        return Task(TASKS[resolve_name(spec["name"]).name], data_dir=spec.get("data_dir"))
    return SourceTask.from_spec(spec)


def resolve_task(ref: Any, data_dir: Any = None) -> Task:
    """The :class:`Task` of any task reference: the one entry point the search driver, its
    workers, ``evaluate``, ``calibrate`` and ``export`` use. Reading the examples is left to
    ``task.load_split``; see :func:`check_task_data` to read them now."""
    if isinstance(ref, Task) and data_dir is None:
        return ref
    return task_from_spec(task_spec(ref, data_dir))


def check_task_data(task: Task) -> dict[str, int]:
    """Read both splits of a task on local files (files, folders, datasets) so that a bad row
    fails now, naming its file, line and column, rather than in every trial. Registry tasks are
    not read (the hub may be slow or offline; their files are checked when a trial reads them).
    Returns the example count per split (empty for registry tasks)."""
    if not isinstance(task, SourceTask):
        return {}
    return {split: len(task.load_split(split)) for split in ("train", "validation")}


def task_label(ref: Any, spec: Mapping[str, Any]) -> str:
    """What a study, a calibration and an export call the task: a registry name as typed
    (``sst2``), else the spec's name (``bbcnews``, ``folder:/abs/root``, ``custom/my``)."""
    if isinstance(ref, str) and spec.get("source") == "registry":
        return ref
    return str(spec.get("name"))


def describe_source(spec: Mapping[str, Any] | None) -> str | None:
    """One line saying where a spec's examples come from (the dashboard's *data source*)."""
    if not spec:
        return None
    source = spec.get("source")
    if source == "files":
        split = f"eval {spec['eval']}" if spec.get("eval") else f"{spec.get('eval_fraction')} held out"
        return f"local files: {spec['train']} ({split})"
    if source == "folder":
        if spec.get("package"):
            return f"local files: package {spec['package'][0]} ({spec['package'][1]})"
        return f"local files: folder {spec['train']}" + (f" (eval {spec['eval']})" if spec.get("eval") else "")
    if source == "dataset":
        return f"{'saved dataset' if spec.get('saved') else 'datasets.load_dataset'} {spec['dataset']}"
    return None
