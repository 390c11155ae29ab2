"""Benchmark of the samplers: hypervolume per budget, and proposal latency of the samplers.

Problems (all discrete, as the PEFT search is):

* ``dtlz2``: BoTorch's DTLZ2 (6 inputs, 2 objectives) with each input on an 11-level grid;
* ``zdt1``: BoTorch's ZDT1 (6 inputs, 2 objectives) on the same grid;
* ``cat_dtlz2``: DTLZ2 (6 inputs) whose last two inputs are categorical: 5 unordered labels
  each mapped to a shuffled grid level, so order carries no information;
* ``peft``: the shipped ``mixed`` space on a MiniLM-shaped BERT config (43 parameters):
  objective 0 = a synthetic, seeded task score (a saturating function of per-layer capacity
  with interactions and deterministic per-configuration noise), maximised; objective 1 =
  trainable parameters, minimised, computed exactly from the configuration (the known-cost
  objective `mobo` is told about);
* ``replay_sst2_mixed``, ``replay_stsb_mixed``, ``replay_sst2_autopeft``, ``replay_stsb_autopeft``:
  real proxy results replayed (`benchmarks/landscape.py`): a proposal is answered with the
  score at the full budget and the exact trainable parameters of the nearest recorded
  configuration of the space that this search has not been answered with yet, and the trial
  records that configuration (`landscape.ReplayProblem.answer` says why; a proposal with
  trainable parameters is never answered with an empty run, and `mobo` gets the product's
  "no empty configuration" constraint, as in a real study); the report adds
  each sampler's share of the whole table's front (``--replay-rows N`` uses the first N
  recorded rows, as the files grow while recording runs).

Each (problem, sampler, seed) run does ``max(budgets)`` trials; the hypervolume at budget
``b`` is that of the first ``b`` trials. Hypervolume is computed in minimisation form against a
fixed reference point per problem (DTLZ2: 1.1, ZDT1: 11 as in BoTorch; PEFT: score 0.5 and
the parameter count of the largest configuration, parameters divided by that count).

Latency: for N finished trials (random configurations of the ``peft`` problem with their
values), the time of ``study.ask()`` (the sampler's proposal), first call ("cold", a fresh
sampler) and the median of the next three ("warm", the steady state of a running study).

Usage::

    python benchmarks/optimizer.py                 # everything, writes benchmarks/results/optimizer.md
    python benchmarks/optimizer.py --quick         # smoke mode: 2 seeds, budgets 10/20, small latency
    python benchmarks/optimizer.py --problems dtlz2 --samplers mobo,tpe --out /tmp/x.json
    python benchmarks/optimizer.py --report a.json b.json   # merge run files into the table
    python benchmarks/optimizer.py --first-seed 10 --seeds 30 --budgets 20 --out /tmp/s.json  # other seeds
    python benchmarks/optimizer.py --problems replay_sst2_mixed --replay-rows 80 --samplers random \
        --budgets 10,20,50,100,200 --lockstep --latency none --out /tmp/r.json
    python benchmarks/optimizer.py --rungs 20 --problems replay_sst2_mixed --seeds 5 --out /tmp/g.json
        # mobo with vs without rung data under simulated successive halving

The report (``--report``) regenerates the tables and the status of ``optimizer.md`` and keeps
everything below its `HAND_WRITTEN` line.

Runs append to a JSON file as they finish, so an interrupted benchmark keeps its results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from landscape import REPLAY_PROBLEMS, make_replay_problem, sampler_kwargs  # noqa: E402  (benchmarks/landscape.py)

RESULTS = Path(__file__).resolve().parent / "results"
ALL_SAMPLERS = ["mobo", "random", "nsga2", "tpe", "gp"]
LATENCY_POINTS = [50, 100, 200, 300]


# --------------------------------------------------------------------------- problems
class Problem:
    """A discrete multi-objective problem: distributions, directions, values, HV set-up."""

    name: str
    directions: list[str]
    choices: dict[str, list[Any]]
    ref_point: list[float]  # minimisation form, after `to_min`
    known_objectives: dict[int, Callable[[dict], float]] = {}

    def evaluate(self, params: dict) -> list[float]:
        raise NotImplementedError

    def to_min(self, values: list[float]) -> list[float]:
        """Values in minimisation form on the scale the hypervolume uses."""
        return [-v if d == "maximize" else v for v, d in zip(values, self.directions)]

    def distributions(self) -> dict[str, Any]:
        from optuna.distributions import CategoricalDistribution

        return {n: CategoricalDistribution(c) for n, c in self.choices.items()}

    def study_ref_point(self) -> list[float]:
        """The hypervolume reference point in the study's units and directions."""
        return [-r if d == "maximize" else r for r, d in zip(self.ref_point, self.directions)]

    def sampler_kwargs(self, name: str) -> dict[str, Any]:
        return sampler_kwargs(self, name)


GRID = [i / 10 for i in range(11)]


class GridProblem(Problem):
    """A BoTorch test function with every input on the 11-level grid 0, 0.1, ..., 1."""

    def __init__(self, name: str, function: Any, dim: int, categorical: int = 0):
        self.name = name
        self.function = function
        self.dim = dim
        self.directions = ["minimize"] * function.num_objectives
        self.ref_point = list(map(float, function._ref_point))
        self.choices: dict[str, list[Any]] = {f"x{i}": list(range(11)) for i in range(dim - categorical)}
        rng = np.random.default_rng(12345)
        self.label_value: dict[str, dict[str, float]] = {}
        for j in range(dim - categorical, dim):
            labels = [f"c{k}" for k in range(5)]
            levels = rng.permutation([0.0, 0.25, 0.5, 0.75, 1.0])
            self.choices[f"x{j}"] = labels
            self.label_value[f"x{j}"] = dict(zip(labels, map(float, levels)))
        self.known_objectives = {}

    def evaluate(self, params: dict) -> list[float]:
        x = [
            self.label_value[n][params[n]] if n in self.label_value else params[n] / 10
            for n in (f"x{i}" for i in range(self.dim))
        ]
        with torch.no_grad():
            return self.function(torch.tensor([x], dtype=torch.float64))[0].tolist()


class PeftProblem(Problem):
    """The ``mixed`` space on MiniLM-shaped BERT: synthetic score vs exact trainable parameters."""

    def __init__(self, space: str = "mixed", seed: int = 0):
        import autopeft
        from transformers import BertConfig

        self.name = "peft"
        self.space = autopeft.SearchSpace.from_yaml(space)
        self.model_config = BertConfig(
            hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536
        )
        self.parameters = self.space.parameters(self.model_config)
        self.choices = {p.name: list(p.choices) for p in self.parameters}
        self.directions = ["maximize", "minimize"]
        biggest = {p.name: (max(p.choices) if p.kind != "categorical" else p.choices[0]) for p in self.parameters}
        self.max_params = float(self.space.build(biggest, self.model_config).num_trainable_params(self.model_config))
        self.ref_point = [-0.5, 1.0]
        rng = np.random.default_rng(seed)
        n_layers = self.model_config.num_hidden_layers
        self.layer_weight = rng.uniform(0.3, 1.0, n_layers) * np.linspace(0.6, 1.4, n_layers)
        self.module_weight = dict(zip(
            ["serial_adapter", "parallel_adapter", "prefix_length", "lora.query", "lora.value", "lora.ffn_in", "ia3"],
            rng.uniform(0.2, 1.0, 7),
        ))
        self.activation_bonus = dict(zip(["relu", "gelu", "silu"], rng.uniform(-0.01, 0.01, 3)))
        self.seed = seed
        self.known_objectives = {1: self.trainable_params}

    def trainable_params(self, params: dict) -> float:
        return float(self.space.build(params, self.model_config).num_trainable_params(self.model_config))

    def score(self, params: dict) -> float:
        config = self.space.build(params, self.model_config)
        capacity = np.zeros(len(config.layers))
        for i, layer in enumerate(config.layers):
            c = 0.0
            c += self.module_weight["serial_adapter"] * math.log1p(layer.serial_adapter)
            c += self.module_weight["parallel_adapter"] * math.log1p(layer.parallel_adapter)
            c += self.module_weight["prefix_length"] * math.log1p(layer.prefix_length)
            c += self.module_weight["lora.query"] * math.log1p(layer.lora.get("query", 0))
            c += self.module_weight["lora.value"] * math.log1p(layer.lora.get("value", 0))
            c += self.module_weight["lora.ffn_in"] * math.log1p(layer.lora.get("ffn_in", 0))
            c += self.module_weight["ia3"] * (1.5 if layer.ia3 else 0.0)
            capacity[i] = c
        saturation = 1.0 - np.exp(-capacity / 3.0)
        main = float(np.dot(self.layer_weight, saturation) / self.layer_weight.sum())
        # Interactions: adjacent adapted layers help each other; prefix plus parallel adapter clash.
        adjacent = float(np.mean(saturation[:-1] * saturation[1:]))
        clash = float(np.mean([min(l.prefix_length, 8) * min(l.parallel_adapter, 64) / 512 for l in config.layers]))
        digest = hashlib.sha256(f"{self.seed}:{sorted(params.items())}".encode()).digest()
        noise = (int.from_bytes(digest[:8], "little") / 2**64 - 0.5) * 0.01
        raw = 0.75 * main + 0.25 * adjacent - 0.05 * clash + self.activation_bonus[config.adapter_activation] + noise
        return 0.5 + 0.4 * min(max(raw, 0.0), 1.0)

    def evaluate(self, params: dict) -> list[float]:
        return [self.score(params), self.trainable_params(params)]

    def to_min(self, values: list[float]) -> list[float]:
        return [-values[0], values[1] / self.max_params]

    def study_ref_point(self) -> list[float]:
        return [0.5, self.max_params]


def make_problem(name: str, replay_rows: int | None = None, answer_new_rows: bool = True) -> Any:
    """A problem by name: the synthetic ones here, or a replayed landscape (`landscape.py`;
    ``answer_new_rows``: answered row by row, as `ask_and_tell` does, else nearest-row)."""
    from botorch.test_functions.multi_objective import DTLZ2, ZDT1

    if name in REPLAY_PROBLEMS:
        return make_replay_problem(name, max_rows=replay_rows, answer_new_rows=answer_new_rows)
    factories: dict[str, Callable[[], Problem]] = {
        "dtlz2": lambda: GridProblem("dtlz2", DTLZ2(dim=6, num_objectives=2), 6),
        "zdt1": lambda: GridProblem("zdt1", ZDT1(dim=6, num_objectives=2), 6),
        "cat_dtlz2": lambda: GridProblem("cat_dtlz2", DTLZ2(dim=6, num_objectives=2), 6, categorical=2),
        "peft": lambda: PeftProblem(),
    }
    return factories[name]()


PROBLEMS = ["dtlz2", "zdt1", "cat_dtlz2", "peft", *REPLAY_PROBLEMS]


# --------------------------------------------------------------------------- hypervolume
def hypervolume(points_min: np.ndarray, ref_point: list[float]) -> float:
    """Hypervolume (minimisation) of the points that dominate the reference point."""
    from botorch.utils.multi_objective.hypervolume import Hypervolume
    from botorch.utils.multi_objective.pareto import is_non_dominated

    Y = -torch.as_tensor(points_min, dtype=torch.float64)
    ref = -torch.as_tensor(ref_point, dtype=torch.float64)
    Y = Y[(Y > ref).all(dim=-1)]
    if len(Y) == 0:
        return 0.0
    return float(Hypervolume(ref).compute(Y[is_non_dominated(Y)]))


# --------------------------------------------------------------------------- runs
def ask_and_tell(study: Any, problem: Any, answered: set[int]) -> float:
    """One trial of ``study`` on ``problem``: ask, suggest every parameter, evaluate, tell.

    A replayed problem answers with the nearest recorded row not yet in ``answered`` (the
    positions this study's trials were answered with, updated here), and the trial's parameters
    are rewritten to that row's before it is told (`landscape.ReplayProblem.answer`).
    Returns the seconds of the proposal (the ask and the suggestions).
    """
    t0 = time.perf_counter()
    trial = study.ask()
    params = {name: trial.suggest_categorical(name, problem.choices[name]) for name in problem.choices}
    seconds = time.perf_counter() - t0
    if hasattr(problem, "answer"):
        position = problem.answer(params, answered)
        answered.add(position)
        distributions = problem.distributions()
        for name, value in problem.assignment(position).items():
            dist = distributions[name]
            study._storage.set_trial_param(trial._trial_id, name, dist.to_internal_repr(value), dist)
        values = [float(problem.scores[position]), float(problem.params_count[position])]
    else:
        values = problem.evaluate(params)
    study.tell(trial, values)
    return seconds


def run_one(problem: Problem, sampler_name: str, seed: int, budgets: list[int]) -> dict[str, Any]:
    import optuna

    from autopeft.optimizer import make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = make_sampler(sampler_name, seed=seed, **problem.sampler_kwargs(sampler_name))
    study = optuna.create_study(directions=problem.directions, sampler=sampler)
    answered: set[int] = set()
    start = time.perf_counter()
    latencies = [ask_and_tell(study, problem, answered) for _ in range(max(budgets))]
    points = np.array([problem.to_min(t.values) for t in study.trials])
    distinct = len({tuple(sorted(t.params.items())) for t in study.trials})
    return {
        "problem": problem.name,
        "sampler": sampler_name,
        "seed": seed,
        "hv": {str(b): hypervolume(points[:b], problem.ref_point) for b in budgets},
        **_true_front(problem),
        "seconds": time.perf_counter() - start,
        "mean_proposal_s": float(np.mean(latencies)),
        "distinct": distinct,
    }


def _true_front(problem: Any) -> dict[str, Any]:
    """``{"true_hv": ...}`` for a replayed problem (the whole table's front), else nothing."""
    if hasattr(problem, "true_hypervolume"):
        return {"true_hv": problem.true_hypervolume(), "table_rows": len(problem.rows)}
    return {}


def run_lockstep(
    problem: Problem, sampler_name: str, seeds: list[int], budgets: list[int], on_budget: Callable[[list[dict]], None]
) -> list[dict[str, Any]]:
    """Run one study per seed, advancing them together one trial at a time.

    After each budget is reached by all studies, ``on_budget`` gets the results so far, so
    an interrupted benchmark still reports every seed at the budgets it reached.
    """
    import optuna

    from autopeft.optimizer import make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    studies, latencies, seconds = [], [[] for _ in seeds], [0.0 for _ in seeds]
    answered: list[set[int]] = [set() for _ in seeds]
    for seed in seeds:
        sampler = make_sampler(sampler_name, seed=seed, **problem.sampler_kwargs(sampler_name))
        studies.append(optuna.create_study(directions=problem.directions, sampler=sampler))
    results = [
        {"problem": problem.name, "sampler": sampler_name, "seed": seed, "hv": {}, "seconds": 0.0, **_true_front(problem)}
        for seed in seeds
    ]
    for n in range(1, max(budgets) + 1):
        for i, study in enumerate(studies):
            t0 = time.perf_counter()
            latencies[i].append(ask_and_tell(study, problem, answered[i]))
            seconds[i] += time.perf_counter() - t0
        if n in budgets:
            for i, study in enumerate(studies):
                points = np.array([problem.to_min(t.values) for t in study.trials])
                results[i]["hv"][str(n)] = hypervolume(points, problem.ref_point)
                results[i]["seconds"] = seconds[i]
                results[i]["mean_proposal_s"] = float(np.mean(latencies[i]))
                results[i]["distinct"] = len({tuple(sorted(t.params.items())) for t in study.trials})
                if hasattr(problem, "answer"):  # replayed: how many recorded rows the trials reached
                    results[i]["rows_hit"] = len(answered[i])
            on_budget(results)
    return results


#: Rungs of the simulated successive-halving runs (steps of the recorded curves; eta = 3).
RUNG_STEPS = [4, 11, 32]


def run_rungs(problem: Any, seed: int, use_rungs: bool, budget_full: int, eta: int = 3) -> dict[str, Any]:
    """`mobo` on a replayed problem under a simulated successive-halving stopping rule.

    Each proposal trains to the first rung of `RUNG_STEPS` (its score is the recorded curve's
    score there) and goes on to the next rung only if that score is in the top ``1/eta`` of
    the scores every trial reached at this rung (the first ``eta`` at a rung always go on).
    A stopped trial is told PRUNED with its intermediate values and ``total_steps``, as the
    ASHA scheduler leaves it; one that reaches the last rung is COMPLETE with (score,
    trainable params). The run stops when the training steps spent reach ``budget_full``
    full trials. ``use_rungs`` is the sampler's switch: False = it ignores PRUNED trials.
    Returns the hypervolume of the COMPLETE trials after each full-trial-equivalent of steps.
    A proposal maps to its nearest recorded row (`landscape.ReplayProblem.nearest`), as in
    ``benchmarks/multi_fidelity.py``; the recorded rung tables were made that way.
    """
    import optuna
    from optuna.trial import TrialState

    from autopeft.optimizer import make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    total = RUNG_STEPS[-1]
    sampler = make_sampler("mobo", seed=seed, use_rungs=use_rungs, **problem.sampler_kwargs("mobo"))
    study = optuna.create_study(directions=problem.directions, sampler=sampler)
    names = list(problem.choices)
    at_rung: dict[int, list[float]] = {s: [] for s in RUNG_STEPS}
    spent, done, hv_at = 0, [], {}
    while spent < budget_full * total:
        trial = study.ask()
        params = {name: trial.suggest_categorical(name, problem.choices[name]) for name in names}
        trial.set_user_attr("total_steps", total)
        i = problem.nearest(params)
        curve = problem.curve(problem.rows[i]["index"]) if i not in problem.failed else {}
        previous, finished = 0, True
        for step in RUNG_STEPS:
            score = curve.get(step, problem.chance)
            spent += step - previous
            previous = step
            # Trial.report refuses multi-objective studies; a scheduler records rungs in storage.
            study._storage.set_trial_intermediate_value(trial._trial_id, step, score)
            scores = at_rung[step]
            scores.append(score)
            keep = len(scores) <= eta or score >= sorted(scores, reverse=True)[max(0, len(scores) // eta - 1)]
            if step != total and not keep:
                finished = False
                break
        if finished:
            values = [float(problem.scores[i]), float(problem.params_count[i])]
            study.tell(trial, values)
            done.append(problem.to_min(values))
        else:
            study.tell(trial, state=TrialState.PRUNED)
        for b in range(1, budget_full + 1):
            if spent >= b * total and str(b) not in hv_at:
                hv_at[str(b)] = hypervolume(np.array(done).reshape(-1, 2), problem.ref_point)
    return {"problem": problem.name, "seed": seed, "use_rungs": use_rungs, "hv": hv_at,
            "trials": len(study.trials), "complete": len(done), "true_hv": problem.true_hypervolume()}


def latency(problem: Problem, sampler_name: str, n_finished: int, seed: int = 0, asks: int = 4) -> dict[str, Any]:
    import optuna
    from optuna.trial import create_trial

    from autopeft.optimizer import make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    distributions = problem.distributions()
    rng = np.random.default_rng(seed)
    sampler = make_sampler(sampler_name, seed=seed, **problem.sampler_kwargs(sampler_name))
    study = optuna.create_study(directions=problem.directions, sampler=sampler)
    names = list(problem.choices)
    for _ in range(n_finished):
        params = {n: problem.choices[n][int(rng.integers(len(problem.choices[n])))] for n in names}
        study.add_trial(create_trial(params=params, distributions=distributions, values=problem.evaluate(params)))
    times, cpu = [], []
    for _ in range(asks):
        t0, c0 = time.perf_counter(), time.process_time()
        trial = study.ask(distributions)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        study.tell(trial, problem.evaluate(trial.params))
    return {
        "sampler": sampler_name,
        "n": n_finished,
        "cold_s": times[0],
        "warm_s": statistics.median(times[1:]),
        "cold_cpu_s": cpu[0],
        "warm_cpu_s": statistics.median(cpu[1:]),
        "load": os.getloadavg()[0],
    }


# --------------------------------------------------------------------------- report
def table(runs: list[dict[str, Any]], lat: list[dict[str, Any]], budgets: list[int]) -> str:
    lines = []
    problems = [p for p in PROBLEMS if any(r["problem"] == p for r in runs)]
    samplers = [s for s in ALL_SAMPLERS if any(r["sampler"] == s for r in runs)]
    for problem in problems:
        lines.append(f"### {problem}: median hypervolume (seeds) - higher is better\n")
        true = sorted({(r.get("table_rows"), r["true_hv"]) for r in runs if r["problem"] == problem and r.get("true_hv")})
        if true:
            rows_n, hv = true[-1]
            lines.append(f"Replayed landscape: true front HV {hv:.4f} over the {rows_n} recorded configurations; "
                         "% = median share of it reached.\n")
        lines.append("| sampler | " + " | ".join(f"{b} trials" for b in budgets) + " | s/run |")
        lines.append("|---|" + "---|" * (len(budgets) + 1))
        best = {}
        for b in budgets:
            meds = [statistics.median(r["hv"][str(b)] for r in runs if r["problem"] == problem and r["sampler"] == s and str(b) in r["hv"])
                    for s in samplers if any(r["problem"] == problem and r["sampler"] == s and str(b) in r["hv"] for r in runs)]
            best[b] = max(meds) if meds else None
        for s in samplers:
            rs = [r for r in runs if r["problem"] == problem and r["sampler"] == s]
            if not rs:
                continue
            cells = []
            for b in budgets:
                hvs = [r["hv"][str(b)] for r in rs if str(b) in r["hv"]]
                if not hvs:
                    cells.append("-")
                    continue
                med = statistics.median(hvs)
                mark = "**" if best[b] is not None and med >= best[b] - 1e-12 else ""
                shares = [r["hv"][str(b)] / r["true_hv"] for r in rs if str(b) in r["hv"] and r.get("true_hv")]
                share = f", {100 * statistics.median(shares):.0f}%" if shares else ""
                cells.append(f"{mark}{med:.4f}{mark} (n={len(hvs)}{share})")
            lines.append(f"| {s} | " + " | ".join(cells) + f" | {statistics.median(r['seconds'] for r in rs):.0f} |")
        lines.append("")
    if lat:
        lines.append("### Proposal latency on `peft` (43 parameters), seconds per `study.ask()`\n")
        lines.append("wall = wall-clock seconds on this (shared) machine, cpu = CPU seconds of the process;")
        lines.append("warm = median of three asks on a running study, cold = a fresh sampler's first ask.\n")
        ns = sorted({r["n"] for r in lat})
        lines.append("| sampler | measure | " + " | ".join(f"{n} finished" for n in ns) + " |")
        lines.append("|---|---|" + "---|" * len(ns))
        for s in [s for s in ALL_SAMPLERS if any(r["sampler"] == s for r in lat)]:
            for label, k in (("warm wall", "warm_s"), ("warm cpu", "warm_cpu_s"), ("cold wall", "cold_s"), ("cold cpu", "cold_cpu_s")):
                cells = []
                for n in ns:
                    r = [x for x in lat if x["sampler"] == s and x["n"] == n and k in x]
                    cells.append(f"{r[-1][k]:.2f}" if r else "-")
                lines.append(f"| {s} | {label} | " + " | ".join(cells) + " |")
        loads = [x["load"] for x in lat if "load" in x]
        if loads:
            lines.append(f"\nLoad average (1 min) during the latency runs: {min(loads):.1f} to {max(loads):.1f} on 2 cores.")
        lines.append("")
    return "\n".join(lines)


def rung_table(results: list[dict[str, Any]]) -> str:
    """Median hypervolume of `run_rungs` results, with vs without rung data, per problem."""
    lines = []
    for problem in sorted({r["problem"] for r in results}):
        rs = [r for r in results if r["problem"] == problem]
        budgets = sorted({int(b) for r in rs for b in r["hv"]})
        shown = [b for b in budgets if b in (5, 10, 15, 20, 30, 50) or b == budgets[-1]]
        lines.append(f"### {problem}: mobo under simulated successive halving (eta 3, rungs {RUNG_STEPS})\n")
        lines.append("| rung data | " + " | ".join(f"{b} full trials of steps" for b in shown) + " | trials (complete) |")
        lines.append("|---|" + "---|" * (len(shown) + 1))
        for use in (True, False):
            sub = [r for r in rs if r["use_rungs"] == use]
            if not sub:
                continue
            cells = [f"{statistics.median(r['hv'][str(b)] for r in sub if str(b) in r['hv']):.4f} (n={len(sub)})"
                     for b in shown]
            count = f"{statistics.median(r['trials'] for r in sub):.0f} ({statistics.median(r['complete'] for r in sub):.0f})"
            lines.append(f"| {'used' if use else 'ignored'} | " + " | ".join(cells) + f" | {count} |")
        lines.append("")
    return "\n".join(lines)


def status(runs: list[dict[str, Any]], lat: list[dict[str, Any]], budgets: list[int]) -> str:
    """The issue's targets, met or missed, with the numbers behind each verdict."""

    def median(problem: str, sampler: str, budget: int) -> float | None:
        hvs = [r["hv"][str(budget)] for r in runs
               if r["problem"] == problem and r["sampler"] == sampler and str(budget) in r["hv"]]
        return statistics.median(hvs) if hvs else None

    lines = ["## Status against the targets\n", "| target | budget | mobo | best other | verdict |", "|---|---|---|---|---|"]
    for problem in [p for p in PROBLEMS if any(r["problem"] == p for r in runs)]:
        for b in budgets:
            mine = median(problem, "mobo", b)
            others = {s: median(problem, s, b) for s in ALL_SAMPLERS if s != "mobo"}
            others = {s: v for s, v in others.items() if v is not None}
            if mine is None or not others:
                continue
            best = max(others, key=others.get)
            verdict = "met" if mine >= others[best] - 1e-12 else "**missed**"
            lines.append(f"| hypervolume, `{problem}` | {b} | {mine:.4f} | {best} {others[best]:.4f} | {verdict} |")
    for problem in [p for p in REPLAY_PROBLEMS if any(r["problem"] == p for r in runs)]:
        mine, rand = median(problem, "mobo", 50), median(problem, "random", 200)
        if mine is not None and rand is not None:
            verdict = "met" if mine >= rand - 1e-12 else "**missed**"
            lines.append(f"| hypervolume, `{problem}`, mobo@50 vs random@200 | 50 | {mine:.4f} | random@200 {rand:.4f} | {verdict} |")
    for n in (100, 300):
        mine = [x for x in lat if x["sampler"] == "mobo" and x["n"] == n]
        gp = [x for x in lat if x["sampler"] == "gp" and x["n"] == n]
        if mine and gp:
            warm, limit = mine[-1]["warm_s"], 0.5 * gp[-1]["warm_s"]
            verdict = "met" if warm <= limit else "**missed**"
            lines.append(f"| latency <= 0.5 x gp (warm wall) | {n} finished | {warm:.2f} s | 0.5 x gp = {limit:.2f} s | {verdict} |")
    return "\n".join(lines) + "\n"


#: Line of the report from which on the text is hand-written; regenerating keeps it.
HAND_WRITTEN = "<!-- hand-written below: kept when the tables are regenerated -->"


def write_report(path: Path, text: str) -> None:
    """Write the generated tables to ``path``, keeping its hand-written part (after `HAND_WRITTEN`)."""
    kept = ""
    if path.exists() and HAND_WRITTEN in path.read_text():
        kept = path.read_text().split(HAND_WRITTEN, 1)[1]
    path.write_text("# Optimiser benchmark\n\n" + text + "\n" + HAND_WRITTEN + kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke mode: 2 seeds, budgets 10 and 20")
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--samplers", default=",".join(ALL_SAMPLERS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed + seeds - 1")
    parser.add_argument("--budgets", default="10,20,50,100")
    parser.add_argument("--latency", default=",".join(map(str, LATENCY_POINTS)), help="finished-trial counts, or 'none'")
    parser.add_argument("--latency-samplers", default="mobo,gp,tpe")
    parser.add_argument("--no-runs", action="store_true", help="only measure latency")
    parser.add_argument("--rungs", type=int, default=0, metavar="FULL_TRIALS",
                        help="instead: mobo with vs without rung data under simulated successive halving, "
                             "on the replayed --problems, for FULL_TRIALS trials' worth of steps")
    parser.add_argument("--lockstep", action="store_true",
                        help="advance all seeds of a (problem, sampler) together, saving at each budget")
    parser.add_argument("--replay-rows", type=int, default=None,
                        help="replayed problems use only their first N recorded rows (files grow while recording)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the target is 2 CPU cores)")
    parser.add_argument("--out", default=str(RESULTS / "optimizer_runs.json"), help="JSON file the runs append to")
    parser.add_argument("--report", nargs="*", help="only merge these JSON files into the report (see --report-to)")
    parser.add_argument("--report-to", default=str(RESULTS / "optimizer.md"), help="the Markdown file --report writes")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    budgets = [10, 20] if args.quick else [int(b) for b in args.budgets.split(",")]
    seeds = list(range(args.first_seed, args.first_seed + (2 if args.quick else args.seeds)))
    lat_points = [] if args.latency == "none" else ([50] if args.quick else [int(n) for n in args.latency.split(",")])

    if args.report is not None:
        runs, lat, rungs = [], [], []
        for file in args.report:
            data = json.loads(Path(file).read_text())
            runs += data.get("runs", [])
            lat += data.get("latency", [])
            rungs += data.get("rungs", [])
        report_budgets = [int(b) for b in args.budgets.split(",")]
        text = table(runs, lat, report_budgets) + "\n" + status(runs, lat, report_budgets)
        if rungs:
            text += "\n## Rung data (multi-fidelity)\n\n" + rung_table(rungs)
        print(text)
        report = Path(args.report_to)
        report.parent.mkdir(parents=True, exist_ok=True)
        write_report(report, text)
        return 0

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(out.read_text()) if out.exists() else {"runs": [], "latency": []}

    def save() -> None:
        out.write_text(json.dumps(data, indent=1))

    if args.rungs:
        data.setdefault("rungs", [])
        for problem_name in args.problems.split(","):
            problem = make_problem(problem_name, args.replay_rows, answer_new_rows=False)
            for seed in seeds:
                for use in (True, False):
                    result = run_rungs(problem, seed, use, args.rungs)
                    data["rungs"].append(result)
                    save()
                    print(json.dumps(result), flush=True)
        print(rung_table(data["rungs"]))
        return 0

    if not args.no_runs:
        for problem_name in args.problems.split(","):
            problem = make_problem(problem_name, args.replay_rows)
            for sampler_name in args.samplers.split(","):
                if args.lockstep:
                    kept = [r for r in data["runs"]
                            if not (r["problem"] == problem_name and r["sampler"] == sampler_name and r["seed"] in seeds)]

                    def on_budget(results: list[dict], kept: list[dict] = kept) -> None:
                        data["runs"] = kept + [dict(r, hv=dict(r["hv"])) for r in results]
                        save()
                        print(json.dumps(results[-1]), flush=True)

                    run_lockstep(problem, sampler_name, seeds, budgets, on_budget)
                    continue
                for seed in seeds:
                    if any(r["problem"] == problem_name and r["sampler"] == sampler_name and r["seed"] == seed
                           and str(max(budgets)) in r["hv"] for r in data["runs"]):
                        continue
                    result = run_one(problem, sampler_name, seed, budgets)
                    data["runs"].append(result)
                    save()
                    print(json.dumps(result), flush=True)
    if lat_points:
        problem = make_problem("peft")
        for sampler_name in args.latency_samplers.split(","):
            for n in lat_points:
                result = latency(problem, sampler_name, n)
                data["latency"].append(result)
                save()
                print(json.dumps(result), flush=True)
    text = table(data["runs"], data["latency"], budgets) + "\n" + status(data["runs"], data["latency"], budgets)
    print(text)
    if not args.quick and args.out == str(RESULTS / "optimizer_runs.json"):
        write_report(RESULTS / "optimizer.md", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
