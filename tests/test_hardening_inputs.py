"""Hardening (#18), items 2 and 8: bad inputs are found before the study, exit 2 with one line,
and leave the store byte-identical (or not created).

Item 2: a data file with a missing column, an unparsable label, an empty split or a single class
(a registry task on ``--data-dir`` as well as your own files) is read by the driver before the
store is opened for writing. Item 8: a ``--max-params`` that only the empty configuration meets
exits 2 naming the smallest configuration's size; an empty configuration is never trained.

Searches use the tiny random BERT of tests/conftest.py and the zero-cost objective, so a bad
input that slipped through would create a study (and start Ray) instead of exiting 2."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from autopeft.cli import main

ZERO = "tests.fake_objectives:zero_cost"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


RTE_HEADER = "index\tsentence1\tsentence2\tlabel\n"
RTE_ROWS = "".join(f"{i}\tpremise {i}\thypothesis {i}\t{'entailment' if i % 2 else 'not_entailment'}\n" for i in range(8))
STSB_ROW = "main-news\tf\t2012\t{i}\t{label}\tA cat sat {i}.\tA dog sat {i}.\n"
GOOD_CSV = "text,label\n" + "".join(f"story {i} about things,{'a' if i % 2 else 'b'}\n" for i in range(10))


def _glue(root: Path, task: str, train: str, validation: str) -> list[str]:
    _write(root / "glue" / task / "train.tsv", train)
    _write(root / "glue" / task / "validation.tsv", validation)
    return ["--task", f"glue/{task}", "--data-dir", str(root)]


def _files(root: Path, train: str, eval_: str | None = None, name: str = "train.csv", extra: tuple[str, ...] = ()) -> list[str]:
    args = ["--train", str(_write(root / name, train))]
    if eval_ is not None:
        args += ["--eval", str(_write(root / ("eval" + Path(name).suffix), eval_))]
    return [*args, *extra]


#: name -> (builder(root) -> task arguments, text the one-line error must hold)
BAD_DATA = {
    "stsb_label_abc": (lambda r: _glue(r, "stsb", STSB_ROW.format(i=0, label="abc") + STSB_ROW.format(i=1, label="3.2"),
                                       STSB_ROW.format(i=2, label="1.0")), "label 'abc' is not a number"),
    "stsb_eval_label_abc": (lambda r: _glue(r, "stsb", STSB_ROW.format(i=0, label="1.5"), STSB_ROW.format(i=2, label="abc")),
                            "validation.tsv, line 1"),
    "rte_missing_label_column": (lambda r: _glue(r, "rte", RTE_HEADER.replace("\tlabel", "\tlab") + RTE_ROWS.replace("\tnot_entailment", "\tx"),
                                                 RTE_HEADER + RTE_ROWS), "column 'label'"),
    "rte_unknown_label": (lambda r: _glue(r, "rte", RTE_HEADER + RTE_ROWS + "9\tp\th\tmaybe\n", RTE_HEADER + RTE_ROWS), "maybe"),
    "rte_header_only_train": (lambda r: _glue(r, "rte", RTE_HEADER, RTE_HEADER + RTE_ROWS), "holds no examples"),
    "rte_empty_train_file": (lambda r: _glue(r, "rte", "", RTE_HEADER + RTE_ROWS), "train.tsv"),
    "rte_empty_validation": (lambda r: _glue(r, "rte", RTE_HEADER + RTE_ROWS, RTE_HEADER), "validation.tsv"),
    "rte_one_class": (lambda r: _glue(r, "rte", RTE_HEADER + "".join(f"{i}\tp {i}\th {i}\tentailment\n" for i in range(6)),
                                      RTE_HEADER + RTE_ROWS), "at least 2"),
    "csv_missing_column": (lambda r: _files(r, GOOD_CSV.replace("text,label", "text,lab")), "column 'label'"),
    "csv_empty_file": (lambda r: _files(r, ""), "empty"),
    "csv_header_only": (lambda r: _files(r, "text,label\n"), "train.csv"),
    "csv_one_class": (lambda r: _files(r, "text,label\n" + "".join(f"t {i},a\n" for i in range(8))), "at least 2"),
    "csv_regression_label_abc": (lambda r: _files(r, "text,label\nx,1.0\ny,abc\nz,2.0\n", extra=("--kind", "regression")), "abc"),
    "csv_empty_eval": (lambda r: _files(r, GOOD_CSV, eval_="text,label\n"), "eval.csv"),
    "jsonl_missing_field": (lambda r: _files(r, "".join(json.dumps({"text": f"t{i}", "y": i % 2}) + "\n" for i in range(6)),
                                             name="train.jsonl"), "label"),
}


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _existing_store(path: Path) -> None:
    """A store holding one finished study, as a user's database would."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="kept", storage=f"sqlite:///{path}", directions=["maximize"])
    study.enqueue_trial({})
    study.tell(study.ask(), 1.0)


def _search(bert: str, db: Path, task_args: list[str], *extra: str) -> list[str]:
    return ["search", "--model", bert, *task_args, "--objective-fn", ZERO, "--trials", "1", "--baselines", "none",
            "--storage", f"sqlite:///{db}", "--study", "new", "--no-progress", *extra]


def _same_files(folder: Path) -> dict[str, str | None]:
    return {p.name: _digest(p) for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_exits_2_before_the_store(case, bert, tmp_path, capsys):
    """Each bad data input: exit 2, one line naming the problem; a store that did not exist is
    not created, one that existed is byte-identical (no -wal/-shm left either)."""
    build, message = BAD_DATA[case]
    task_args = build(tmp_path / "data")
    stores = tmp_path / "stores"
    stores.mkdir()
    code = main(_search(bert, stores / "absent.db", task_args))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert message in err and "\n" not in err, err
    assert list(stores.iterdir()) == []  # no database created

    db = stores / "kept.db"
    _existing_store(db)
    before = _same_files(stores)
    code = main(_search(bert, db, task_args))
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err, err
    assert _same_files(stores) == before  # byte-identical, no new files


# --------------------------------------------------------------------------- item 8: --max-params
def test_max_params_below_the_smallest_configuration_exits_2(bert, tmp_path, capsys):
    from autopeft.service.preflight import smallest_nonempty
    from autopeft.spaces import load_space

    smallest, config = smallest_nonempty(load_space("autopeft"), bert)
    assert smallest > 10 and config.num_trainable_params(bert) == smallest
    data = tmp_path / "data"
    task_args = _files(data, GOOD_CSV)
    db = tmp_path / "s.db"
    code = main(_search(bert, db, task_args, "--space", "autopeft", "--max-params", "10"))
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "--max-params '10'" in err and f"smallest has {smallest}" in err and "\n" not in err, err
    assert not db.exists()


def test_smallest_nonempty_is_the_least_over_samples(bert):
    """No sampled non-empty configuration is smaller than the one found."""
    from autopeft.service.preflight import smallest_nonempty
    from autopeft.spaces import load_space

    for name in ("autopeft", "lora_layerwise", "mixed"):
        space = load_space(name)
        smallest, _ = smallest_nonempty(space, bert)
        sizes = [space.sample(bert, seed).num_trainable_params(bert) for seed in range(200)]
        assert min(s for s in sizes if s > 0) >= smallest, name


def test_a_limit_at_the_smallest_size_searches_and_never_trains_an_empty_config(bert, tmp_path):
    """The loop rejects a proposal that builds the empty configuration (PRUNED with the reason),
    so every COMPLETE search trial has PEFT parameters."""
    from autopeft.service import SearchSpec, run_search
    from autopeft.service.preflight import smallest_nonempty
    from autopeft.spaces import load_space
    from autopeft.store import load_trials

    smallest, _ = smallest_nonempty(load_space("autopeft"), bert)
    url = f"sqlite:///{tmp_path}/s.db"
    data = tmp_path / "data"
    _files(data, GOOD_CSV)
    outcome = run_search(SearchSpec(model=bert, task={"train": str(data / "train.csv")}, space="autopeft", trials=2,
                                    max_params=str(smallest * 3), baselines="none", storage=url, study="s", objective_fn=ZERO,
                                    progress=False, sampler="random"))
    assert outcome.completed == 2
    records = load_trials(url, "s")
    complete = [r for r in records if r.state == "COMPLETE"]
    assert len(complete) == 2 and all(r.trial_result.trainable_params > 0 for r in complete)
    for r in records:
        if r.state == "PRUNED" and r.rejected and "empty" in r.rejected:
            assert r.trainable_params in (None, 0)
