"""Calibration: does a cheap fidelity rank configurations like a longer one, on this task?

A proxy score is only worth optimising when it carries the signal of the real one. A
calibration trains a set of configurations (the hand-designed baselines plus samples of a
space spread over sizes) at the fidelity under test with two seeds, and once at a reference
fidelity at least five times longer, then measures:

* the rank correlation (Spearman's rho, Kendall's tau) of the seed-mean scores with the
  reference's;
* the seed noise against the spread across configurations;
* how many configurations, and how many baselines, score at chance.

:func:`run_calibration` runs it on the same Ray workers as a search and returns
:class:`~autopeft.store.calibrations.CalibrationRecord` s, which ``autopeft calibrate`` stores
beside the studies. Importing this package loads none of torch, ray or optuna.
"""

from __future__ import annotations

from autopeft.calibration.stats import SignalStats, signal_stats
from autopeft.calibration.verdict import MAX_NOISE_RATIO, MIN_SPEARMAN, verdict

__all__ = ["MAX_NOISE_RATIO", "MIN_SPEARMAN", "SignalStats", "signal_stats", "verdict"]
