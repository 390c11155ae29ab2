"""The calibration's verdict: the thresholds a fidelity must meet to be searched at."""

from __future__ import annotations

from autopeft.calibration.stats import SignalStats

#: Spearman's rho against the reference that a usable fidelity reaches at least.
MIN_SPEARMAN = 0.6
#: Seed noise over the spread across configurations that a usable fidelity stays under.
MAX_NOISE_RATIO = 0.5
#: Fidelity presets from cheap to expensive: a blind one suggests the next.
PRESET_ORDER = ("tiny", "quick", "standard", "full")


def _preset_of(fidelity: str) -> str:
    return fidelity.partition(":")[0].strip()


def next_fidelity(fidelity: str) -> str:
    """The next longer preset after ``fidelity``'s, or a longer version of the same."""
    preset = _preset_of(fidelity)
    if preset in PRESET_ORDER[:-1]:
        return PRESET_ORDER[PRESET_ORDER.index(preset) + 1]
    return f"{preset} with more steps"


def verdict(fidelity: str, reference: str, stats: SignalStats, baselines_at_chance: int) -> tuple[bool, str]:
    """(the fidelity ranks like the reference, the one line to print).

    It ranks when rho >= :data:`MIN_SPEARMAN`, noise / spread <= :data:`MAX_NOISE_RATIO` and no
    hand-designed baseline scores at chance.
    """
    reasons = []
    if stats.spearman is None or stats.spearman < MIN_SPEARMAN:
        rho = "undefined" if stats.spearman is None else f"{stats.spearman:.2f}"
        reasons.append(f"rho {rho} < {MIN_SPEARMAN}")
    if not stats.noise_ratio <= MAX_NOISE_RATIO:
        reasons.append(f"noise/spread {stats.noise_ratio:.2f} > {MAX_NOISE_RATIO}")
    if baselines_at_chance:
        reasons.append(f"{baselines_at_chance} baseline(s) at chance")
    if not reasons:
        return True, f"{fidelity} ranks like {reference}: use it (rho {stats.spearman:.2f}, noise/spread {stats.noise_ratio:.2f})"
    return False, f"{fidelity} is blind on this task ({'; '.join(reasons)}): try {next_fidelity(fidelity)}"
