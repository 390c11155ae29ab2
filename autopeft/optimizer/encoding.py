"""Encoding of a discrete space of Optuna ``CategoricalDistribution`` s into GP features.

Every configuration has two forms:

* an **index row**: one integer per parameter, the position of the chosen value in the
  distribution's ``choices`` (exact, hashable, what candidates and duplicate checks use);
* a **feature row** in ``[0, 1]^D`` that the GP sees, built per parameter by kind:

  - ``ordinal`` (every choice is an int or float, e.g. adapter sizes and LoRA ranks): one
    feature, the *rank* of the value among the sorted choices scaled to ``[0, 1]``
    (``rank / (k - 1)``). Rank rather than the raw value because PEFT sizes grow roughly
    geometrically (0, 16, 32, 64, 128), so rank is close to a log scale while still placing
    0 ("module absent") at one end;
  - ``binary`` (every choice is a bool, or two choices that are not both numbers, such as a
    two-choice string): one 0/1 feature (``True``, or the second choice, = 1);
  - ``categorical`` (strings or mixed types with three or more choices): one-hot, one
    feature per choice;
  - a parameter with a single choice gets no feature.

The kind is :func:`autopeft.spaces.space.parameter_kind`'s, the one the search space reports in
``Parameter.kind``. The parameters are ordered by name, so two studies over the same names share the encoding
(what warm start relies on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from autopeft.spaces.space import parameter_kind


@dataclass(frozen=True)
class EncodedParameter:
    """How one parameter maps to features: its choices, kind and lookup table."""

    name: str
    choices: tuple[Any, ...]
    kind: str
    table: np.ndarray  # (len(choices), width) float64


def _kind_of(choices: tuple[Any, ...]) -> str:
    """``constant`` for a single choice (no feature), else the space's own rule,
    :func:`autopeft.spaces.space.parameter_kind`, so the space and the encoding agree."""
    return "constant" if len(choices) <= 1 else parameter_kind(choices)


def _table(kind: str, choices: tuple[Any, ...]) -> np.ndarray:
    k = len(choices)
    if kind == "constant":
        return np.zeros((k, 0))
    if kind == "binary":
        if all(isinstance(c, bool) for c in choices):
            return np.array([[1.0 if c else 0.0] for c in choices])
        return np.array([[0.0], [1.0]])
    if kind == "ordinal":
        order = sorted(range(k), key=lambda i: (choices[i], i))
        rank = np.empty(k)
        rank[order] = np.arange(k) / (k - 1)
        return rank[:, None]
    return np.eye(k)


class SpaceEncoding:
    """Index rows <-> parameter dicts <-> GP feature rows for one search space.

    ``search_space`` maps names to Optuna ``CategoricalDistribution`` (anything with a
    ``choices`` tuple works). See the module docstring for the encoding.
    """

    def __init__(self, search_space: Mapping[str, Any]):
        self.params: list[EncodedParameter] = []
        for name in sorted(search_space):
            choices = tuple(search_space[name].choices)
            kind = _kind_of(choices)
            self.params.append(EncodedParameter(name, choices, kind, _table(kind, choices)))
        self.names = [p.name for p in self.params]
        # Ordinal parameters: choice index <-> rank position (choices need not be sorted).
        self._by_rank: list[np.ndarray | None] = []
        self._rank_of: list[np.ndarray | None] = []
        for p in self.params:
            if p.kind == "ordinal":
                order = np.array(sorted(range(len(p.choices)), key=lambda i: (p.choices[i], i)), dtype=np.int64)
                rank_of = np.empty(len(order), dtype=np.int64)
                rank_of[order] = np.arange(len(order))
                self._by_rank.append(order)
                self._rank_of.append(rank_of)
            else:
                self._by_rank.append(None)
                self._rank_of.append(None)
        self.cardinalities = np.array([len(p.choices) for p in self.params], dtype=np.int64)
        self.num_features = int(sum(p.table.shape[1] for p in self.params))
        self.key = tuple((p.name, p.choices) for p in self.params)

    def __len__(self) -> int:
        return len(self.params)

    # ----------------------------------------------------------------- conversions
    def encode(self, index_rows: np.ndarray) -> np.ndarray:
        """Feature rows (n, num_features) of index rows (n, num_params)."""
        index_rows = np.asarray(index_rows, dtype=np.int64).reshape(-1, len(self.params))
        blocks = [p.table[index_rows[:, j]] for j, p in enumerate(self.params) if p.table.shape[1]]
        if not blocks:
            return np.zeros((index_rows.shape[0], 0))
        return np.concatenate(blocks, axis=1)

    def to_params(self, index_row: np.ndarray) -> dict[str, Any]:
        """The parameter dict (name -> choice value) of one index row."""
        return {p.name: p.choices[int(i)] for p, i in zip(self.params, index_row)}

    def from_params(self, params: Mapping[str, Any]) -> np.ndarray | None:
        """The index row of a parameter dict, or None if a name is missing or a value unknown."""
        row = np.empty(len(self.params), dtype=np.int64)
        for j, p in enumerate(self.params):
            if p.name not in params:
                return None
            value = params[p.name]
            for i, choice in enumerate(p.choices):
                if choice == value and type(choice) is type(value) or choice is value:
                    row[j] = i
                    break
            else:
                try:
                    row[j] = p.choices.index(value)
                except ValueError:
                    return None
        return row

    # ----------------------------------------------------------------- generation
    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` uniformly drawn index rows."""
        return (rng.random((n, len(self.params))) * self.cardinalities).astype(np.int64)

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Index rows from points of the unit cube (one coordinate per parameter), e.g. Sobol."""
        idx = np.floor(np.asarray(unit) * self.cardinalities).astype(np.int64)
        return np.minimum(idx, self.cardinalities - 1)

    def neighbors(self, index_row: np.ndarray) -> np.ndarray:
        """Every index row that differs from ``index_row`` in exactly one parameter."""
        rows = []
        for j, k in enumerate(self.cardinalities):
            for i in range(int(k)):
                if i != index_row[j]:
                    row = index_row.copy()
                    row[j] = i
                    rows.append(row)
        if not rows:
            return np.zeros((0, len(self.params)), dtype=np.int64)
        return np.stack(rows)

    def step(self, index_rows: np.ndarray, n_changes: int, max_step: int, rng: np.random.Generator) -> np.ndarray:
        """Copies of ``index_rows`` with ``n_changes`` random parameters moved a small step.

        An ordinal parameter moves 1 to ``max_step`` ranks up or down (clipped to its range):
        a small edit of a size rather than a jump to any size; any other parameter takes a
        random other value, as in `mutate`. Shapes: (n, P) in, (n, P) out.
        """
        out = np.array(index_rows, dtype=np.int64, copy=True)
        mutable = np.flatnonzero(self.cardinalities > 1)
        if out.size == 0 or mutable.size == 0:
            return out
        rows = np.arange(out.shape[0])
        for _ in range(n_changes):
            cols = rng.choice(mutable, size=out.shape[0])
            magnitude = 1 + (rng.random(out.shape[0]) * max_step).astype(np.int64)
            sign = np.where(rng.random(out.shape[0]) < 0.5, -1, 1)
            shift = 1 + (rng.random(out.shape[0]) * (self.cardinalities[cols] - 1)).astype(np.int64)
            for i, j in zip(rows, cols):
                order = self._by_rank[j]
                if order is None:
                    out[i, j] = (out[i, j] + shift[i]) % self.cardinalities[j]
                    continue
                rank = int(self._rank_of[j][out[i, j]]) + sign[i] * magnitude[i]
                if rank < 0 or rank >= len(order):  # off the end: step the other way
                    rank = int(self._rank_of[j][out[i, j]]) - sign[i] * magnitude[i]
                out[i, j] = order[int(np.clip(rank, 0, len(order) - 1))]
        return out

    def mutate(self, index_rows: np.ndarray, n_changes: int, rng: np.random.Generator) -> np.ndarray:
        """Copies of ``index_rows`` with ``n_changes`` random parameters set to a new random value."""
        out = np.array(index_rows, dtype=np.int64, copy=True)
        mutable = np.flatnonzero(self.cardinalities > 1)
        if out.size == 0 or mutable.size == 0:
            return out
        for _ in range(n_changes):
            cols = rng.choice(mutable, size=out.shape[0])
            k = self.cardinalities[cols]
            shift = 1 + (rng.random(out.shape[0]) * (k - 1)).astype(np.int64)
            rows = np.arange(out.shape[0])
            out[rows, cols] = (out[rows, cols] + shift) % k
        return out
