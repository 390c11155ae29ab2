"""One real trial, one parameter count: everywhere a trial's size is shown it is the config's PEFT
count (``PeftConfig.num_trainable_params``, the task head excluded), and its percentage is of the
backbone (``autopeft.architectures.backbone_params``).

A search with the real objective (``autopeft.proxy:evaluate``: a tiny random-weight BERT trained
for two steps on a three-class folder task, on a local Ray worker) runs one baseline and one
search trial; then, for each trial, the sampler's known objective and ``--max-params``
constraint, the stored ``params`` value and result, the Pareto rows (``pareto --json``),
``autopeft show``, the dashboard's trial table and the exported README must all say the same
number. The trial's prediction spread (``majority_share``, ``chance_score``) must reach the store.
"""

from __future__ import annotations

import dataclasses
import json
import string

import pytest

optuna = pytest.importorskip("optuna")
ray = pytest.importorskip("ray")
pytest.importorskip("pandas")

FIDELITY = "tiny:max_train_examples=16,max_eval_examples=16,max_steps=2"
CLASSES = ("alpha", "beta", "gamma")
HEAD = 32 * len(CLASSES) + len(CLASSES)  # the classifier on a 32-wide BERT


def _tiny_bert(folder) -> str:
    """A 2-layer, 32-wide random BERT with a character-level WordPiece tokenizer, saved to disk."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, *string.digits, *".,'\"!?-:;()"]
    vocab += [f"##{c}" for c in string.ascii_lowercase + string.digits]
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=48, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    BertTokenizerFast(vocab={token: index for index, token in enumerate(vocab)}).save_pretrained(folder)
    return str(folder)


def _folder_task(root) -> str:
    """``folder:ROOT`` with 10 short texts per class (every 5th is validation)."""
    for label in CLASSES:
        (root / label).mkdir(parents=True)
        for i in range(10):
            (root / label / f"{i:02d}.txt").write_text(f"{label} text number {i} about {label}", encoding="utf-8")
    return f"folder:{root}"


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """(loop, storage URL, model config) after a real search of 1 baseline + 1 search trial."""
    from transformers import AutoConfig

    from autopeft.service import SearchSpec
    from autopeft.service.loop import SearchLoop
    from autopeft.service.prepare import prepare

    folder = tmp_path_factory.mktemp("agree")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOPEFT_CACHE_DIR", str(folder / "cache"))  # forwarded to the Ray worker
        model = _tiny_bert(folder / "model")
        url = f"sqlite:///{folder / 'agree.db'}"
        spec = SearchSpec(model=model, task=_folder_task(folder / "data"), space="autopeft", trials=1, workers=1,
                          cpus_per_trial=1, fidelity=FIDELITY, sampler="random", baselines="lora8_qv", storage=url,
                          study="agree", max_params="50%", seed=0, progress=False)
        loop = SearchLoop(prepare(spec))
        try:
            outcome = loop.run()
        finally:
            ray.shutdown()
    assert outcome.completed == 2, outcome
    return loop, url, AutoConfig.from_pretrained(model)


def _expected(record, model_config) -> tuple[int, float]:
    from autopeft.architectures import backbone_params

    n = record.peft.num_trainable_params(model_config)
    return n, 100.0 * n / backbone_params(model_config)


def _trained(url: str) -> list:
    """The study's trained trials; a proposal rejected untrained (an empty configuration: the
    space's layer switches can turn every module off) is PRUNED with its reason and no count."""
    from autopeft.store import load_trials

    records = load_trials(url, "agree")
    for r in records:
        if r.rejected is not None:
            assert r.state == "PRUNED" and r.rejected.startswith("empty configuration") and r.peft is None
    return [r for r in records if r.rejected is None]


def test_the_store_keeps_the_configs_peft_count(searched):
    from autopeft.proxy.result import COLLAPSE_SHARE

    loop, url, mc = searched
    records = _trained(url)
    assert [r.state for r in records] == ["COMPLETE", "COMPLETE"] and records[0].baseline == "lora8_qv"
    assert records[0].trainable_params == 2 * 2 * 8 * (32 + 32)  # lora8_qv on 2 layers of width 32
    for r in records:
        n, percent = _expected(r, mc)
        assert r.values["params"] == n  # the stored objective value
        assert r.trainable_params == r.trial_result.trainable_params == n  # the stored result
        assert r.percent_params == pytest.approx(percent, rel=1e-12)
        assert r.head_params == HEAD  # beside, never inside, the count
        assert 0.0 < r.majority_share <= 1.0 and r.chance_score is not None  # the spread reached the store
        assert r.collapsed == (r.majority_share >= COLLAPSE_SHARE)


def test_sampler_and_max_params_use_the_same_count(searched):
    from autopeft.service.loop import SearchLoop

    loop, url, mc = searched
    search = [r for r in _trained(url) if r.baseline is None]
    assert len(search) == 1 and search[0].params
    record = search[0]
    n, _ = _expected(record, mc)
    index = [o.name for o in loop.plan.objectives].index("params")
    assert loop.known_objectives()[index](record.params) == n  # what the sampler was told
    assert loop.config_params(record.params) == n
    assert SearchLoop(dataclasses.replace(loop.plan, max_params=n)).params_constraint()(record.params)
    assert not SearchLoop(dataclasses.replace(loop.plan, max_params=n - 1)).params_constraint()(record.params)


def test_the_sampler_is_never_offered_the_empty_configuration(searched):
    """The loop rejects the empty configuration untrained, so the sampler's constraint rules it
    out too, with a params limit and without one."""
    from autopeft.service.loop import SearchLoop

    loop, url, mc = searched
    distributions = loop.plan.space.distributions(mc)
    all_off = {name: min(d.choices) for name, d in distributions.items()}  # sizes 0, layers off
    record = next(r for r in _trained(url) if r.baseline is None)
    assert loop.config_params(all_off) == 0 and loop.config_params(record.params) > 0
    for limit in (None, 10**9):
        allowed = SearchLoop(dataclasses.replace(loop.plan, max_params=limit)).params_constraint()
        assert not allowed(all_off)
        assert allowed(record.params)


def test_pareto_show_dashboard_and_export_show_the_same_count(searched, capsys, tmp_path):
    from autopeft.cli import main
    from autopeft.export import export_trial
    from autopeft.store import load_study_summary, load_trials, open_readonly, read_trials
    from autopeft.viz.frames import trials_table

    loop, url, mc = searched
    everything = {r.number for r in load_trials(url, "agree")}
    records = {r.number: r for r in _trained(url)}
    assert main(["pareto", "--study", "agree", "--storage", url, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {row["trial"]: row for row in out["front"] + out["baselines"]}
    assert {row["trial"] for row in out["baselines"]} == {n for n, r in records.items() if r.baseline}
    assert main(["trials", "--study", "agree", "--storage", url, "--json"]) == 0
    listed = {row["number"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(listed) == everything  # the search trial is listed even where the baseline dominates it
    table = trials_table(read_trials(open_readonly(url), "agree"), load_study_summary(url, "agree").metadata).set_index("number")
    for number, record in records.items():
        n, percent = _expected(record, mc)
        assert listed[number]["params"] == n and listed[number]["percent"] == pytest.approx(percent, rel=1e-12)
        assert listed[number]["collapsed"] == record.collapsed
        if number in rows:  # on the front, or a baseline: the Pareto table's cells
            assert rows[number]["trainable_params"] == n and rows[number]["head_params"] == HEAD
            assert rows[number]["percent_params"] == pytest.approx(percent, rel=1e-12)
            assert rows[number]["collapsed"] == record.collapsed
        assert table.loc[number, "trainable_params"] == n  # the dashboard's trial table and front
        assert table.loc[number, "percent_params"] == pytest.approx(percent, rel=1e-12)
        assert bool(table.loc[number, "collapsed"]) == record.collapsed

        assert main(["show", "--study", "agree", "--trial", str(number), "--storage", url]) == 0
        shown = capsys.readouterr().out
        assert f"trainable_params: {n:,} " in shown and f"head_params: {HEAD}" in shown and "majority share: " in shown

        result = export_trial(url, "agree", "autopeft", tmp_path / str(number), trial=number)
        readme = (tmp_path / str(number) / "README.md").read_text()
        assert result.peft_params == n and result.head_params == HEAD and result.trainable_params == n + HEAD
        assert f"- trainable_params (PEFT modules, the task head excluded): {n}\n" in readme
        assert f"- PEFT parameters: {n} (autopeft's count, a study's trainable_params)" in readme
        assert f"{n + HEAD} trainable = {n} PEFT params + {HEAD} head params" in readme
        assert f"print(counts.peft_params)  # {n} PEFT params, autopeft's count" in readme
        assert "note: the study stored" not in readme
