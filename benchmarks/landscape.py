"""Replayed PEFT problems: real proxy results of recorded configurations, served to any sampler.

``benchmarks/record_landscape.py`` trains a fixed set of uniformly drawn configurations of a
space (``mixed``, ``autopeft``) once, with the real MiniLM and task data, and keeps each one's
assignment, exact trainable-parameter count and learning curve (task score at a few steps of
one uninterrupted run). `ReplayProblem` turns such a file into a benchmark problem:

* the search space is the space's own parameters on the MiniLM config
  (``load_space(space).parameters(model_config)``, one ``CategoricalDistribution`` each), so a
  sampler searches exactly what it would search in a real study;
* a proposed assignment is mapped to the **nearest recorded configuration**: fewest differing
  parameters (Hamming distance), ties broken by the summed rank distance of the ordinal
  parameters (``|rank a - rank b| / (k - 1)`` each, so 16 is nearer 32 than 64), then by the
  lower recorded index. Deterministic, and a recorded assignment maps to itself;
* the values are that configuration's: objective 0 = task score at the last recorded step
  (the full budget, e.g. step 32 of ``quick``), maximised; objective 1 = its exact
  ``trainable_params``, minimised. Objective 1 is a known function of the assignment, which
  `mobo` is told, as in a real study (`trainable_params`, the nearest row's count, for a
  nearest-row replay; `trainable_of`, the asked configuration's own count, for a search
  answered row by row, see below);
* rows whose ``status`` is not ``ok`` (a failed or empty run) score the task's **chance
  score** (the score of a model that learnt nothing: majority share, or 0 correlation) with
  their own parameter count. Chosen over failed trials so that every proposal gives every
  sampler the same kind of feedback: a real study would learn that such a configuration is
  useless, and a chance score can never add to the hypervolume (it sits on the reference
  point). Failed rows are listed in `failed`.

Hypervolume (minimisation form, as ``benchmarks/optimizer.py``): ``(-score, params / max_params)``
against ``(-chance, 1)``, with ``max_params`` the largest configuration of the space. The
true front's hypervolume, `true_hypervolume`, is that of the whole table: a sampler's
shortfall ``1 - HV / true_hypervolume`` is its distance to the best any search of this table
could do.

Answering a search (`answer`, used by ``benchmarks/optimizer.py``). A real search pays for
every proposal it makes and learns the score of exactly the configuration it proposed. A table
of a few hundred rows over a 43-parameter space is sparse: the nearest recorded row to a
uniformly drawn configuration differs in 20-25 of the 43 parameters (10th-90th percentile, the
400-row SST-2 table), and two different proposals of one search (e.g. one-parameter edits of
its best configuration) often share that nearest row. If such a proposal got the nearest
row's values again, the search would pay a trial for a result it already has, and a
model-based sampler would be told the row's score for a configuration that row is not. So a
search is answered row by row: a proposal gets the **nearest row this search has not been
answered with yet** (the nearest row once all have been used), and the trial records **that
row's assignment** (its parameters are rewritten before it is told), so every sampler models
what was actually evaluated. Every sampler is answered by the same rule. Two more rules keep
the replay to what a real study does: a proposal that has trainable parameters is never
answered with an ``empty`` row (every module off: a real study trains the proposal it made),
and `mobo` is given the constraint the product's search loop gives it
(``SearchLoop.params_constraint``: no empty configurations; `non_empty`). Without them `mobo`
spent 2 of its 8 design trials on the 8 empty rows of the ``autopeft`` SST-2 table (seeds 0
and 1; its cost-spread design asks for the cheapest configuration first). Chosen over the plain
nearest-row lookup, which the benchmark used until 2026-12-03: there, local samplers reached
10-17 distinct rows of 50 in 100 trials while random reached 48-50, and the comparison measured
how often a sampler's proposals fell into new rows' neighbourhoods rather than how well it
searched (``benchmarks/results/optimizer.md`` keeps both sets of numbers).

`curve` gives a row's learning curve ``{step: score}`` (multi-fidelity benchmarks replay
rung results from it); `nearest` gives the row an assignment maps to.

The files grow while recording runs: a problem loads what is there when it is built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

LANDSCAPES = Path(__file__).resolve().parent / "results" / "landscapes"

#: Problem name -> (task, space) of the shipped landscape files.
REPLAY_PROBLEMS: dict[str, tuple[str, str]] = {
    "replay_sst2_mixed": ("glue/sst2", "mixed"),
    "replay_stsb_mixed": ("glue/stsb", "mixed"),
    "replay_sst2_autopeft": ("glue/sst2", "autopeft"),
    "replay_stsb_autopeft": ("glue/stsb", "autopeft"),
}


class LandscapeError(ValueError):
    """A landscape file is missing, empty or does not match its space."""


def landscape_path(task: str, space: str, root: Path = LANDSCAPES) -> Path:
    """The file ``benchmarks/record_landscape.py`` writes for ``task`` x ``space``."""
    return root / f"{task.replace('/', '_')}__{space}.jsonl"


def minilm_config() -> Any:
    """The MiniLM backbone's config (the one the landscapes were recorded with), offline."""
    from transformers import AutoConfig

    from autopeft.backbone import default_model

    return AutoConfig.from_pretrained(default_model())


def sampler_kwargs(problem: Any, name: str) -> dict[str, Any]:
    """Constructor arguments of sampler ``name`` on ``problem`` (a replayed or a synthetic one):
    `mobo` is told the space, the known-cost objectives and the problem's reference point; the
    others get nothing extra."""
    if name == "mobo":
        kwargs = {
            "search_space": problem.distributions(),
            "known_objectives": dict(problem.known_objectives),
            "reference_point": problem.study_ref_point(),
        }
        if getattr(problem, "answer_new_rows", False):
            # As `autopeft.service.loop.SearchLoop.params_constraint` does in a real study.
            kwargs["constraint"] = problem.non_empty
        return kwargs
    return {}


class ReplayProblem:
    """A recorded landscape as a 2-objective problem (score max, trainable params min).

    Args:
        path: a ``.jsonl`` landscape file (rows as ``record_landscape.py`` writes them).
        name: the problem's name in reports (default: the file's stem).
        model_config: the backbone config the space is expanded on (default: MiniLM's).
        min_rows: fewest rows a usable file has; fewer raises `LandscapeError`.
        max_rows: use only the first ``max_rows`` rows (the file grows while recording runs:
            a fixed prefix keeps runs made at different times comparable).
        answer_new_rows: the searches on this problem are answered row by row (`answer`, see
            "Answering a search" in the module docstring): the known objective a sampler is told
            is then the exact trainable-parameter count of the configuration it asks about
            (`trainable_of`), as in a real study. False (plain nearest-row replays, e.g.
            ``benchmarks/multi_fidelity.py``): it is the nearest row's count
            (`trainable_params`), which is what such a replay answers.

    Attributes (arrays have one row per recorded configuration, ``n`` rows, ``P`` parameters):
        rows: the recorded rows (dicts), in file order.
        index_rows: (n, P) int64, the position of each row's value in each parameter's choices.
        scores: (n,) float64, score at the last recorded step (chance score for failed rows).
        params_count: (n,) float64, exact trainable parameters.
        chance: the task's chance score (median of the rows' ``chance_score``).
    """

    directions = ["maximize", "minimize"]

    def __init__(self, path: str | Path, name: str | None = None, model_config: Any = None, min_rows: int = 2,
                 max_rows: int | None = None, answer_new_rows: bool = False):
        from autopeft.spaces import load_space

        path = Path(path)
        if not path.exists():
            raise LandscapeError(f"{path}: no such landscape file; record it with benchmarks/record_landscape.py")
        self.path = path
        self.rows: list[dict] = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        self.rows = sorted(self.rows, key=lambda r: r.get("index", 0))[:max_rows]
        if len(self.rows) < min_rows:
            raise LandscapeError(f"{path}: {len(self.rows)} rows, fewer than the {min_rows} a replay needs")
        self.name = name or path.stem
        self.task = self.rows[0].get("task")
        self.space_name = self.rows[0].get("space")
        self.space = load_space(self.space_name)
        self.model_config = model_config if model_config is not None else minilm_config()
        self.parameters = self.space.parameters(self.model_config)
        self.choices: dict[str, list[Any]] = {p.name: list(p.choices) for p in self.parameters}
        biggest = {p.name: (max(p.choices) if p.kind != "categorical" else p.choices[0]) for p in self.parameters}
        self.max_params = float(self.space.build(biggest, self.model_config).num_trainable_params(self.model_config))
        self._rank_scale = self._ordinal_ranks()
        self.index_rows = np.array([self._index_row(r["params"], where=f"row {r.get('index')}") for r in self.rows],
                                   dtype=np.int64).reshape(-1, len(self.parameters))
        chances = [c["chance_score"] for r in self.rows for c in r.get("curve", []) if c.get("chance_score") is not None]
        self.chance = float(np.median(chances)) if chances else 0.0
        self.failed = [i for i, r in enumerate(self.rows) if r.get("status") != "ok" or not r.get("curve")]
        self.scores = np.array([self.chance if i in self.failed else float(r["curve"][-1]["score"])
                                for i, r in enumerate(self.rows)], dtype=np.float64)
        self.params_count = np.array([self._row_params(r) for r in self.rows], dtype=np.float64)
        self.empty = np.array([i for i, r in enumerate(self.rows) if r.get("status") == "empty"], dtype=np.int64)
        self.ref_point = [-self.chance, 1.0]
        self.answer_new_rows = answer_new_rows
        self.known_objectives = {1: self.trainable_of if answer_new_rows else self.trainable_params}
        self._by_index = {int(r["index"]): i for i, r in enumerate(self.rows) if "index" in r}

    # ----------------------------------------------------------------- set-up helpers
    def _ordinal_ranks(self) -> list[np.ndarray | None]:
        """Per parameter: rank / (k - 1) of each choice for ordinals, None otherwise."""
        out: list[np.ndarray | None] = []
        for p in self.parameters:
            if p.kind == "ordinal" and len(p.choices) > 1:
                order = sorted(range(len(p.choices)), key=lambda i: p.choices[i])
                rank = np.empty(len(p.choices))
                rank[order] = np.arange(len(p.choices)) / (len(p.choices) - 1)
                out.append(rank)
            else:
                out.append(None)
        return out

    def _index_row(self, params: Mapping[str, Any], where: str = "assignment") -> list[int]:
        row = []
        for p in self.parameters:
            if p.name not in params:
                raise LandscapeError(f"{self.path}: {where} lacks parameter {p.name!r} of space {self.space_name!r}")
            value = params[p.name]
            matches = [i for i, c in enumerate(p.choices) if c == value and type(c) is type(value)]
            matches = matches or [i for i, c in enumerate(p.choices) if c == value]
            if not matches:
                raise LandscapeError(f"{self.path}: {where}: {p.name}={value!r} is not one of {list(p.choices)}")
            row.append(matches[0])
        return row

    def _row_params(self, row: dict) -> float:
        if row.get("trainable_params") is not None:
            return float(row["trainable_params"])
        return self.trainable_of(row["params"])

    def trainable_of(self, params: Mapping[str, Any]) -> float:
        """Exact trainable parameters of an assignment (not of its nearest row)."""
        return float(self.space.build(params, self.model_config).num_trainable_params(self.model_config))

    def non_empty(self, params: Mapping[str, Any]) -> bool:
        """True when the assignment builds a configuration with trainable PEFT parameters."""
        return self.trainable_of(params) > 0

    # ----------------------------------------------------------------- the problem interface
    def distributions(self) -> dict[str, Any]:
        """Name -> Optuna ``CategoricalDistribution``: the space's own parameters."""
        from optuna.distributions import CategoricalDistribution

        return {n: CategoricalDistribution(c) for n, c in self.choices.items()}

    def by_distance(self, params: Mapping[str, Any]) -> np.ndarray:
        """Positions (in `rows`) of every recorded configuration, nearest ``params`` first.

        Nearest = fewest differing parameters, then the smaller summed rank distance of the
        ordinal parameters, then the lower position (see module docstring).
        """
        row = np.array(self._index_row(params), dtype=np.int64)
        hamming = (self.index_rows != row).sum(axis=1)
        ordinal = np.zeros(len(self.index_rows))
        for j, rank in enumerate(self._rank_scale):
            if rank is not None:
                ordinal += np.abs(rank[self.index_rows[:, j]] - rank[row[j]])
        # lexsort sorts by the last key first: Hamming, then rounded rank distance, then position.
        return np.lexsort((np.arange(len(hamming)), np.round(ordinal, 9), hamming))

    def nearest(self, params: Mapping[str, Any]) -> int:
        """Position (in `rows`) of the recorded configuration ``params`` maps to; see module docstring."""
        return int(self.by_distance(params)[0])

    def answer(self, params: Mapping[str, Any], evaluated: set[int]) -> int:
        """Position of the recorded configuration that answers a proposal in a search that has
        already been answered with the rows ``evaluated``: the nearest row not among them (the
        nearest row once every row has been used). See "Answering a search" in the module
        docstring."""
        order = self.by_distance(params)
        if len(self.empty) and self.non_empty(params):
            # A real study trains a non-empty proposal: it is never answered with an empty run.
            order = order[~np.isin(order, self.empty)]
        fresh = order[~np.isin(order, list(evaluated))] if evaluated else order
        return int(fresh[0] if len(fresh) else order[0])

    def assignment(self, position: int) -> dict[str, Any]:
        """The recorded configuration at ``position`` as an assignment of the space's choices."""
        return {name: self.choices[name][int(k)] for name, k in zip(self.choices, self.index_rows[position])}

    def evaluate(self, params: Mapping[str, Any]) -> list[float]:
        """[score, trainable params] of the recorded configuration nearest ``params``."""
        i = self.nearest(params)
        return [float(self.scores[i]), float(self.params_count[i])]

    def trainable_params(self, params: Mapping[str, Any]) -> float:
        """Objective 1 as the problem reports it: the nearest recorded row's exact count."""
        return float(self.params_count[self.nearest(params)])

    def to_min(self, values: list[float]) -> list[float]:
        return [-values[0], values[1] / self.max_params]

    def study_ref_point(self) -> list[float]:
        """The hypervolume reference point in the study's units and directions."""
        return [self.chance, self.max_params]

    def sampler_kwargs(self, name: str) -> dict[str, Any]:
        return sampler_kwargs(self, name)

    # ----------------------------------------------------------------- table-wide facts
    def points_min(self, positions: Any = None) -> np.ndarray:
        """(n, 2) minimisation-form values of rows ``positions`` (default: every row)."""
        idx = np.arange(len(self.rows)) if positions is None else np.asarray(positions, dtype=np.int64)
        return np.stack([-self.scores[idx], self.params_count[idx] / self.max_params], axis=1)

    def true_hypervolume(self) -> float:
        """Hypervolume of the whole table's front: the most any search of this table reaches."""
        return hypervolume_2d(self.points_min(), self.ref_point)

    def curve(self, index: int) -> dict[int, float]:
        """Learning curve ``{step: score}`` of the row whose recorded ``index`` is ``index``.

        Empty for a row that recorded no step (e.g. an empty configuration).
        """
        if index not in self._by_index:
            raise LandscapeError(f"{self.path}: no row with index {index}")
        row = self.rows[self._by_index[index]]
        return {int(c["step"]): float(c["score"]) for c in row.get("curve", [])}

    def total_steps(self) -> int:
        """The full budget's step count: the largest step any row recorded."""
        steps = [int(c["step"]) for r in self.rows for c in r.get("curve", [])]
        return max(steps) if steps else 0


def hypervolume_2d(points_min: np.ndarray, ref_point: list[float]) -> float:
    """Exact 2-objective hypervolume (minimisation) of the points that dominate ``ref_point``.

    ``points_min``: (n, 2). Pure numpy (a sweep over the sorted front), no torch needed.
    """
    pts = np.asarray(points_min, dtype=np.float64).reshape(-1, 2)
    ref = np.asarray(ref_point, dtype=np.float64)
    pts = pts[(pts < ref).all(axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    hv, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return float(hv)


def make_replay_problem(name: str, root: Path = LANDSCAPES, max_rows: int | None = None,
                        answer_new_rows: bool = False) -> ReplayProblem:
    """A shipped replay problem by name (see `REPLAY_PROBLEMS`), on its first ``max_rows`` rows."""
    if name not in REPLAY_PROBLEMS:
        raise LandscapeError(f"unknown replay problem {name!r}; choose one of {list(REPLAY_PROBLEMS)}")
    task, space = REPLAY_PROBLEMS[name]
    return ReplayProblem(landscape_path(task, space, root), name=name, max_rows=max_rows,
                         answer_new_rows=answer_new_rows)
