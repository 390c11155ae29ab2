"""Tests of autopeft.optimizer: the sampler registry, the encoding and MOBOSampler's contract.

Small spaces and few trials keep the file fast; speed targets live in benchmarks/optimizer.py.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("botorch")

import torch  # noqa: E402

from optuna.distributions import CategoricalDistribution  # noqa: E402
from optuna.trial import TrialState, create_trial  # noqa: E402

from autopeft.errors import AutoPeftError  # noqa: E402
from autopeft.optimizer import SAMPLERS, OptimizerError, UnknownSamplerError, make_sampler  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")

CHOICES = {"a": [0, 4, 8, 16], "b": [0, 4, 8, 16], "c": [False, True], "d": ["relu", "gelu", "silu"]}
SPACE = {name: CategoricalDistribution(choices) for name, choices in CHOICES.items()}
FAST = {"n_startup_trials": 4, "mc_samples": 16, "n_random_candidates": 32, "n_mutation_candidates": 32, "shortlist": 8}


def cost(params: dict) -> float:
    """A known cost: bigger sizes and switches cost more."""
    return float(params["a"] + 2 * params["b"] + 3 * params["c"])


def score(params: dict) -> float:
    bonus = {"relu": 0.0, "gelu": 0.1, "silu": 0.05}[params["d"]]
    return float(np.log1p(params["a"]) + 0.5 * np.log1p(params["b"]) + 0.3 * params["c"] + bonus)


def objective(trial: optuna.Trial) -> tuple[float, float]:
    params = {name: trial.suggest_categorical(name, choices) for name, choices in CHOICES.items()}
    return score(params), cost(params)


def mobo_study(seed: int = 0, storage: str | None = None, **kwargs):
    options = {**FAST, "search_space": SPACE, **kwargs}
    sampler = make_sampler("mobo", seed=seed, **options)
    return optuna.create_study(directions=["maximize", "minimize"], sampler=sampler, storage=storage)


def key(params: dict) -> tuple:
    return tuple(sorted(params.items()))


# ----------------------------------------------------------------------------- registry
def test_registry_builds_every_sampler_by_name():
    assert set(SAMPLERS) == {"mobo", "random", "nsga2", "tpe", "gp"}
    for name in SAMPLERS:
        assert isinstance(make_sampler(name, seed=1), optuna.samplers.BaseSampler)
    assert make_sampler("tpe")._multivariate is True


def test_unknown_sampler_name_lists_the_known_ones():
    with pytest.raises(UnknownSamplerError) as info:
        make_sampler("bayes")
    assert isinstance(info.value, AutoPeftError)
    for name in SAMPLERS:
        assert name in str(info.value)


def test_importing_the_package_is_cheap():
    code = "import sys, autopeft.optimizer; print(sorted(m for m in ('torch', 'optuna', 'botorch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_invalid_settings_name_the_argument():
    with pytest.raises(OptimizerError, match="surrogate"):
        make_sampler("mobo", surrogate="rbf")
    with pytest.raises(OptimizerError, match="max_cost"):
        make_sampler("mobo", max_cost=10)
    with pytest.raises(OptimizerError, match="lower_reference_point"):
        make_sampler("mobo", lower_reference_point="half")
    with pytest.raises(OptimizerError, match="n_startup_trials"):
        make_sampler("mobo", n_startup_trials=0)
    with pytest.raises(OptimizerError, match="CategoricalDistribution"):
        make_sampler("mobo", search_space={"x": optuna.distributions.IntDistribution(0, 3)})


# ----------------------------------------------------------------------------- encoding
def test_encoding_by_kind():
    from autopeft.optimizer import SpaceEncoding

    space = {
        "rank": CategoricalDistribution([16, 0, 4, 8]),
        "on": CategoricalDistribution([False, True]),
        "act": CategoricalDistribution(["relu", "gelu", "silu"]),
        "fixed": CategoricalDistribution([3]),
    }
    enc = SpaceEncoding(space)
    assert enc.names == ["act", "fixed", "on", "rank"]
    assert enc.num_features == 3 + 0 + 1 + 1
    row = enc.from_params({"rank": 8, "on": True, "act": "gelu", "fixed": 3})
    np.testing.assert_allclose(enc.encode(row[None])[0], [0, 1, 0, 1, 2 / 3])  # rank 8 is 3rd of 0,4,8,16
    assert enc.to_params(row) == {"rank": 8, "on": True, "act": "gelu", "fixed": 3}
    assert enc.from_params({"rank": 5, "on": True, "act": "gelu", "fixed": 3}) is None
    assert len(enc.neighbors(row)) == (3 - 1) + 0 + (2 - 1) + (4 - 1)


# ----------------------------------------------------------------------------- sampler contract
def test_optimises_a_multi_objective_study_with_rdb_storage(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = mobo_study(storage=storage)
    study.optimize(objective, n_trials=9)
    reloaded = optuna.load_study(study_name=study.study_name, storage=storage)
    trials = reloaded.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) == 9
    for t in trials:
        assert all(t.params[name] in choices for name, choices in CHOICES.items())
    assert len(reloaded.best_trials) >= 1


def test_bo_finds_both_ends_of_the_front():
    study = mobo_study(known_objectives={1: cost})
    study.optimize(objective, n_trials=14)
    values = np.array([t.values for t in study.trials])
    # The Pareto front of this problem contains the zero-cost config and the best-score config.
    assert values[:, 1].min() == 0.0
    assert values[:, 0].max() >= score({"a": 16, "b": 16, "c": True, "d": "gelu"}) - 0.6


def test_no_configuration_is_proposed_twice_until_the_space_is_exhausted():
    small = {"a": [0, 4, 8], "b": [0, 4], "c": [False, True]}  # 12 configurations

    def small_objective(trial):
        p = {n: trial.suggest_categorical(n, c) for n, c in small.items()}
        return p["a"] - p["b"] + p["c"], p["a"] + p["b"]

    space = {n: CategoricalDistribution(c) for n, c in small.items()}
    sampler = make_sampler("mobo", seed=3, **{**FAST, "search_space": space})
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(small_objective, n_trials=12)
    assert len({key(t.params) for t in study.trials}) == 12
    with pytest.raises(OptimizerError, match="no feasible configuration left"):
        study.optimize(small_objective, n_trials=1)


def test_the_constraint_is_never_violated_in_the_initial_design_or_bo():
    limit = 12.0
    calls = []

    def logged_cost(params):
        calls.append(params)
        return cost(params)

    study = mobo_study(seed=1, known_objectives={1: cost}, max_cost=(logged_cost, limit),
                       constraint=lambda p: p["d"] != "silu")
    study.optimize(objective, n_trials=14)
    assert calls, "the cost callable was never consulted"
    for t in study.trials:
        assert cost(t.params) <= limit
        assert t.params["d"] != "silu"


def test_constraint_without_a_declared_space_starts_from_the_smallest_choices():
    sampler = make_sampler("mobo", seed=0, max_cost=(cost, 6.0), **FAST)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=8)
    assert study.trials[0].params == {"a": 0, "b": 0, "c": False, "d": "relu"}
    assert all(cost(t.params) <= 6.0 for t in study.trials)


def history(n: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    trials, seen = [], set()
    while len(trials) < n:
        params = {name: choices[int(rng.integers(len(choices)))] for name, choices in CHOICES.items()}
        if key(params) in seen:
            continue
        seen.add(key(params))
        trials.append(create_trial(params=params, distributions=SPACE, values=[score(params), cost(params)]))
    return trials


def study_with(trials, seed=0, **kwargs):
    study = mobo_study(seed=seed, **kwargs)
    for t in trials:
        study.add_trial(t)
    return study


def test_running_trials_are_pending_and_change_the_next_proposal():
    past = history(8)
    study = study_with(past)
    trial = study.ask()
    proposal = {n: trial.suggest_categorical(n, c) for n, c in CHOICES.items()}

    # The same sampler state, once that proposal is running elsewhere, proposes something else.
    again = study_with(past)
    running = again.ask()
    for n, c in CHOICES.items():
        running.suggest_categorical(n, c)
    assert running.params == proposal  # same seed, same history: same proposal
    other = again.ask()
    other_params = {n: other.suggest_categorical(n, c) for n, c in CHOICES.items()}
    assert other_params != proposal

    # K workers asking at once get K distinct proposals.
    workers = study_with(past, seed=5)
    proposals = []
    for _ in range(3):
        t = workers.ask()
        proposals.append(key({n: t.suggest_categorical(n, c) for n, c in CHOICES.items()}))
    assert len(set(proposals)) == 3
    assert not set(proposals) & {key(t.params) for t in past}


def test_pending_points_reach_the_acquisition(monkeypatch):
    import autopeft.optimizer.mobo as mobo

    seen = []
    original = mobo.build_acquisition

    def spy(gp, known, outcomes, ref_point, X_baseline, X_pending, *args):
        seen.append(None if X_pending is None else X_pending.shape[0])
        return original(gp, known, outcomes, ref_point, X_baseline, X_pending, *args)

    monkeypatch.setattr(mobo, "build_acquisition", spy)
    study = study_with(history(8))
    for _ in range(3):
        t = study.ask()
        for n, c in CHOICES.items():
            t.suggest_categorical(n, c)
    assert seen == [None, 1, 2]


def reference_points_used(monkeypatch, trials, reference_point, relax="front"):
    """The reference point (maximisation form) the acquisition got for the next proposal."""
    import autopeft.optimizer.mobo as mobo

    seen = []
    original = mobo.build_acquisition

    def spy(gp, known, outcomes, ref_point, *args):
        seen.append(ref_point.tolist())
        return original(gp, known, outcomes, ref_point, *args)

    monkeypatch.setattr(mobo, "build_acquisition", spy)
    study = study_with(trials, reference_point=reference_point, lower_reference_point=relax)
    t = study.ask()
    for n, c in CHOICES.items():
        t.suggest_categorical(n, c)
    return seen[0]


def test_a_reference_point_no_trial_beats_is_lowered_to_the_observed_front(monkeypatch):
    past = history(8)
    scores = np.array([t.values[0] for t in past])
    costs = np.array([t.values[1] for t in past])
    # Every trial beats (score 0, cost 100): the given point is used as it is.
    assert reference_points_used(monkeypatch, past, [0.0, 100.0]) == [0.0, -100.0]
    # No trial reaches score 10: the score coordinate drops to the observed front's nadir
    # minus 10% of its range; the cost coordinate keeps the given, lower value.
    used = reference_points_used(monkeypatch, past, [10.0, 100.0])
    front = [i for i in range(8) if not any(
        scores[j] >= scores[i] and costs[j] <= costs[i] and (scores[j] > scores[i] or costs[j] < costs[i])
        for j in range(8))]
    lo, hi = scores[front].min(), scores[front].max()
    assert used[0] == pytest.approx(lo - 0.1 * (hi - lo))
    assert used[0] < scores.max()
    assert used[1] == -100.0


def test_the_default_lowers_an_unbeaten_reference_point_just_enough_for_the_nearest_trial(monkeypatch):
    past = history(8)
    scores = np.array([t.values[0] for t in past])
    costs = np.array([t.values[1] for t in past])
    used = reference_points_used(monkeypatch, past, [10.0, 100.0], relax="minimal")
    # Shortfall in units of the observed spread: only the score falls short (10 is unreachable),
    # the nearest trial is the best-scoring one, and the point drops 1.1 x its shortfall.
    spread = np.array([np.ptp(scores), np.ptp(costs)])
    drop = 1.1 * (10.0 - scores.max()) / spread[0]
    np.testing.assert_allclose(used, [10.0 - drop * spread[0], -100.0 - drop * spread[1]])
    assert used[0] == pytest.approx(scores.max() - 0.1 * (10.0 - scores.max()))
    assert ((scores > used[0]) & (-costs > used[1])).any()  # the box is no longer empty
    # Far less than the old rule, which dropped it below the whole observed front.
    assert used[0] > reference_points_used(monkeypatch, past, [10.0, 100.0], relax="front")[0]
    # Never lowered when switched off.
    assert reference_points_used(monkeypatch, past, [10.0, 100.0], relax="none") == [10.0, -100.0]


def test_auto_surrogate_switches_prior_with_the_number_of_features():
    from autopeft.optimizer.surrogate import AUTO_MAX_CLASSIC_FEATURES, fit_surrogate

    def lengthscale_prior(num_features):
        X = torch.rand(12, num_features, dtype=torch.float64)
        model, _ = fit_surrogate("auto", X, X.sum(-1, keepdim=True), maxiter=2)
        kernel = model.covar_module
        return type(kernel).__name__, type(getattr(kernel, "base_kernel", kernel).lengthscale_prior).__name__

    assert lengthscale_prior(AUTO_MAX_CLASSIC_FEATURES) == ("ScaleKernel", "GammaPrior")
    assert lengthscale_prior(AUTO_MAX_CLASSIC_FEATURES + 1) == ("MaternKernel", "LogNormalPrior")


def test_a_failed_warm_fit_is_redone_from_the_priors_and_never_carried(monkeypatch):
    import botorch.optim.fit as fit_module

    from autopeft.optimizer.surrogate import fit_surrogate

    X = torch.rand(12, 3, dtype=torch.float64)
    Y = X.sum(-1, keepdim=True)
    _, state = fit_surrogate("matern", X, Y)
    calls = []
    original = fit_module.fit_gpytorch_mll_scipy

    def flaky(mll, options):
        calls.append(options["maxiter"])
        if len(calls) <= failures:
            raise RuntimeError("Matrix not positive definite")
        return original(mll, options=options)

    monkeypatch.setattr(fit_module, "fit_gpytorch_mll_scipy", flaky)
    failures = 1
    model, new_state = fit_surrogate("matern", X, Y, previous=state, maxiter=30, warm_maxiter=5)
    assert calls == [5, 30]  # warm start failed, refit from the priors succeeded
    assert new_state is not None
    assert torch.isfinite(model.posterior(X).mean).all()

    calls.clear()
    failures = 2
    model, new_state = fit_surrogate("matern", X, Y, previous=state, maxiter=30, warm_maxiter=5)
    assert calls == [5, 30]
    assert new_state is None  # nothing broken is carried to the next fit
    assert torch.isfinite(model.posterior(X).mean).all()


def test_every_surrogate_is_fitted_and_proposes(caplog):
    from autopeft.optimizer.surrogate import SURROGATE_CHOICES

    assert set(SURROGATE_CHOICES) == {"auto", "matern", "matern_dim_scaled", "saas", "hamming", "matern_hamming",
                                      "matern_warped"}
    # Two modelled objectives each, plus the warped model with one (a single GP, not a model list).
    for name, known in [(name, {}) for name in SURROGATE_CHOICES] + [("matern_warped", {1: cost})]:
        caplog.clear()
        study = study_with(history(8), surrogate=name, known_objectives=known)
        with caplog.at_level("INFO", logger="autopeft.optimizer"):
            study.optimize(objective, n_trials=2)
        assert len({key(t.params) for t in study.trials}) == 10, name
        # The proposals came from BO, not from the initial design a failure falls back to.
        assert not [r.getMessage() for r in caplog.records if "failed" in r.getMessage()], name


def test_same_seed_same_proposals():
    runs = []
    for global_seed in (0, 1):
        # Other work in the process moves torch's global generator between proposals; the
        # sampler's proposals must not depend on it.
        torch.manual_seed(global_seed)

        def noisy_neighbour(trial):
            torch.rand(global_seed + 1)
            return objective(trial)

        study = study_with(history(14), seed=7, known_objectives={1: cost})
        study.optimize(noisy_neighbour, n_trials=6)
        runs.append([key(t.params) for t in study.trials])
    assert runs[0] == runs[1]
    other = study_with(history(14), seed=8, known_objectives={1: cost})
    other.optimize(objective, n_trials=6)
    assert [key(t.params) for t in other.trials] != runs[0]


def test_known_objectives_are_computed_not_modelled(monkeypatch):
    import autopeft.optimizer.mobo as mobo

    shapes = []
    original = mobo.fit_surrogate

    def spy(kind, train_X, train_Y, *args, **kwargs):
        shapes.append(tuple(train_Y.shape))
        return original(kind, train_X, train_Y, *args, **kwargs)

    monkeypatch.setattr(mobo, "fit_surrogate", spy)
    study = study_with(history(6), known_objectives={1: cost})
    study.optimize(objective, n_trials=2)
    assert shapes == [(6, 1), (7, 1)]  # only the score is modelled

    shapes.clear()
    study = study_with(history(6))
    study.optimize(objective, n_trials=1)
    assert shapes == [(6, 2)]


def test_the_initial_design_spans_a_known_cost_cheapest_and_dearest_first():
    from scipy.stats import qmc

    from autopeft.optimizer.encoding import SpaceEncoding

    # Sixteen independent sizes: a summed cost concentrates around its mean under Sobol.
    sizes = {f"s{i}": [0, 4, 8, 16, 32] for i in range(16)}
    space = {n: CategoricalDistribution(c) for n, c in sizes.items()}

    def total(params: dict) -> float:
        return float(sum(params.values()))

    encoding = SpaceEncoding(space)
    sobol = qmc.Sobol(d=len(encoding), scramble=True, seed=np.random.default_rng(3)).random(128)
    pool_costs = sorted(total(encoding.to_params(row)) for row in encoding.from_unit(sobol))

    def first_costs(**kwargs) -> list[float]:
        sampler = make_sampler("mobo", seed=3, search_space=space, n_startup_trials=8, **kwargs)
        study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
        study.optimize(lambda t: (0.0, total({n: t.suggest_categorical(n, c) for n, c in sizes.items()})), n_trials=5)
        return [total(t.params) for t in study.trials]

    spread = first_costs(known_objectives={1: total})
    # The cheapest and the dearest of the 128-point design first, then its middle and quarters.
    assert spread[:2] == [pool_costs[0], pool_costs[-1]]
    assert spread[2:5] == [pool_costs[round(3 * 127 / 7)], pool_costs[round(1 * 127 / 7)], pool_costs[round(5 * 127 / 7)]]
    # Without a known objective the design stays in Sobol order, whose costs bunch up.
    plain = first_costs()
    assert max(plain) - min(plain) < 0.6 * (max(spread) - min(spread))


def test_a_proposal_is_never_repeated_even_when_its_trial_records_other_parameters():
    from autopeft.optimizer.mobo import PROPOSAL_ATTR

    sizes = {f"s{i}": [0, 4, 8, 16, 32] for i in range(6)}
    space = {n: CategoricalDistribution(c) for n, c in sizes.items()}
    elsewhere = {n: 32 for n in sizes}  # what every trial ends up recording instead

    def total(params: dict) -> float:
        return float(sum(params.values()))

    sampler = make_sampler("mobo", seed=0, search_space=space, n_startup_trials=8, known_objectives={1: total})
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    proposals = []
    for _ in range(4):
        trial = study.ask()
        proposals.append({n: trial.suggest_categorical(n, c) for n, c in sizes.items()})
        # A replayed benchmark answers with a recorded neighbour and rewrites the trial's params.
        for name, value in elsewhere.items():
            study._storage.set_trial_param(trial._trial_id, name, space[name].to_internal_repr(value), space[name])
        study.tell(trial, [0.0, total(elsewhere)])
    assert [t.system_attrs[PROPOSAL_ATTR] for t in study.trials] == proposals
    assert all(t.params == elsewhere for t in study.trials)
    # The design moves on instead of proposing its cheapest point again and again.
    assert len({tuple(sorted(p.items())) for p in proposals}) == 4
    assert total(proposals[0]) < total(proposals[2]) < total(proposals[1])


def test_warm_start_adds_tagged_prior_data_and_shortens_the_initial_design(monkeypatch):
    import autopeft.optimizer.mobo as mobo

    calls = []
    original = mobo.fit_surrogate

    def spy(kind, train_X, train_Y, *args, **kwargs):
        calls.append(train_X.clone())
        return original(kind, train_X, train_Y, *args, **kwargs)

    monkeypatch.setattr(mobo, "fit_surrogate", spy)
    other_task = history(10, seed=9)
    study = mobo_study(known_objectives={1: cost}, warm_start_trials=other_task)
    study.optimize(objective, n_trials=3)
    # Two own trials from the initial design, then BO on 2 own + 10 warm-start rows.
    assert len(calls) == 1
    X = calls[0]
    assert X.shape[0] == 12
    np.testing.assert_array_equal(X[:, -1].numpy(), [0.0] * 2 + [1.0] * 10)


def test_single_objective_and_saas_surrogate():
    sampler = make_sampler("mobo", seed=0, search_space=SPACE, surrogate="saas", **FAST)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: objective(t)[0], n_trials=7)
    assert len({key(t.params) for t in study.trials}) == 7
    assert study.best_value >= score({"a": 8, "b": 0, "c": False, "d": "relu"})


def test_works_with_a_real_peft_space():
    transformers = pytest.importorskip("transformers")
    import autopeft

    mc = transformers.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
    space = autopeft.SearchSpace.from_yaml("mixed")
    limit = space.build({p.name: p.choices[1] for p in space.parameters(mc)}, mc).num_trainable_params(mc)

    def params_of(p):
        return space.build(p, mc).num_trainable_params(mc)

    sampler = make_sampler("mobo", seed=0, search_space=space.distributions(mc), known_objectives={1: params_of},
                           max_cost=(params_of, limit), **FAST)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)

    def peft_objective(trial):
        a = {p.name: trial.suggest_categorical(p.name, p.choices) for p in space.parameters(mc)}
        config = space.build(a, mc)
        return float(sum(1 for layer in config.layers if layer.lora)), float(config.num_trainable_params(mc))

    study.optimize(peft_objective, n_trials=7)
    assert all(t.values[1] <= limit for t in study.trials)
    assert len({key(t.params) for t in study.trials}) == 7


# ----------------------------------------------------------------------------- rung data (multi-fidelity)
def pruned(params: dict, curve: dict, total_steps=32):
    """A PRUNED trial as a multi-fidelity scheduler leaves it: rung scores, no values."""
    return create_trial(state=TrialState.PRUNED, params=params, distributions=SPACE,
                        intermediate_values=curve, user_attrs={"total_steps": total_steps})


def fitted_data(monkeypatch, trials, **kwargs):
    """(train_X, train_Y) of the first GP fit of the next proposal after ``trials``."""
    import autopeft.optimizer.mobo as mobo

    seen = []
    original = mobo.fit_surrogate

    def spy(kind, train_X, train_Y, *args, **kw):
        seen.append((train_X.clone(), train_Y.clone()))
        return original(kind, train_X, train_Y, *args, **kw)

    monkeypatch.setattr(mobo, "fit_surrogate", spy)
    study = study_with(trials, known_objectives={1: cost}, **kwargs)
    t = study.ask()
    for n, c in CHOICES.items():
        t.suggest_categorical(n, c)
    return seen[0]


def test_pruned_trials_are_fitted_at_their_rung_fidelity(monkeypatch):
    done = history(6)
    rungs = [pruned({"a": 4, "b": 0, "c": False, "d": "relu"}, {4: 0.3}),
             pruned({"a": 8, "b": 4, "c": True, "d": "gelu"}, {4: 0.5, 11: 0.9}),
             pruned({"a": 0, "b": 16, "c": True, "d": "silu"}, {1: 0.1, 32: 1.7}),  # reached the top
             create_trial(state=TrialState.PRUNED, params={"a": 16, "b": 16, "c": False, "d": "relu"},
                          distributions=SPACE, intermediate_values={4: 0.2})]  # no total_steps: not used
    X, Y = fitted_data(monkeypatch, done + rungs)
    assert X.dtype == torch.float64 and Y.dtype == torch.float64
    assert X.shape == (9, 7)  # 6 encoded features + the fidelity column; 6 complete + 3 rung trials
    # Complete trials at fidelity 1; rungs at 1 + log(step / 32) / log(32): step 4 -> 0.4, 11 -> 0.692.
    np.testing.assert_allclose(X[:, -1].numpy(), [1.0] * 6 + [0.4, 1 + np.log(11 / 32) / np.log(32), 1.0])
    # The score of a rung trial is its last intermediate value.
    np.testing.assert_allclose(Y[6:, 0].numpy(), [0.3, 0.9, 1.7])
    np.testing.assert_allclose(Y[:6, 0].numpy(), [t.values[0] for t in done])

    # Switched off, or without rung trials, the data is the complete trials only, without the column.
    X_off, _ = fitted_data(monkeypatch, done + rungs, use_rungs=False)
    X_none, _ = fitted_data(monkeypatch, done)
    assert X_off.shape == X_none.shape == (6, 6)


def test_rung_data_steers_the_proposal_to_where_the_rungs_scored_well():
    # Six complete trials all with a = 0 and low scores; rung trials say a = 16 scores far
    # higher at a third of the budget. With rung data the sampler's next proposal is a = 16
    # (a region no complete trial has visited); without it, it is not steered there.
    base = [{"a": 0, "b": b, "c": c, "d": d} for b, c, d in
            ((0, False, "relu"), (4, True, "gelu"), (8, False, "silu"), (16, True, "relu"), (4, False, "silu"), (0, True, "gelu"))]
    done = [create_trial(params=p, distributions=SPACE, values=[0.1 * i / 6, 10.0]) for i, p in enumerate(base)]
    rungs = [pruned({"a": 16, "b": b, "c": c, "d": d}, {4: 0.8, 11: 2.0})
             for b, c, d in ((0, False, "relu"), (4, True, "silu"), (8, True, "gelu"))]

    def next_a(trials, **kwargs):
        study = study_with(trials, seed=0, known_objectives={1: lambda p: 10.0}, **kwargs)
        t = study.ask()
        return {n: t.suggest_categorical(n, c) for n, c in CHOICES.items()}["a"]

    assert next_a(done + rungs) == 16
    assert next_a(done + rungs, use_rungs=False) != 16


def test_rung_proposals_are_deterministic_for_a_seed():
    trials = history(6) + [pruned({"a": 16, "b": 0, "c": False, "d": "relu"}, {4: 0.8, 11: 2.0}),
                           pruned({"a": 8, "b": 16, "c": True, "d": "silu"}, {4: 0.2})]
    runs = [[key(t.params) for t in _optimized(study_with(trials, seed=s, known_objectives={1: cost}))] for s in (4, 4, 5)]
    assert runs[0] == runs[1] != runs[2]


def _optimized(study, n=3):
    study.optimize(objective, n_trials=n)
    return study.trials


def test_step_moves_ordinals_by_small_rank_steps():
    from autopeft.optimizer import SpaceEncoding

    enc = SpaceEncoding({"size": CategoricalDistribution([64, 0, 8, 16, 32]), "act": CategoricalDistribution(["a", "b", "c"])})
    row = enc.from_params({"size": 16, "act": "a"})
    moved = enc.step(np.repeat(row[None], 200, axis=0), 1, 1, np.random.default_rng(0))
    sizes = {enc.to_params(r)["size"] for r in moved}
    assert sizes <= {8, 16, 32} and {8, 32} <= sizes  # one rank from 16, never a jump to 0 or 64
    assert all((r != row).sum() == 1 for r in moved)
