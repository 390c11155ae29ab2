"""Optuna's TPE on a multi-objective study whose stopped trials carry rung scores.

Optuna's TPE puts PRUNED trials below or above its split by their last intermediate value read
in ``study.direction``, which a multi-objective study refuses (``RuntimeError: A single
direction cannot be retrieved from a multi-objective study``) as soon as a trial stopped by
``--scheduler asha`` (PRUNED with intermediate values) is needed to fill the split. The
intermediate values are task scores, so the study's first direction (the score's, maximised)
is the right one: :class:`ScoreDirectionSampler` hands TPE a view of the study whose
``direction`` is that, and delegates everything else unchanged. Only TPE is wrapped (NSGA-II and
random ignore PRUNED trials' values; ``mobo`` reads trials itself).
"""

from __future__ import annotations

from typing import Any


class _ScoreDirectionStudy:
    """The study as it is, except ``direction``: the direction of its first objective."""

    def __init__(self, study: Any) -> None:
        self._study = study

    @property
    def direction(self) -> Any:
        return self._study.directions[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


def score_direction_sampler(sampler: Any) -> Any:
    """``sampler`` wrapped so TPE ranks rung-stopped trials by their score (other samplers as they are)."""
    import optuna

    if not isinstance(sampler, optuna.samplers.TPESampler):
        return sampler

    class ScoreDirectionSampler(optuna.samplers.BaseSampler):
        """TPE seeing ``study.direction`` as the score's direction (see the module)."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
            return self.inner.infer_relative_search_space(_ScoreDirectionStudy(study), trial)

        def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
            return self.inner.sample_relative(_ScoreDirectionStudy(study), trial, search_space)

        def sample_independent(self, study: Any, trial: Any, param_name: str, param_distribution: Any) -> Any:
            return self.inner.sample_independent(_ScoreDirectionStudy(study), trial, param_name, param_distribution)

        def before_trial(self, study: Any, trial: Any) -> None:
            self.inner.before_trial(study, trial)

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            self.inner.after_trial(study, trial, state, values)

        def reseed_rng(self) -> None:
            self.inner.reseed_rng()

    return ScoreDirectionSampler(sampler)


__all__ = ["score_direction_sampler"]
