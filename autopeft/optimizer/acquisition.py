"""qLogNEHVI over a discrete space, with known objectives computed exactly.

Objectives that are known functions of the configuration (trainable parameters, adapter bytes)
are never modelled: the acquisition's MC objective appends their exact values, looked up by
`KnownObjectiveLookup`, to the GP samples of the modelled objectives. Keeping the model a
single GP also lets qLogNEHVI cache the baseline's Cholesky root. The rows the objective can
be asked about are known in advance (baseline, pending and candidate rows), so it is a
lookup: each registered row gets a random-projection key, and a query row is matched to the
nearest key (vectorised, so it stays cheap for the rows qLogNEHVI evaluates).

The acquisition is maximised over the discrete space itself (never relax-and-round) by
`maximize_discrete`: rank a pool of not-yet-evaluated configurations, score the best ones
exactly (feasibility included), then hill-climb through one-parameter neighbours.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from botorch.acquisition.cached_cholesky import supports_cache_root
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import MCMultiOutputObjective
from botorch.acquisition.objective import GenericMCObjective
from botorch.models.model import Model
from botorch.sampling import SobolQMCNormalSampler


class KnownObjectiveLookup:
    """Exact values of known objectives for registered feature rows (see module docstring)."""

    def __init__(self, num_features: int, num_outputs: int, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        self._w = 0.5 + torch.rand(num_features, 1, generator=gen, dtype=torch.float64)
        self._num_outputs = num_outputs
        self._keys = torch.empty(0, dtype=torch.float64)
        self._values = torch.empty(0, num_outputs, dtype=torch.float64)

    def register(self, X: torch.Tensor, values: torch.Tensor) -> None:
        """Remember the objective values (n, m) of feature rows X (n, d); known rows are updated."""
        new_keys = (X @ self._w).squeeze(-1)
        values = values.to(torch.float64).reshape(-1, self._num_outputs)
        if len(self._keys):
            pos = self._nearest(new_keys)
            hit = (new_keys - self._keys[pos]).abs() <= 1e-9 * (1.0 + new_keys.abs())
            self._values[pos[hit]] = values[hit]
            new_keys, values = new_keys[~hit], values[~hit]
        keys = torch.cat([self._keys, new_keys])
        vals = torch.cat([self._values, values])
        order = torch.argsort(keys)
        self._keys, self._values = keys[order], vals[order]

    def _nearest(self, keys: torch.Tensor) -> torch.Tensor:
        if len(self._keys) == 1:
            return torch.zeros_like(keys, dtype=torch.long)
        pos = torch.searchsorted(self._keys, keys.contiguous()).clamp(1, len(self._keys) - 1)
        left = (keys - self._keys[pos - 1]).abs()
        right = (keys - self._keys[pos]).abs()
        return torch.where(left < right, pos - 1, pos)

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        """Values (..., n, m) of feature rows X (..., n, d)."""
        keys = (X @ self._w).squeeze(-1)
        pos = self._nearest(keys)
        gap = (keys - self._keys[pos]).abs()
        if bool((gap > 1e-9 * (1.0 + keys.abs())).any()):
            raise RuntimeError("KnownObjectiveLookup was asked about a configuration it was not given")
        return self._values[pos]


def _known_objective_class() -> type:
    class KnownObjectivesObjective(MCMultiOutputObjective):
        """MC objective: GP samples of the modelled objectives plus exact known ones, reordered.

        Folding the known objectives into the objective (rather than a second model) keeps the
        model a single GP, so qLogNEHVI can cache the baseline's Cholesky root.
        """

        def __init__(self, lookup: KnownObjectiveLookup | None, outcomes: list[int]):
            super().__init__()
            self.lookup = lookup
            self.register_buffer("outcomes", torch.tensor(outcomes, dtype=torch.long))

        def forward(self, samples: torch.Tensor, X: torch.Tensor | None = None) -> torch.Tensor:
            if self.lookup is not None:
                known = self.lookup(X)  # batch x q x m_known
                known = known.expand(*samples.shape[:-1], known.shape[-1])
                samples = torch.cat([samples, known], dim=-1)
            return samples.index_select(-1, self.outcomes)

    return KnownObjectivesObjective


def build_acquisition(
    gp: Model,
    known: KnownObjectiveLookup | None,
    outcomes: list[int],
    ref_point: torch.Tensor | None,
    X_baseline: torch.Tensor,
    X_pending: torch.Tensor | None,
    mc_samples: int,
    seed: int,
) -> AcquisitionFunction:
    """qLogNEHVI (or qLogNEI for one objective) on the GP plus the known objectives.

    Values are in maximisation form: the GP's outputs are the modelled objectives, followed by
    the ``known`` lookup's; ``outcomes[i]`` is the position of the study's objective ``i``.
    """
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([mc_samples]), seed=seed)
    if len(outcomes) == 1:
        index = outcomes[0]
        return qLogNoisyExpectedImprovement(
            gp,
            X_baseline,
            sampler=sampler,
            objective=GenericMCObjective(lambda Y, X=None: Y[..., index]),
            X_pending=X_pending,
            prune_baseline=True,
            cache_root=supports_cache_root(gp),
        )
    return qLogNoisyExpectedHypervolumeImprovement(
        gp,
        ref_point=ref_point.tolist(),
        X_baseline=X_baseline,
        sampler=sampler,
        objective=_known_objective_class()(known, outcomes),
        X_pending=X_pending,
        prune_baseline=True,
        cache_root=supports_cache_root(gp),
    )


def evaluate(acqf: AcquisitionFunction, X: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Acquisition values of single candidates (n, d) -> (n,), batched."""
    out = []
    with torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            out.append(acqf(X[start : start + batch_size].unsqueeze(-2)))
    return torch.cat(out) if out else torch.empty(0, dtype=X.dtype)


def maximize_discrete(
    screen: Callable[[np.ndarray], np.ndarray],
    exact: Callable[[np.ndarray], np.ndarray],
    pool: np.ndarray,
    neighbors: Callable[[np.ndarray], np.ndarray],
    shortlist: int = 32,
    n_starts: int = 2,
    n_rounds: int = 3,
    climb_shortlist: int = 4,
) -> tuple[np.ndarray | None, float]:
    """Best index row over a discrete space, or None if no admissible row is feasible.

    ``screen`` gives cheap acquisition values (known objectives may be approximated there),
    ``exact`` the acquisition with exact known objectives, ``-inf`` for infeasible rows. The
    ``shortlist`` best-screened rows of ``pool`` are scored exactly; from the ``n_starts`` best,
    a hill-climb moves to the best of the ``climb_shortlist`` best-screened one-parameter
    neighbours (``neighbors`` returns the unseen ones) while that improves the exact value.
    """
    order = np.argsort(-screen(pool), kind="stable")
    best_row, best_value = None, -math.inf
    values = np.empty(0)
    rows = pool[:0]
    for start in range(0, len(order), shortlist):  # walk down until something is feasible
        rows = pool[order[start : start + shortlist]]
        values = exact(rows)
        if np.isfinite(values).any():
            break
    if not np.isfinite(values).any():
        return None, -math.inf
    for i in np.argsort(-values, kind="stable")[:n_starts]:
        row, value = rows[i], float(values[i])
        if not math.isfinite(value):
            continue
        for _ in range(n_rounds):
            moves = neighbors(row)
            if len(moves) == 0:
                break
            top = moves[np.argsort(-screen(moves), kind="stable")[:climb_shortlist]]
            top_values = exact(top)
            j = int(np.argmax(top_values))
            if not top_values[j] > value:
                break
            row, value = top[j], float(top_values[j])
        if value > best_value:
            best_row, best_value = row, value
    return best_row, best_value
