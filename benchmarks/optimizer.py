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
  objective `mobo` is told about).

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

import numpy as np  # noqa: E402
import torch  # noqa: E402

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
        """`mobo` is told the space, the known-cost objectives and the problem's reference point."""
        if name == "mobo":
            return {
                "search_space": self.distributions(),
                "known_objectives": dict(self.known_objectives),
                "reference_point": self.study_ref_point(),
            }
        return {}


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


def make_problem(name: str) -> Problem:
    from botorch.test_functions.multi_objective import DTLZ2, ZDT1

    factories: dict[str, Callable[[], Problem]] = {
        "dtlz2": lambda: GridProblem("dtlz2", DTLZ2(dim=6, num_objectives=2), 6),
        "zdt1": lambda: GridProblem("zdt1", ZDT1(dim=6, num_objectives=2), 6),
        "cat_dtlz2": lambda: GridProblem("cat_dtlz2", DTLZ2(dim=6, num_objectives=2), 6, categorical=2),
        "peft": lambda: PeftProblem(),
    }
    return factories[name]()


PROBLEMS = ["dtlz2", "zdt1", "cat_dtlz2", "peft"]


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
def run_one(problem: Problem, sampler_name: str, seed: int, budgets: list[int]) -> dict[str, Any]:
    import optuna

    from autopeft.optimizer import make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = make_sampler(sampler_name, seed=seed, **problem.sampler_kwargs(sampler_name))
    study = optuna.create_study(directions=problem.directions, sampler=sampler)
    names = list(problem.choices)
    latencies = []

    def objective(trial: Any) -> list[float]:
        t0 = time.perf_counter()
        params = {n: trial.suggest_categorical(n, problem.choices[n]) for n in names}
        latencies.append(time.perf_counter() - t0)
        return problem.evaluate(params)

    start = time.perf_counter()
    study.optimize(objective, n_trials=max(budgets))
    points = np.array([problem.to_min(t.values) for t in study.trials])
    distinct = len({tuple(sorted(t.params.items())) for t in study.trials})
    return {
        "problem": problem.name,
        "sampler": sampler_name,
        "seed": seed,
        "hv": {str(b): hypervolume(points[:b], problem.ref_point) for b in budgets},
        "seconds": time.perf_counter() - start,
        "mean_proposal_s": float(np.mean(latencies)),
        "distinct": distinct,
    }


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
    names = list(problem.choices)
    studies, latencies, seconds = [], [[] for _ in seeds], [0.0 for _ in seeds]
    for seed in seeds:
        sampler = make_sampler(sampler_name, seed=seed, **problem.sampler_kwargs(sampler_name))
        studies.append(optuna.create_study(directions=problem.directions, sampler=sampler))
    results = [
        {"problem": problem.name, "sampler": sampler_name, "seed": seed, "hv": {}, "seconds": 0.0}
        for seed in seeds
    ]
    for n in range(1, max(budgets) + 1):
        for i, study in enumerate(studies):
            t0 = time.perf_counter()
            trial = study.ask()
            params = {name: trial.suggest_categorical(name, problem.choices[name]) for name in names}
            latencies[i].append(time.perf_counter() - t0)
            study.tell(trial, problem.evaluate(params))
            seconds[i] += time.perf_counter() - t0
        if n in budgets:
            for i, study in enumerate(studies):
                points = np.array([problem.to_min(t.values) for t in study.trials])
                results[i]["hv"][str(n)] = hypervolume(points, problem.ref_point)
                results[i]["seconds"] = seconds[i]
                results[i]["mean_proposal_s"] = float(np.mean(latencies[i]))
                results[i]["distinct"] = len({tuple(sorted(t.params.items())) for t in study.trials})
            on_budget(results)
    return results


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
                cells.append(f"{mark}{med:.4f}{mark} (n={len(hvs)})")
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
    for n, limit in ((100, 1.0), (300, 3.0)):
        r = [x for x in lat if x["sampler"] == "mobo" and x["n"] == n]
        if r:
            warm = r[-1]["warm_s"]
            verdict = "met" if warm <= limit else "**missed**"
            lines.append(f"| latency <= {limit:.0f} s (warm wall) | {n} finished | {warm:.2f} s | - | {verdict} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke mode: 2 seeds, budgets 10 and 20")
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--samplers", default=",".join(ALL_SAMPLERS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed + seeds - 1")
    parser.add_argument("--budgets", default="20,50,100")
    parser.add_argument("--latency", default=",".join(map(str, LATENCY_POINTS)), help="finished-trial counts, or 'none'")
    parser.add_argument("--latency-samplers", default="mobo,gp,tpe")
    parser.add_argument("--no-runs", action="store_true", help="only measure latency")
    parser.add_argument("--lockstep", action="store_true",
                        help="advance all seeds of a (problem, sampler) together, saving at each budget")
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
        runs, lat = [], []
        for file in args.report:
            data = json.loads(Path(file).read_text())
            runs += data.get("runs", [])
            lat += data.get("latency", [])
        report_budgets = [int(b) for b in args.budgets.split(",")]
        text = table(runs, lat, report_budgets) + "\n" + status(runs, lat, report_budgets)
        print(text)
        report = Path(args.report_to)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text("# Optimiser benchmark\n\n" + text + "\n")
        return 0

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(out.read_text()) if out.exists() else {"runs": [], "latency": []}

    def save() -> None:
        out.write_text(json.dumps(data, indent=1))

    if not args.no_runs:
        for problem_name in args.problems.split(","):
            problem = make_problem(problem_name)
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
        (RESULTS / "optimizer.md").write_text("# Optimiser benchmark\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
