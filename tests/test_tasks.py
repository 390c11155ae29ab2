"""Tasks: every local format in ../shared/data loads with its documented row counts; custom
files; errors name the file, the line and the column; the hub path converts records."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from autopeft.tasks import DataFormatError, TaskError, custom_task, get_task, task_names

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not present")

#: (task, train rows, validation rows) as documented in ../shared/data/README.md.
DOCUMENTED_ROWS = [
    ("glue/sst2", 67349, 872),
    ("glue/mrpc", 3668, 408),
    ("glue/rte", 2489, 277),
    ("glue/cola", 8551, 1043),
    ("glue/stsb", 5749, 1500),
    ("superglue/cb", 32, 56),
    ("superglue/rte", 32, 277),
    ("superglue/boolq", 32, 3270),
    ("superglue/copa", 32, 100),
    ("superglue/wic", 32, 638),
]


@needs_data
@pytest.mark.parametrize("name,train_rows,validation_rows", DOCUMENTED_ROWS)
def test_shared_data_row_counts(name, train_rows, validation_rows):
    task = get_task(name, str(SHARED_DATA))
    train, validation = task.load_split("train"), task.load_split("validation")
    assert (len(train), len(validation)) == (train_rows, validation_rows)
    for example in (train[0], validation[-1]):
        assert set(example) == {*task.text_fields, "label"}
        assert all(isinstance(example[f], str) and example[f] for f in task.text_fields)
        if task.kind == "classification":
            assert example["label"] in range(task.num_labels)
    if task.kind == "classification":  # every class occurs in the validation set
        assert {e["label"] for e in validation} == set(range(task.num_labels))


@needs_data
def test_mrpc_bom_header_and_quotes():
    task = get_task("glue/mrpc", str(SHARED_DATA))
    first = task.load_split("train")[0]
    assert first["sentence1"].startswith("Amrozi accused his brother")
    assert first["label"] == 1  # Quality 1 = equivalent
    # literal quotes stay part of the text (no CSV unquoting in GLUE TSVs)
    assert task.load_split("validation")[0]["sentence2"].startswith('"The foodservice pie')


@needs_data
def test_cola_headerless_and_last_line_without_newline():
    validation = get_task("glue/cola", str(SHARED_DATA)).load_split("validation")
    assert validation[0] == {"sentence": "The sailors rode the breeze clear of the rocks.", "label": 1}
    assert validation[-1]["sentence"].endswith("Bill about himself.")


@needs_data
def test_stsb_regression_and_rows_with_extra_columns():
    task = get_task("glue/stsb", str(SHARED_DATA))
    assert (task.kind, task.num_labels, task.label_names) == ("regression", 1, ())
    train = task.load_split("train")
    assert train[0] == {"sentence1": "A plane is taking off.", "sentence2": "An air plane is taking off.", "label": 5.0}
    assert all(0.0 <= e["label"] <= 5.0 for e in train)
    # the rows with 9 columns parse the same way (score in column 4, sentences in 5 and 6)
    path = SHARED_DATA / "glue/stsb/train.tsv"
    lines = path.read_text(encoding="utf-8").splitlines()
    wide = [i for i, line in enumerate(lines) if len(line.split("\t")) == 9]
    assert wide
    columns = lines[wide[0]].split("\t")
    assert train[wide[0]] == {"sentence1": columns[5], "sentence2": columns[6], "label": float(columns[4])}


@needs_data
def test_string_and_boolean_labels():
    rte = get_task("glue/rte", str(SHARED_DATA))
    assert rte.load_split("train")[0]["label"] == rte.label_names.index("not_entailment") == 1
    cb = get_task("superglue/cb", str(SHARED_DATA))
    assert cb.load_split("validation")[0]["label"] == cb.label_names.index("contradiction")
    wic = get_task("superglue/wic", str(SHARED_DATA))
    assert wic.load_split("train")[0]["label"] == 1  # "label": true
    assert wic.text_fields == ("word", "sentence1", "sentence2")


@needs_data
def test_copa_binary_choice_formulation():
    task = get_task("superglue/copa", str(SHARED_DATA))
    example = task.load_split("validation")[0]
    assert example == {
        "premise_question": "The man turned on the faucet. What was the effect?",
        "choices": "1: The toilet filled with water. 2: Water flowed from the spout.",
        "label": 1,
    }
    assert task.num_labels == 2 and task.main_metric == "accuracy"


@needs_data
def test_data_dir_may_be_the_task_folder():
    task = get_task("glue/rte", str(SHARED_DATA / "glue" / "rte"))
    assert len(task.load_split("validation")) == 277
    assert task.source_id("validation").startswith("file:") and "validation.tsv" in task.source_id("validation")


def test_all_benchmark_tasks_registered():
    glue = ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli"]
    superglue = ["boolq", "cb", "rte", "wic", "copa"]
    assert sorted(task_names()) == sorted([f"glue/{t}" for t in glue] + [f"superglue/{t}" for t in superglue])
    assert get_task("glue/mnli").num_labels == 3


def test_unknown_and_ambiguous_names():
    with pytest.raises(TaskError, match=r"unknown task 'glue/nope'.*'glue/cola'"):
        get_task("glue/nope")
    with pytest.raises(TaskError, match=r"ambiguous.*glue/rte.*superglue/rte"):
        get_task("rte")
    assert get_task("sst2").name == "glue/sst2"


def test_missing_data(tmp_path):
    with pytest.raises(TaskError, match="is not a folder"):
        get_task("glue/rte", str(tmp_path / "absent"))
    task = get_task("glue/rte", str(tmp_path))
    with pytest.raises(TaskError, match=r"no train file found; tried .*glue/rte/train.tsv"):
        task.load_split("train")
    with pytest.raises(TaskError, match="split 'test'"):
        task.load_split("test")


def test_local_glue_bad_label_names_file_line_column(tmp_path):
    folder = tmp_path / "glue" / "rte"
    folder.mkdir(parents=True)
    (folder / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\tc\td\tmaybe\n", encoding="utf-8")
    task = get_task("glue/rte", str(tmp_path))
    with pytest.raises(DataFormatError) as info:
        task.load_split("train")
    message = str(info.value)
    assert "train.tsv, line 3, column 'label'" in message and "'maybe'" in message
    assert info.value.line == 3 and info.value.column == "label"


def test_local_headerless_short_row(tmp_path):
    folder = tmp_path / "glue" / "stsb"
    folder.mkdir(parents=True)
    (folder / "train.tsv").write_text("g\tf\t2012\t1\t3.5\tA\tB\ng\tf\t2012\t2\t4.0\tonly one\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"line 2, column 6: missing: the row has 6 columns, expected at least 7"):
        get_task("glue/stsb", str(tmp_path)).load_split("train")
    (folder / "train.tsv").write_text("g\tf\t2012\t1\tfive\tA\tB\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"line 1, column 4: label 'five' is not a number"):
        get_task("glue/stsb", str(tmp_path)).load_split("train")


def test_bad_jsonl_line(tmp_path):
    folder = tmp_path / "superglue" / "cb"
    folder.mkdir(parents=True)
    good = json.dumps({"premise": "p", "hypothesis": "h", "label": "neutral"})
    (folder / "train32.jsonl").write_text(good + "\n{not json\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"train32.jsonl, line 2: not valid JSON"):
        get_task("superglue/cb", str(tmp_path)).load_split("train")
    (folder / "train32.jsonl").write_text(good + "\n" + json.dumps({"premise": "p", "label": "neutral"}) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"line 2, column 'hypothesis': missing; columns present: \['premise', 'label'\]"):
        get_task("superglue/cb", str(tmp_path)).load_split("train")


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_custom_csv_three_classes_sentence_pairs(tmp_path):
    train = _write(tmp_path / "train.csv", 'a,b,y\n"x, with comma",q,cat\nz,w,dog\nu,v,bird\n')
    dev = _write(tmp_path / "dev.csv", "a,b,y\nk,l,dog\n")
    task = custom_task(train, dev, ["a", "b"], "y", "classification")
    assert task.label_names == ("bird", "cat", "dog")  # sorted
    assert task.num_labels == 3 and task.main_metric == "accuracy"
    assert task.load_split("train")[0] == {"a": "x, with comma", "b": "q", "label": 1}
    assert task.load_split("validation") == [{"a": "k", "b": "l", "label": 2}]


def test_custom_tsv_regression_and_jsonl_numeric_labels(tmp_path):
    train = _write(tmp_path / "train.tsv", "text\tscore\nhello\t0.5\nworld\t1.5\n")
    task = custom_task(train, train, ["text"], "score", "regression")
    assert [e["label"] for e in task.load_split("train")] == [0.5, 1.5]
    assert task.num_labels == 1 and task.main_metric == "pearson"
    rows = [{"t": "a", "l": 10}, {"t": "b", "l": 2}, {"t": "c", "l": 2}]
    jsonl = _write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    task = custom_task(jsonl, jsonl, ["t"], "l", "classification")
    assert task.label_names == ("2", "10")  # numeric order
    assert [e["label"] for e in task.load_split("train")] == [1, 0, 0]


def test_custom_task_errors(tmp_path):
    train = _write(tmp_path / "train.csv", "text,label\na,0\nb,1\n")
    with pytest.raises(TaskError, match="kind: expected one of"):
        custom_task(train, train, ["text"], "label", "ranking")
    with pytest.raises(TaskError, match="unsupported extension '.txt'"):
        custom_task(_write(tmp_path / "x.txt", ""), train, ["text"], "label", "classification")
    with pytest.raises(TaskError, match="does not exist"):
        custom_task(str(tmp_path / "none.csv"), train, ["text"], "label", "classification")
    with pytest.raises(DataFormatError, match=r"train.csv, line 1, column 'target': not in the header \['text', 'label'\]; pass --label-field"):
        custom_task(train, train, ["text"], "target", "classification")
    bad = _write(tmp_path / "bad.csv", "text,label\na,0\n,1\nc,2\n")
    task = custom_task(train, bad, ["text"], "label", "classification")
    with pytest.raises(DataFormatError, match=r"bad.csv, line 4, column 'label': label '2' is not one of \['0', '1'\]"):
        task.load_split("validation")


def test_hub_is_the_default_source(monkeypatch):
    calls = []

    class FakeDatasets:
        @staticmethod
        def load_dataset(path, config, split):
            calls.append((path, config, split))
            return [{"premise": "p", "hypothesis": "h", "label": 2, "idx": 0}]

    monkeypatch.setitem(sys.modules, "datasets", FakeDatasets)
    task = get_task("glue/mnli")
    assert task.load_split("validation") == [{"premise": "p", "hypothesis": "h", "label": 2}]
    assert calls == [("nyu-mll/glue", "mnli", "validation_matched")]
    assert task.source_id("validation") == "hub:nyu-mll/glue:mnli:validation_matched"


def test_hub_failure_is_one_line(monkeypatch):
    class Offline:
        @staticmethod
        def load_dataset(*args, **kwargs):
            raise ConnectionError("no network")

    monkeypatch.setitem(sys.modules, "datasets", Offline)
    with pytest.raises(TaskError, match=r"load_dataset\('aps/super_glue', 'boolq'\) failed .*pass --data-dir"):
        get_task("superglue/boolq").load_split("train")


def test_import_is_light():
    import subprocess

    code = "import sys, autopeft.tasks, autopeft.proxy; print(any(m in sys.modules for m in ('torch', 'transformers', 'datasets')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_every_task_has_a_spec_that_rebuilds_it(tmp_path):
    from autopeft.tasks import Task, resolve_task, task_spec
    from autopeft.tasks.task import TaskSpec

    spec = get_task("glue/rte", str(tmp_path)).to_spec()
    assert spec == {"format_version": 1, "source": "registry", "name": "glue/rte", "data_dir": str(tmp_path.resolve())}
    assert resolve_task(spec).name == "glue/rte" and task_spec("sst2")["name"] == "glue/sst2"
    train = _write(tmp_path / "train.csv", "text,label\na,x\nb,y\nc,x\nd,y\ne,x\n")
    task = custom_task(train, None, ["text"], "label", "classification")
    assert resolve_task(json.loads(json.dumps(task.to_spec()))).load_split("train") == task.load_split("train")
    hand_made = Task(TaskSpec("mine", "classification", ("t",), ("a", "b"), ("accuracy",), "accuracy", None,
                              get_task("glue/rte").spec.local), files={"train": train, "validation": train})
    with pytest.raises(TaskError, match="was built by hand and has no spec"):
        hand_made.to_spec()


def test_one_label_parser_for_files_and_named_tasks():
    """``datafiles.parse_label`` is the parser of both a task on your own files and a named task
    (``Task._label``, through ``datafiles.example_of`` as the file rows); a named task also takes the index as text."""
    from autopeft.tasks.datafiles import LabelValueError, label_lookup, parse_label

    names = ("neg", "pos")
    assert parse_label("POS", "classification", names) == 1
    assert parse_label(True, "classification", ("false", "true")) == 1
    assert parse_label(1, "classification", names, class_names=names) == 1  # a ClassLabel index
    assert parse_label("good", "classification", names, mapping={"good": "pos"}) == 1
    assert parse_label("1", "classification", names, label_lookup(names, indices=True)) == 1
    assert parse_label("2.5", "regression", ()) == 2.5
    for value, kind, problem in (("1", "classification", "is not one of"), (None, "classification", "empty"),
                                 ("x", "regression", "is not a number"), ("nan", "regression", "NaN")):
        with pytest.raises(LabelValueError, match=problem):
            parse_label(value, kind, names)
    task = get_task("glue/sst2")
    assert task.label_names == ("negative", "positive")
    assert task._label("1") == 1 and task._label("Positive") == 1
    columns = {"sentence": "sentence", "label": "label"}
    assert task._convert({"sentence": "fine", "label": "1"}, columns, ("f", 1)) == {"sentence": "fine", "label": 1}
    with pytest.raises(DataFormatError, match=r"f, line 1, column 'label': label 'x' is not one of"):
        task._convert({"sentence": "fine", "label": "x"}, columns, ("f", 1))
    with pytest.raises(DataFormatError, match=r"f, line 2, column 'sentence': missing; columns present: \['label'\]"):
        task._convert({"label": "1"}, columns, ("f", 2))
