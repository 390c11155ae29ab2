"""`MOBOSampler`: multi-objective Bayesian optimisation (BoTorch qLogNEHVI) as an Optuna sampler.

How one proposal is made (``sample_relative``):

1. The search space is the ``search_space`` given to the constructor, else the intersection
   of the finished trials' spaces. Every parameter must be a ``CategoricalDistribution``; it is
   encoded by `autopeft.optimizer.encoding` (ordinals by rank, bools binary, strings one-hot).
2. Finished trials of this study (COMPLETE), PRUNED ones with rung data (see "Rung data"
   below), failed ones and running ones (pending) are read from the study. None of their
   configurations, nor what this sampler proposed for them (`PROPOSAL_ATTR`), is ever
   proposed again.
3. Initial design: until ``n_startup_trials`` trials are complete, the next unused point of a
   scrambled Sobol sequence over the parameters is proposed (infeasible points are skipped,
   i.e. reject-sampled). With a known objective (trainable parameters), the design's first
   points are instead spread over that objective, cheapest and dearest first (see
   `MOBOSampler._spread_by_cost`). Warm-start trials shorten this phase (at least 2 own
   trials remain).
4. Otherwise a float64 GP is fitted to the modelled objectives (those not in
   ``known_objectives``) of the own trials plus the warm-start trials. Warm-start trials are
   marked with a task-indicator feature (1 = another study, 0 = this one): the GP learns how
   much the tasks differ from that feature's lengthscale, and candidates are scored at 0.
5. qLogNEHVI (qLogNEI for one objective), with the study's RUNNING trials as ``X_pending`` and
   the known objectives computed exactly by their callables, is maximised over feasible,
   unseen configurations: a pool of random configurations plus one- and two-parameter
   mutations of the current Pareto set is ranked (known objectives of configurations not yet
   computed are approximated by a one-hot ridge fit for this ranking only; optionally,
   ``n_step_candidates`` small rank steps of the Pareto set, see `SpaceEncoding.step`), the best
   ``shortlist`` are scored with exact values and checked against the constraint, and a
   hill-climb through one-parameter neighbours refines the best ones (the local search
   around the Pareto set of AutoPEFT). Own trials that are surely dominated (GP mean +- 3 sd)
   are dropped from the qLogNEHVI baseline, which keeps it small as trials accumulate.

Rung data (multi-fidelity schedulers such as ASHA). A trial stopped at a rung ends PRUNED
with ``trial.intermediate_values`` = {training step: task score} and the user attribute
``"total_steps"`` (the full budget's steps). Such a trial is a GP data point for the score
(objective 0) at its last rung: the score is its last intermediate value, and one extra GP
input, the fidelity ``1 + log(step / total_steps) / log(total_steps)`` (step 1 -> 0, the full
budget -> 1), says how far it trained; COMPLETE trials sit at fidelity 1, and candidates are
scored at fidelity 1, so the acquisition is about full-budget results. The GP learns from that
input's lengthscale how much a low rung says about the full budget (a long lengthscale:
rungs rank configurations as the full budget does; a short one: they carry little). Chosen
over fitting on the top rung with lower rungs as a prior because one model keeps qLogNEHVI's
cached baseline and needs no second fit. The column appears only when the study has
rung-only trials, so a study without them is modelled exactly as before. Used when the score
is the only modelled objective (the others, e.g. trainable parameters, are
``known_objectives``): a PRUNED trial reports the score only. Evidence (benchmarks/results/
optimizer.md, "Rung data"): mobo with vs without rung data on replayed learning curves under a
simulated successive-halving stopping rule. ``use_rungs=False`` switches it off.

Constraints (``constraint`` and/or ``max_cost``) are checked on every configuration before it
can be proposed, in the initial design too. Known-objective values and feasibility are cached
per configuration, so a callable is called once per configuration per sampler.

Objective directions come from the study. Same seed and same history give the same proposal.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from scipy.stats import qmc
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import intersection_search_space
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from autopeft.optimizer.acquisition import KnownObjectiveLookup, build_acquisition, evaluate, maximize_discrete
from autopeft.optimizer.encoding import SpaceEncoding
from autopeft.optimizer.errors import OptimizerError
from autopeft.optimizer.surrogate import SURROGATE_CHOICES, fit_surrogate

logger = logging.getLogger(__name__)

Params = Mapping[str, Any]


class MOBOSampler(BaseSampler):
    """Multi-objective BO over a discrete (categorical/ordinal/binary) space; see module docstring.

    Args:
        seed: seed of every random choice (Sobol scrambling, candidate pools, MC samples).
        search_space: name -> ``CategoricalDistribution`` of every parameter (e.g.
            ``space.distributions(model_config)``). Recommended: without it the space is
            inferred from finished trials, so the very first trial is drawn independently
            (then, if a constraint is set, every parameter takes its smallest choice, which
            is the cheapest configuration in PEFT spaces).
        known_objectives: objective index -> ``callable(params) -> float`` for objectives that
            are exact functions of the configuration; they are computed, never modelled.
        constraint: ``callable(params) -> bool``; False configurations are never proposed.
        max_cost: ``(callable(params) -> float, limit)``; configurations above the limit are
            never proposed (e.g. trainable parameters, or percent of the backbone).
        n_startup_trials: size of the initial design (Sobol points, spread over the first known
            objective when there is one; see `_spread_by_cost`).
        warm_start_trials: finished trials of other studies over the same parameter names,
            used as extra GP data tagged with a task-indicator feature.
        surrogate: ``"auto"`` (by the number of features: ``"matern"`` for few, else
            ``"matern_dim_scaled"``), ``"matern"`` (scaled Matérn-5/2 ARD, classic priors),
            ``"matern_dim_scaled"`` (Hvarfner et al.'s dimension-scaled prior) or ``"saas"``
            (MAP SAAS, many dimensions); see `autopeft.optimizer.surrogate`.
        reference_point: hypervolume reference point in the study's objective units and
            directions; inferred from the observed front (nadir minus 10% of the range) if None.
        mc_samples: quasi-MC samples of qLogNEHVI.
        n_random_candidates, n_mutation_candidates: sizes of the candidate pool.
        n_step_candidates, max_step: extra candidates that move one or two parameters of a
            Pareto-set configuration by at most ``max_step`` ranks (0: none, the default; it
            won on cat-DTLZ2 at 20 trials, 0.064 vs 0.047, and tied on DTLZ2, so it is not on).
        lower_reference_point: how a given reference point that no trial beats yet is
            lowered: ``"minimal"``, ``"front"`` (True) or ``"none"`` (False); see `_ref_point`.
        max_neighbors: most one-parameter moves screened per hill-climbing step.
        shortlist: candidates of the pool scored with exact known objectives and checked
            for feasibility (the pool is ranked first with a cheap stand-in, see `_OneHotRidge`).
        independent_sampler: sampler for parameters outside the relative search space.
        n_threads: torch threads while proposing (restored afterwards); None leaves torch's
            setting. The GPs are small (hundreds of points), so one thread is as fast as
            several on an idle host and far faster on a busy one (no oversubscription with
            the trainers sharing the host).
        use_rungs: learn from PRUNED trials' last intermediate value (multi-fidelity
            schedulers such as ASHA); see "Rung data" in the module docstring.
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        search_space: Mapping[str, BaseDistribution] | None = None,
        known_objectives: Mapping[int, Callable[[Params], float]] | None = None,
        constraint: Callable[[Params], bool] | None = None,
        max_cost: tuple[Callable[[Params], float], float] | None = None,
        n_startup_trials: int = 8,
        warm_start_trials: Sequence[FrozenTrial] | None = None,
        surrogate: str = "auto",
        reference_point: Sequence[float] | None = None,
        mc_samples: int = 64,
        n_random_candidates: int = 128,
        n_mutation_candidates: int = 192,
        n_step_candidates: int = 0,
        max_step: int = 2,
        lower_reference_point: bool | str = "minimal",
        max_neighbors: int = 64,
        shortlist: int = 24,
        independent_sampler: BaseSampler | None = None,
        n_threads: int | None = 1,
        use_rungs: bool = True,
    ) -> None:
        if surrogate not in SURROGATE_CHOICES:
            raise OptimizerError(f"surrogate: unknown {surrogate!r}; choose one of {list(SURROGATE_CHOICES)}")
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int) or n_startup_trials < 1:
            raise OptimizerError(f"n_startup_trials: expected a positive integer, got {n_startup_trials!r}")
        if max_cost is not None and (not isinstance(max_cost, tuple) or len(max_cost) != 2 or not callable(max_cost[0])):
            raise OptimizerError(f"max_cost: expected (callable(params) -> float, limit), got {max_cost!r}")
        if search_space is not None:
            bad = [n for n, d in search_space.items() if not isinstance(d, CategoricalDistribution)]
            if bad:
                raise OptimizerError(
                    f"search_space: {bad[:3]} are not CategoricalDistribution; MOBOSampler searches "
                    "discrete spaces: give every parameter its list of choices"
                )
        for index, fn in (known_objectives or {}).items():
            if isinstance(index, bool) or not isinstance(index, int) or index < 0 or not callable(fn):
                raise OptimizerError(f"known_objectives: expected {{objective index: callable}}, got {index!r}: {fn!r}")
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._search_space = dict(search_space) if search_space is not None else None
        self._known = dict(known_objectives or {})
        self._constraint = constraint
        self._max_cost = max_cost
        self._n_startup = n_startup_trials
        self._warm = list(warm_start_trials or [])
        self._surrogate = surrogate
        self._reference_point = None if reference_point is None else [float(v) for v in reference_point]
        self._mc_samples = mc_samples
        self._n_random = n_random_candidates
        self._n_mutation = n_mutation_candidates
        self._n_step = n_step_candidates
        self._max_step = max_step
        relax = {True: "front", False: "none"}.get(lower_reference_point, lower_reference_point)  # type: ignore[arg-type]
        if relax not in ("front", "minimal", "none"):
            raise OptimizerError(
                f"lower_reference_point: expected True/'front', 'minimal' or False/'none', got {lower_reference_point!r}"
            )
        self._lower_ref = relax
        self._max_neighbors = max_neighbors
        self._shortlist = shortlist
        self._independent = independent_sampler or RandomSampler(seed=seed)
        self._n_threads = n_threads
        self._use_rungs = bool(use_rungs)
        self._encoding: SpaceEncoding | None = None
        self._feasible_cache: dict[bytes, bool] = {}
        self._known_cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._gp_state: dict[str, torch.Tensor] | None = None
        self._sobol: np.ndarray | None = None

    # ----------------------------------------------------------------- Optuna API
    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._independent.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if self._search_space is not None:
            return dict(self._search_space)
        space = intersection_search_space(study._get_trials(deepcopy=False, use_cache=True))
        return {n: d for n, d in space.items() if isinstance(d, CategoricalDistribution) and not d.single()}

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution) -> Any:
        if (self._constraint is not None or self._max_cost is not None) and isinstance(param_distribution, CategoricalDistribution):
            return _smallest_choice(param_distribution.choices)
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def sample_relative(self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        encoding = self._encoding_for(search_space)
        history = self._read_history(study, trial, encoding)
        warm_rows, warm_values = self._warm_data(encoding, len(study.directions))
        needed = max(2, self._n_startup - len(warm_rows)) if len(warm_rows) else self._n_startup
        modelled = [i for i in range(len(study.directions)) if i not in self._known]
        row = None
        if len(history["rows"]) >= needed and modelled:
            threads = torch.get_num_threads()
            if self._n_threads:
                torch.set_num_threads(self._n_threads)
            try:
                # BoTorch draws some samples from torch's global generator (e.g. the baseline
                # pruning of qLogNEHVI): seed a private copy so that the proposal depends on
                # the seed and the history only, not on what else ran in the process.
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(self._rng.integers(2**31 - 1)))
                    row = self._propose_bo(study, encoding, history, warm_rows, warm_values, modelled)
            except Exception as exc:  # a numerical failure must not stop the study
                logger.warning("MOBOSampler: BO proposal failed (%s: %s); using the initial design", type(exc).__name__, exc)
            finally:
                torch.set_num_threads(threads)
        if row is None:
            row = self._propose_initial(encoding, history["seen"])
        if row is None:
            return {}
        params = encoding.to_params(row)
        # Kept with the trial, so that this configuration counts as seen even if the trial ends
        # up recording other parameters (see `PROPOSAL_ATTR`).
        study._storage.set_trial_system_attr(trial._trial_id, PROPOSAL_ATTR, params)
        return params

    # ----------------------------------------------------------------- history
    def _encoding_for(self, search_space: Mapping[str, BaseDistribution]) -> SpaceEncoding:
        key = tuple((n, tuple(search_space[n].choices)) for n in sorted(search_space))
        if self._encoding is None or self._encoding.key != key:
            self._encoding = SpaceEncoding(search_space)
            self._gp_state = None
            self._sobol = None
        return self._encoding

    def _read_history(self, study: Study, trial: FrozenTrial, encoding: SpaceEncoding) -> dict[str, Any]:
        """Own trials as index rows: finished (with values and fidelity), pending, and every seen row.

        ``rows`` (n, P) and ``values`` (n, n_obj) hold COMPLETE trials first (fidelity 1), then
        PRUNED trials with rung data (see `_rung_value`); ``fidelity`` (n,) in [0, 1] and
        ``complete`` (n,) bool say which is which.
        """
        rows, values, fidelity, pending = [], [], [], []
        rung_rows, rung_values, rung_fidelity = [], [], []
        seen: set[bytes] = set()
        n_obj = len(study.directions)
        use_rungs = self._use_rungs and self._rung_objective_ok(n_obj)
        for t in study._get_trials(deepcopy=False, use_cache=True):
            if t.number == trial.number:
                continue
            proposed = t.system_attrs.get(PROPOSAL_ATTR)
            if isinstance(proposed, dict) and proposed != t.params:  # a real study: they are equal
                proposed_row = encoding.from_params(proposed)
                if proposed_row is not None:
                    seen.add(proposed_row.tobytes())
            row = encoding.from_params(t.params)
            if row is None:
                continue
            seen.add(row.tobytes())
            if t.state == TrialState.COMPLETE and t.values is not None and len(t.values) == n_obj:
                if all(math.isfinite(v) for v in t.values):
                    rows.append(row)
                    values.append(list(t.values))
                    fidelity.append(1.0)
            elif t.state in (TrialState.RUNNING, TrialState.WAITING):
                pending.append(row)
            elif t.state == TrialState.PRUNED and use_rungs:
                rung = _rung_value(t)
                if rung is not None:
                    rung_rows.append(row)
                    rung_values.append(rung[0])
                    rung_fidelity.append(rung[1])
        n_complete = len(rows)
        if rung_rows:
            known_idx = sorted(i for i in self._known if i < n_obj)
            rung_rows_arr = np.array(rung_rows, dtype=np.int64)
            full = np.full((len(rung_rows), n_obj), np.nan)
            full[:, 0] = rung_values
            if known_idx:
                full[:, known_idx] = self._known_values(encoding, rung_rows_arr, known_idx)
            rows += list(rung_rows_arr)
            values += list(full)
            fidelity += rung_fidelity
        shape = (-1, len(encoding))
        return {
            "rows": np.array(rows, dtype=np.int64).reshape(shape),
            "values": np.array(values, dtype=np.float64).reshape(-1, n_obj),
            "fidelity": np.array(fidelity, dtype=np.float64),
            "complete": np.arange(len(rows)) < n_complete,
            "pending": np.array(pending, dtype=np.int64).reshape(shape),
            "seen": seen,
        }

    def _rung_objective_ok(self, n_obj: int) -> bool:
        """Rung data is used when objective 0 (the score) is the only modelled objective.

        A PRUNED trial reports the score only; every other objective must be computable
        (``known_objectives``) for the trial to be a full GP data point.
        """
        return 0 not in self._known and all(i in self._known for i in range(1, n_obj))

    def _warm_data(self, encoding: SpaceEncoding, n_obj: int) -> tuple[np.ndarray, np.ndarray]:
        rows, values = [], []
        for t in self._warm:
            if t.state != TrialState.COMPLETE or t.values is None or len(t.values) != n_obj:
                continue
            row = encoding.from_params(t.params)
            if row is not None and all(math.isfinite(v) for v in t.values):
                rows.append(row)
                values.append(list(t.values))
        return np.array(rows, dtype=np.int64).reshape(-1, len(encoding)), np.array(values, dtype=np.float64).reshape(-1, n_obj)

    # ----------------------------------------------------------------- feasibility and known objectives
    def _feasible(self, encoding: SpaceEncoding, rows: np.ndarray) -> np.ndarray:
        if self._constraint is None and self._max_cost is None:
            return np.ones(len(rows), dtype=bool)
        out = np.empty(len(rows), dtype=bool)
        for i, row in enumerate(rows):
            key = row.tobytes()
            ok = self._feasible_cache.get(key)
            if ok is None:
                params = encoding.to_params(row)
                ok = True
                if self._constraint is not None:
                    ok = bool(self._constraint(params))
                if ok and self._max_cost is not None:
                    fn, limit = self._max_cost
                    ok = float(fn(params)) <= float(limit)
                self._feasible_cache[key] = ok
            out[i] = ok
        return out

    @staticmethod
    def _unseen(rows: np.ndarray, seen: set[bytes]) -> np.ndarray:
        """Unique rows of ``rows`` that are not in ``seen``."""
        if len(rows) == 0:
            return rows
        rows = np.unique(rows, axis=0)
        return rows[np.array([r.tobytes() not in seen for r in rows], dtype=bool)]

    def _admissible(self, encoding: SpaceEncoding, rows: np.ndarray, seen: set[bytes]) -> np.ndarray:
        """Unique rows of ``rows`` that are feasible and not in ``seen``."""
        rows = self._unseen(rows, seen)
        return rows[self._feasible(encoding, rows)] if len(rows) else rows

    def _known_values(self, encoding: SpaceEncoding, rows: np.ndarray, indices: list[int]) -> np.ndarray:
        """Exact known-objective values of ``rows`` (cached per configuration)."""
        out = np.empty((len(rows), len(indices)))
        for i, row in enumerate(rows):
            key = row.tobytes()
            hit = self._known_cache.get(key)
            if hit is None:
                params = encoding.to_params(row)
                hit = (row.copy(), np.array([float(self._known[j](params)) for j in indices]))
                self._known_cache[key] = hit
            out[i] = hit[1]
        return out

    def _known_table(self, indices: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Every configuration whose known objectives were computed, with the values."""
        if not self._known_cache:
            return np.zeros((0, len(self._encoding or []))), np.zeros((0, len(indices)))
        rows, values = zip(*self._known_cache.values())
        return np.stack(rows), np.stack(values)

    # ----------------------------------------------------------------- proposals
    def _propose_initial(self, encoding: SpaceEncoding, seen: set[bytes]) -> np.ndarray | None:
        """The first unused, feasible point of the Sobol design; random ones when it runs out."""
        if self._sobol is None:
            sobol = qmc.Sobol(d=len(encoding), scramble=True, seed=np.random.default_rng(self._seed))
            self._sobol = self._spread_by_cost(encoding, encoding.from_unit(sobol.random(max(128, 8 * self._n_startup))))
        for row in self._sobol:
            if row.tobytes() not in seen and self._feasible(encoding, row[None])[0]:
                return row
        for _ in range(200):
            rows = self._admissible(encoding, encoding.random(256, self._rng), seen)
            if len(rows):
                return rows[0]
        raise OptimizerError(
            "no feasible configuration left to propose: every sampled configuration was already "
            "evaluated or violates the constraint; loosen the constraint or widen the space"
        )

    def _spread_by_cost(self, encoding: SpaceEncoding, rows: np.ndarray) -> np.ndarray:
        """The design ``rows`` (n, P), reordered so that its first ``n_startup_trials`` span the
        first known objective, e.g. trainable parameters.

        Sobol points spread the *parameters* evenly, but a cost that sums over tens of them
        (adapter sizes per layer) concentrates around its mean, so the design would say nothing
        about the cheap and the large ends of the front. When the study has a known objective,
        the feasible points are sorted by it and the design starts with ``n_startup_trials`` of
        them at evenly spaced ranks, cheapest and dearest included, in bisection order
        (cheapest, dearest, middle, quarters, ...: a design cut short is spread as well); the
        other points follow in Sobol order. Without known objectives the Sobol order is kept.
        """
        if not self._known:
            return rows
        feasible = np.flatnonzero(self._feasible(encoding, rows))
        if len(feasible) < 3:
            return rows
        cost = self._known_values(encoding, rows[feasible], [min(self._known)])[:, 0]
        by_cost = feasible[np.argsort(cost, kind="stable")]
        n = min(self._n_startup, len(by_cost))
        ranks = np.round(np.linspace(0, len(by_cost) - 1, n)).astype(int)
        first = by_cost[ranks[_bisection_order(n)]]
        rest = np.setdiff1d(np.arange(len(rows)), first, assume_unique=True)
        return np.concatenate([rows[first], rows[rest]])

    def _propose_bo(
        self,
        study: Study,
        encoding: SpaceEncoding,
        history: dict[str, Any],
        warm_rows: np.ndarray,
        warm_values: np.ndarray,
        modelled: list[int],
    ) -> np.ndarray | None:
        torch_seed = int(self._rng.integers(2**31 - 1))
        signs = np.array([1.0 if d == StudyDirection.MAXIMIZE else -1.0 for d in study.directions])
        known_idx = sorted(i for i in self._known if i < len(signs))
        own_rows, own_values = history["rows"], history["values"] * signs
        use_task = len(warm_rows) > 0
        use_fidelity = bool((history["fidelity"] < 1.0).any())

        def features(rows: np.ndarray, task: float = 0.0, fidelity: np.ndarray | None = None) -> torch.Tensor:
            """GP inputs (n, D [+1 task] [+1 fidelity]); candidates: this task, full fidelity."""
            X = encoding.encode(rows)
            if use_task:
                X = np.concatenate([X, np.full((len(rows), 1), task)], axis=1)
            if use_fidelity:
                column = np.ones(len(rows)) if fidelity is None else fidelity
                X = np.concatenate([X, column.reshape(-1, 1)], axis=1)
            return torch.from_numpy(X).to(torch.float64)

        train_X = features(own_rows, fidelity=history["fidelity"])
        train_Y = torch.from_numpy(own_values[:, modelled]).to(torch.float64)
        if use_task:
            train_X = torch.cat([train_X, features(warm_rows, 1.0)])
            train_Y = torch.cat([train_Y, torch.from_numpy((warm_values * signs)[:, modelled])])
        gp, self._gp_state = fit_surrogate(self._surrogate, train_X, train_Y, self._gp_state)

        # Model output order: modelled objectives first, then known ones.
        order = modelled + known_idx
        outcomes = [order.index(i) for i in range(len(signs))]
        seen = history["seen"]
        known_model = None
        if known_idx:
            known_model = KnownObjectiveLookup(train_X.shape[-1], len(known_idx), seed=torch_seed)
            known_sign = torch.from_numpy(signs[known_idx])
            exact_rows: set[bytes] = set()
            proxy = _OneHotRidge(encoding, *self._known_table(known_idx))

            def register(rows: np.ndarray, exact: bool) -> None:
                """Give the lookup model values for ``rows``: exact, or cached/proxy for screening."""
                if exact:
                    vals = self._known_values(encoding, rows, known_idx)
                    exact_rows.update(r.tobytes() for r in rows)
                else:
                    keep = np.array([r.tobytes() not in exact_rows for r in rows], dtype=bool)
                    rows = rows[keep]
                    if not len(rows):
                        return
                    vals = proxy.predict(rows)
                    for i, r in enumerate(rows):
                        hit = self._known_cache.get(r.tobytes())
                        if hit is not None:
                            vals[i] = hit[1]
                known_model.register(features(rows), torch.from_numpy(vals) * known_sign)

            register(np.unique(np.concatenate([own_rows, history["pending"]]), axis=0), exact=True)
        else:
            def register(rows: np.ndarray, exact: bool) -> None:
                return None

        # The front (reference point, mutation parents) is that of full-budget trials once
        # there are two; rung scores stand in before that.
        on_front = history["complete"] if history["complete"].sum() >= 2 else np.ones(len(own_rows), dtype=bool)
        ref_point = self._ref_point(own_values[on_front], signs) if len(signs) > 1 else None
        X_pending = features(history["pending"]) if len(history["pending"]) else None
        X_own = features(own_rows)
        X_baseline = X_own[_plausibly_optimal(gp, X_own, own_values[:, known_idx], outcomes, len(modelled))]
        acqf = build_acquisition(
            gp, known_model, outcomes, ref_point, X_baseline, X_pending, self._mc_samples, torch_seed
        )

        def screen(rows: np.ndarray) -> np.ndarray:
            register(rows, exact=False)
            return evaluate(acqf, features(rows)).numpy()

        def exact(rows: np.ndarray) -> np.ndarray:
            feasible = self._feasible(encoding, rows)
            values = np.full(len(rows), -np.inf)
            if feasible.any():
                register(rows[feasible], exact=True)
                values[feasible] = evaluate(acqf, features(rows[feasible])).numpy()
            return values

        def neighbors(row: np.ndarray) -> np.ndarray:
            moves = encoding.neighbors(row)
            if len(moves) > self._max_neighbors:
                moves = moves[self._rng.choice(len(moves), self._max_neighbors, replace=False)]
            return self._unseen(moves, seen)

        pool = self._pool(encoding, own_rows[on_front], own_values[on_front], seen)
        if len(pool) == 0:
            return None
        row, _ = maximize_discrete(screen, exact, pool, neighbors, shortlist=self._shortlist)
        return row

    def _pool(self, encoding: SpaceEncoding, rows: np.ndarray, values_max: np.ndarray, seen: set[bytes]) -> np.ndarray:
        """Random configurations plus one- and two-parameter mutations of the Pareto set."""
        front = rows[_pareto_mask(values_max)]
        parts = [encoding.random(self._n_random, self._rng)]
        if len(front):
            parents = front[self._rng.integers(len(front), size=self._n_mutation)]
            half = self._n_mutation // 2
            parts.append(encoding.mutate(parents[:half], 1, self._rng))
            parts.append(encoding.mutate(parents[half:], 2, self._rng))
            if self._n_step:
                parents = front[self._rng.integers(len(front), size=self._n_step)]
                half = self._n_step // 2
                parts.append(encoding.step(parents[:half], 1, self._max_step, self._rng))
                parts.append(encoding.step(parents[half:], 2, self._max_step, self._rng))
        return self._unseen(np.concatenate(parts), seen)

    def _ref_point(self, values_max: np.ndarray, signs: np.ndarray) -> torch.Tensor:
        """The hypervolume reference point in maximisation form.

        Inferred from the observed front (nadir minus 10% of its range) unless one was given.
        A given point that no trial beats in every objective yet is lowered for this proposal
        (``lower_reference_point``):

        * ``"minimal"`` (default): just enough that the trial nearest the box is inside it
          (each trial's shortfall is its worst objective's, in units of the observed spread;
          the point drops by 1.1 x the smallest shortfall in every objective);
        * ``"front"`` (``True``): to the inferred point, below the whole observed front;
        * ``"none"`` (``False``): never.

        Against an empty box a candidate improves only where the GP is uncertain enough to
        reach into it, so qLogNEHVI chases the corners of the space. Lowering the point below
        the whole front has the opposite fault: the extremes of the observed front then add
        hypervolume, and qLogNEHVI spends the early trials on them (on DTLZ2 it proposed
        ``x0 = 0`` again and again: one objective exactly 0, the other far outside the box).
        The minimal drop keeps the box around the best compromise found so far. 20 trials on
        seeds 0-19 (median HV): DTLZ2 0.022 ("front") / 0.041 ("none") / 0.040 ("minimal"),
        cat-DTLZ2 0.041 / 0.032 / 0.047 (benchmarks/results/optimizer.md).
        """
        front = values_max[_pareto_mask(values_max)]
        lo, hi = front.min(axis=0), front.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, np.maximum(np.abs(lo), 1.0))
        inferred = lo - 0.1 * span
        if self._reference_point is None:
            return torch.tensor(inferred, dtype=torch.float64)
        if len(self._reference_point) != len(signs):
            raise OptimizerError(
                f"reference_point: has {len(self._reference_point)} values but the study has {len(signs)} objectives"
            )
        given = np.array(self._reference_point) * signs
        if self._lower_ref != "none" and not np.all(values_max > given, axis=1).any():
            if self._lower_ref == "front":
                given = np.minimum(given, inferred)
            else:
                # Lower it just enough that the trial nearest the box is inside: the shortfall
                # of each trial is its worst objective's (in units of the observed spread).
                scale = np.where(values_max.max(axis=0) - values_max.min(axis=0) > 0,
                                 values_max.max(axis=0) - values_max.min(axis=0), 1.0)
                shortfall = ((given - values_max) / scale).max(axis=1)
                given = given - 1.1 * max(float(shortfall.min()), 1e-9) * scale
        return torch.tensor(given, dtype=torch.float64)


class _OneHotRidge:
    """Cheap stand-in for known objectives while *screening* candidates, never for choosing.

    A ridge regression on one-hot choices, fitted to the exact values computed so far; exact
    for costs that add up over parameters (as trainable parameters mostly do). Only the
    ranking of the candidate pool uses it: every row the final choice is made among is scored
    with exact values.
    """

    def __init__(self, encoding: SpaceEncoding, rows: np.ndarray, values: np.ndarray, ridge: float = 1e-3):
        self.offsets = np.concatenate([[0], np.cumsum(encoding.cardinalities)[:-1]])
        self.width = int(encoding.cardinalities.sum())
        self.mean = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
        if len(rows) == 0:
            self.coef = np.zeros((self.width, values.shape[1]))
            return
        A = self._onehot(rows)
        gram = A.T @ A + ridge * len(rows) * np.eye(self.width)
        self.coef = np.linalg.solve(gram, A.T @ (values - self.mean))

    def _onehot(self, rows: np.ndarray) -> np.ndarray:
        A = np.zeros((len(rows), self.width))
        A[np.arange(len(rows))[:, None], self.offsets + rows] = 1.0
        return A

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return self._onehot(rows) @ self.coef + self.mean


#: Posterior standard deviations of the "surely dominated" test of `_plausibly_optimal`.
_DOMINANCE_SD = 3.0

#: Trial system attribute holding the parameters `MOBOSampler` proposed for the trial. A
#: proposed configuration is never proposed again, even when the trial records other
#: parameters: a benchmark that answers a proposal with a recorded neighbour rewrites them
#: (``benchmarks/optimizer.py``, replayed problems), and without this the initial design
#: proposed its first Sobol point over and over, each time answered by another neighbour.
PROPOSAL_ATTR = "autopeft:mobo_proposal"


def _plausibly_optimal(gp: Any, X: torch.Tensor, known_max: np.ndarray, outcomes: list[int], n_modelled: int) -> np.ndarray:
    """Mask of own trials that may be Pareto optimal: drop those surely dominated.

    A trial is surely dominated when another trial's pessimistic values (GP mean - 3 sd,
    exact known values) beat its optimistic ones (mean + 3 sd) in every objective. The
    baseline handed to qLogNEHVI (which prunes it again by sampling) stays small, which keeps
    the acquisition fast as trials accumulate.
    """
    with torch.no_grad():
        post = gp.posterior(X)
        mean = post.mean.reshape(len(X), n_modelled).numpy()
        sd = post.variance.clamp_min(0).sqrt().reshape(len(X), n_modelled).numpy()
    hi = np.concatenate([mean + _DOMINANCE_SD * sd, known_max], axis=1)[:, outcomes]
    lo = np.concatenate([mean - _DOMINANCE_SD * sd, known_max], axis=1)[:, outcomes]
    keep = np.ones(len(X), dtype=bool)
    for i in range(len(X)):
        beaten = np.all(lo >= hi[i], axis=1) & np.any(lo > hi[i], axis=1)
        beaten[i] = False
        keep[i] = not beaten.any()
    return keep


def _rung_value(trial: FrozenTrial) -> tuple[float, float] | None:
    """(score, fidelity) of a PRUNED trial's last rung, or None if it has no usable rung.

    The score is the last intermediate value (highest step); the fidelity is
    ``1 + log(step / total_steps) / log(total_steps)`` (step 1 -> 0, the full budget -> 1),
    with ``total_steps`` the trial's user attribute of that name. Without it, or without a
    finite intermediate value at a positive step, the trial carries no rung data.
    """
    total = trial.user_attrs.get("total_steps")
    if isinstance(total, bool) or not isinstance(total, (int, float)) or not math.isfinite(total) or total < 1:
        return None
    steps = [s for s, v in trial.intermediate_values.items() if s >= 1 and v is not None and math.isfinite(v)]
    if not steps:
        return None
    step = max(steps)
    value = float(trial.intermediate_values[step])
    if total <= 1:
        return value, 1.0
    fidelity = 1.0 + math.log(min(step, total) / total) / math.log(total)
    return value, min(1.0, max(0.0, fidelity))


def _pareto_mask(values_max: np.ndarray) -> np.ndarray:
    """Rows not dominated by another row (maximisation)."""
    n = len(values_max)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = np.all(values_max >= values_max[i], axis=1) & np.any(values_max > values_max[i], axis=1)
        mask[i] = not dominated.any()
    return mask


def _bisection_order(n: int) -> np.ndarray:
    """0, n - 1, then the midpoints of ever finer halvings: a prefix of any length is spread."""
    if n <= 2:
        return np.arange(n)
    order, intervals = [0, n - 1], [(0, n - 1)]
    while intervals:
        nxt = []
        for lo, hi in intervals:
            if hi - lo > 1:
                mid = (lo + hi) // 2
                order.append(mid)
                nxt += [(lo, mid), (mid, hi)]
        intervals = nxt
    return np.array(order)


def _smallest_choice(choices: Sequence[Any]) -> Any:
    numeric = [c for c in choices if isinstance(c, (int, float)) and not isinstance(c, bool)]
    if len(numeric) == len(choices):
        return min(choices)
    if all(isinstance(c, bool) for c in choices):
        return False if False in choices else choices[0]
    return choices[0]


__all__ = ["MOBOSampler"]
