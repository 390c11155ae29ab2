"""The registry of GLUE and SuperGLUE tasks, ``get_task`` and ``custom_task``.

Other references (``bbcnews``, ``folder:ROOT``, task files, your own files, datasets) resolve
through :func:`autopeft.tasks.resolve_task`, which uses this registry for names.

Names are ``glue/<task>`` and ``superglue/<task>``; a bare name (``sst2``) works when only one
benchmark has it (``rte`` is in both, so it needs the prefix).

Main metrics (the proxy ``score``): Matthews correlation for CoLA, F1 of the positive class for
MRPC and QQP (accuracy is reported too), Pearson for STS-B (Spearman too), macro-F1 for CB
(accuracy too), accuracy otherwise.

Local formats (``data_dir``), as distributed and as in the offline copies:

* GLUE: ``<root>/glue/<task>/{train,validation}.tsv`` (``dev.tsv`` also accepted). Header
  lines except CoLA and STS-B, which are headerless (CoLA: ``source, label, original_label,
  sentence``; STS-B: ``genre, file, year, id, score, sentence1, sentence2[, extra...]``).
  MRPC's header is ``Quality, #1 ID, #2 ID, #1 String, #2 String`` after a byte-order mark;
  RTE/QNLI/MNLI labels are strings. MNLI's validation is the matched dev set.
* SuperGLUE: ``<root>/superglue/<task>/{train,train32,val}.jsonl`` (the full ``train.jsonl`` is
  preferred over the 32-example ``train32.jsonl`` when both exist).

COPA proxy formulation: one binary example per question; the first text is
``"<premise> What was the <cause|effect>?"`` and the second ``"1: <choice1> 2: <choice2>"``;
the label says which choice is right. Its accuracy is COPA's official accuracy. WiC's three text
fields (word, sentence1, sentence2) are tokenised as ``"<word>: <sentence1>"`` paired with
``<sentence2>`` (see ``autopeft.proxy``: every field but the last forms the first segment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from autopeft.tasks.datafiles import FORMAT_BY_SUFFIX
from autopeft.tasks.errors import TaskError, UnknownTaskError
from autopeft.tasks.readers import read_jsonl, tsv_reader
from autopeft.tasks.task import KINDS, HubSource, LocalSource, Task, TaskSpec

GLUE_HUB = "nyu-mll/glue"
SUPERGLUE_HUB = "aps/super_glue"

_GLUE_FILES = {"train": ("train.tsv",), "validation": ("validation.tsv", "dev.tsv")}
_SUPERGLUE_FILES = {"train": ("train.jsonl", "train32.jsonl"), "validation": ("val.jsonl", "validation.jsonl")}


def _glue(
    task: str,
    kind: str,
    fields: tuple[str, ...],
    labels: tuple[str, ...],
    metrics: tuple[str, ...],
    local_columns: Mapping[str, str | int],
    *,
    header: bool = True,
    validation_split: str = "validation",
    files: Mapping[str, tuple[str, ...]] = _GLUE_FILES,
    description: str = "",
) -> TaskSpec:
    return TaskSpec(
        name=f"glue/{task}",
        kind=kind,
        text_fields=fields,
        label_names=labels,
        metrics=metrics,
        main_metric=metrics[0],
        hub=HubSource(GLUE_HUB, task, {"train": "train", "validation": validation_split}, {**{f: f for f in fields}, "label": "label"}),
        local=LocalSource(files, tsv_reader(header), local_columns, folder=f"glue/{task}"),
        description=description,
    )


def _superglue(
    task: str, fields: tuple[str, ...], labels: tuple[str, ...], metrics: tuple[str, ...] = ("accuracy",), *, description: str = "", transform=None
) -> TaskSpec:
    columns = {**{f: f for f in fields}, "label": "label"}
    return TaskSpec(
        name=f"superglue/{task}",
        kind="classification",
        text_fields=fields,
        label_names=labels,
        metrics=metrics,
        main_metric=metrics[0],
        hub=HubSource(SUPERGLUE_HUB, task, {"train": "train", "validation": "validation"}, columns),
        local=LocalSource(_SUPERGLUE_FILES, read_jsonl, columns, folder=f"superglue/{task}"),
        description=description,
        transform=transform,
    )


def _copa_transform(record: dict) -> dict:
    """COPA as one binary example: which of the two choices follows the premise."""
    question = record["question"]
    return {
        "premise_question": f"{record['premise']} What was the {question}?",
        "choices": f"1: {record['choice1']} 2: {record['choice2']}",
        "label": record["label"],
    }


_ENTAIL2 = ("entailment", "not_entailment")
_PAIR = ("sentence1", "sentence2")

_SPECS: list[TaskSpec] = [
    _glue("cola", "classification", ("sentence",), ("unacceptable", "acceptable"), ("matthews_correlation", "accuracy"),
          {"sentence": 3, "label": 1}, header=False, description="CoLA grammatical acceptability"),
    _glue("sst2", "classification", ("sentence",), ("negative", "positive"), ("accuracy",),
          {"sentence": "sentence", "label": "label"}, description="SST-2 sentiment"),
    _glue("mrpc", "classification", _PAIR, ("not_equivalent", "equivalent"), ("f1", "accuracy"),
          {"sentence1": "#1 String", "sentence2": "#2 String", "label": "Quality"}, description="MRPC paraphrase"),
    _glue("qqp", "classification", ("question1", "question2"), ("not_duplicate", "duplicate"), ("f1", "accuracy"),
          {"question1": "question1", "question2": "question2", "label": "is_duplicate"}, description="QQP duplicate questions"),
    _glue("stsb", "regression", _PAIR, (), ("pearson", "spearman"),
          {"sentence1": 5, "sentence2": 6, "label": 4}, header=False, description="STS-B similarity 0-5"),
    _glue("mnli", "classification", ("premise", "hypothesis"), ("entailment", "neutral", "contradiction"), ("accuracy",),
          {"premise": "sentence1", "hypothesis": "sentence2", "label": "gold_label"}, validation_split="validation_matched",
          files={"train": ("train.tsv",), "validation": ("validation_matched.tsv", "dev_matched.tsv", "validation.tsv")},
          description="MNLI (matched validation)"),
    _glue("qnli", "classification", ("question", "sentence"), _ENTAIL2, ("accuracy",),
          {"question": "question", "sentence": "sentence", "label": "label"}, description="QNLI"),
    _glue("rte", "classification", _PAIR, _ENTAIL2, ("accuracy",),
          {"sentence1": "sentence1", "sentence2": "sentence2", "label": "label"}, description="RTE entailment"),
    _glue("wnli", "classification", _PAIR, ("not_entailment", "entailment"), ("accuracy",),
          {"sentence1": "sentence1", "sentence2": "sentence2", "label": "label"}, description="WNLI"),
    _superglue("boolq", ("question", "passage"), ("False", "True"), description="BoolQ yes/no questions"),
    _superglue("cb", ("premise", "hypothesis"), ("entailment", "contradiction", "neutral"), ("macro_f1", "accuracy"),
               description="CommitmentBank"),
    _superglue("rte", ("premise", "hypothesis"), _ENTAIL2, description="RTE (SuperGLUE format)"),
    _superglue("wic", ("word", "sentence1", "sentence2"), ("False", "True"), description="Word-in-Context"),
    _superglue("copa", ("premise_question", "choices"), ("choice1", "choice2"), transform=_copa_transform,
               description="COPA as binary choice (see module docstring)"),
]

#: Task name -> spec.
TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in _SPECS}


def task_names() -> list[str]:
    return sorted(TASKS)


def resolve_name(name: str) -> TaskSpec:
    """The registry spec of ``name`` (``glue/rte``, or a bare name only one benchmark has)."""
    if name in TASKS:
        return TASKS[name]
    matches = [spec for key, spec in TASKS.items() if key.split("/", 1)[1] == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise TaskError(f"task {name!r} is ambiguous; use one of {[spec.name for spec in matches]}")
    raise UnknownTaskError(
        f"unknown task {name!r}; known tasks: {task_names()}, bbcnews, folder:ROOT (ROOT/LABEL/*.txt); for your own data "
        "pass --train FILE [--eval FILE] --text-fields F --label-field L [--columns C1,C2 for a headerless file], "
        "or --task FILE.yaml (a task file; see README, 'Your own data')"
    )


_resolve_name = resolve_name


def get_task(name: str, data_dir: str | None = None) -> Task:
    """The task ``name`` (``glue/rte``), reading the hub, or local files under ``data_dir``
    (the folder holding ``glue/`` and ``superglue/``, or the task's own folder)."""
    if not isinstance(name, str):
        raise TaskError(f"task name: expected a string such as 'glue/rte', got {name!r}")
    spec = resolve_name(name)
    if data_dir is not None and not Path(data_dir).is_dir():
        raise TaskError(f"data_dir {str(data_dir)!r} is not a folder; point it at the folder holding glue/ and superglue/")
    return Task(spec, data_dir=None if data_dir is None else str(data_dir))


def custom_task(
    train_path: str,
    eval_path: str | None,
    text_fields: Sequence[str],
    label_field: str,
    kind: str,
    *,
    label_names: Sequence[str] | None = None,
    name: str | None = None,
    metrics: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    eval_fraction: float | None = None,
) -> Task:
    """A task from your own CSV, TSV or JSONL files (format by extension).

    ``columns`` names the columns of a headerless CSV/TSV file; without it the first row is the
    header. ``eval_path=None`` holds out ``eval_fraction`` (0.2) of the training file,
    stratified and deterministic. Classification labels are the distinct values of
    ``label_field`` in the training file (sorted; numbers numerically) unless ``label_names`` is
    given. Metrics default to accuracy and macro-F1 (classification) or Pearson and Spearman
    (regression); the first is the score. The same as :func:`autopeft.tasks.resolve_task` on a
    dict of task-file keys; the task's ``to_spec()`` is what a study records.
    """
    from autopeft.tasks.resolve import resolve_task  # resolve imports this module

    if kind not in KINDS:
        raise TaskError(f"kind: expected one of {list(KINDS)}, got {kind!r}")
    if isinstance(text_fields, str) or not text_fields:
        raise TaskError(f"text_fields: expected a non-empty list of column names, got {text_fields!r}")
    for split, path in (("train", train_path), ("validation", eval_path)):
        if path is None:
            continue
        path = Path(path)
        if path.suffix.lower() not in FORMAT_BY_SUFFIX:
            raise TaskError(f"{split} file {str(path)!r}: unsupported extension {path.suffix!r}; use one of {sorted(FORMAT_BY_SUFFIX)}")
        if not path.is_file():
            raise TaskError(f"{split} file {str(path)!r} does not exist")
    options = {
        "name": name, "train": str(train_path), "eval": None if eval_path is None else str(eval_path),
        "eval_fraction": eval_fraction, "columns": None if columns is None else list(columns),
        "text_fields": list(text_fields), "label_field": label_field, "kind": kind,
        "labels": None if label_names is None else [str(label) for label in label_names],
        "metrics": None if metrics is None else list(metrics),
    }
    return resolve_task(options)
