"""The signal of a fidelity: rank correlation with a reference, and noise against spread."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from autopeft._lazy import lazy_module

if TYPE_CHECKING:
    from scipy import stats as scipy_stats
else:
    scipy_stats = lazy_module("scipy.stats")


@dataclass(frozen=True)
class SignalStats:
    """What one fidelity's scores say about its signal (see :func:`signal_stats`).

    Attributes:
        spearman, kendall: rank correlation of the per-configuration seed means with the
            reference scores (``None`` with fewer than 3 configurations scored at both, or
            when one side is constant).
        noise: pooled seed-to-seed standard deviation: the square root of the mean, over
            configurations with at least two scores, of their sample variance.
        spread: standard deviation of the seed means across configurations.
        noise_ratio: ``noise / spread``; ``inf`` when the spread is 0 (every configuration
            ties, which is a failure of the proxy, not a result).
        configs: configurations scored at both the fidelity and the reference.
    """

    spearman: float | None
    kendall: float | None
    noise: float
    spread: float
    noise_ratio: float
    configs: int


def signal_stats(scores: Sequence[Sequence[float | None]], reference: Sequence[float | None]) -> SignalStats:
    """Signal statistics of ``scores`` (shape: configurations x seeds; ``None`` = failed run)
    against ``reference`` (one score per configuration).

    A configuration with no score at the fidelity or none at the reference is left out.
    """
    if len(scores) != len(reference):
        raise ValueError(f"scores: {len(scores)} configurations, reference: {len(reference)}; give one reference score per configuration")
    means, refs, variances = [], [], []
    for row, ref in zip(scores, reference):
        values = [float(v) for v in row if v is not None]
        if not values or ref is None:
            continue
        means.append(statistics.fmean(values))
        refs.append(float(ref))
        if len(values) >= 2:
            variances.append(statistics.variance(values))
    noise = math.sqrt(statistics.fmean(variances)) if variances else 0.0
    spread = statistics.stdev(means) if len(means) >= 2 else 0.0
    ratio = noise / spread if spread > 0 else math.inf
    rho = tau = None
    if len(means) >= 3 and len(set(means)) > 1 and len(set(refs)) > 1:
        rho = float(scipy_stats.spearmanr(means, refs).statistic)
        tau = float(scipy_stats.kendalltau(means, refs).statistic)
    return SignalStats(spearman=rho, kendall=tau, noise=noise, spread=spread, noise_ratio=ratio, configs=len(means))
