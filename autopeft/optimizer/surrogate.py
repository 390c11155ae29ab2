"""GP surrogates for the modelled objectives (the task score), in float64.

``matern`` (the default): a ``SingleTaskGP`` with a Matérn-5/2 ARD kernel whose lengthscales
carry the dimension-scaled log-normal prior of Hvarfner et al. (2024), which keeps vanilla GPs
reliable in tens of dimensions. ``saas``: BoTorch's MAP SAAS model (sparse axis-aligned
shrinkage prior), for spaces with many parameters of which few matter. Both use a
``Normalize`` input transform (features already live in the unit cube; the transform pins the
bounds) and a ``Standardize`` outcome transform. Several modelled objectives share one batched
model with independent hyperparameters.

Fitting is L-BFGS on the marginal likelihood. To stay fast as trials accumulate, a fit may
start from the hyperparameters of the previous fit (same feature width) and then runs fewer
iterations: hyperparameters move little when a handful of trials are added.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import torch

logger = logging.getLogger(__name__)

#: Module prefixes of hyperparameters that can be carried from one fit to the next.
_HYPER_PREFIXES = ("likelihood.", "covar_module.", "mean_module.")


def _matern(train_X: torch.Tensor, train_Y: torch.Tensor) -> Any:
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior

    d, m = train_X.shape[-1], train_Y.shape[-1]
    batch = torch.Size([m]) if m > 1 else torch.Size([])
    covar = get_covar_module_with_dim_scaled_prior(ard_num_dims=d, batch_shape=batch, use_rbf_kernel=False)
    return SingleTaskGP(
        train_X,
        train_Y,
        covar_module=covar,
        input_transform=Normalize(d, bounds=_unit_bounds(d, train_X)),
        outcome_transform=Standardize(m),
    )


def _saas(train_X: torch.Tensor, train_Y: torch.Tensor) -> Any:
    from botorch.models.map_saas import get_map_saas_model
    from botorch.models.transforms import Normalize, Standardize

    d, m = train_X.shape[-1], train_Y.shape[-1]
    return get_map_saas_model(
        train_X,
        train_Y,
        input_transform=Normalize(d, bounds=_unit_bounds(d, train_X)),
        outcome_transform=Standardize(m),
    )


def _unit_bounds(d: int, like: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.zeros(d, dtype=like.dtype), torch.ones(d, dtype=like.dtype)])


#: Surrogate name -> builder of an unfitted model ``(train_X, train_Y) -> Model``.
SURROGATES: dict[str, Callable[[torch.Tensor, torch.Tensor], Any]] = {"matern": _matern, "saas": _saas}


def fit_surrogate(
    kind: str,
    train_X: torch.Tensor,
    train_Y: torch.Tensor,
    previous: dict[str, torch.Tensor] | None = None,
    maxiter: int = 100,
    warm_maxiter: int = 20,
) -> tuple[Any, dict[str, torch.Tensor]]:
    """Fit a surrogate; returns the model and its hyperparameters for the next warm start."""
    from botorch.optim.fit import fit_gpytorch_mll_scipy
    from gpytorch.mlls import ExactMarginalLogLikelihood

    model = SURROGATES[kind](train_X, train_Y)
    warm = False
    if previous:
        own = model.state_dict()
        carried = {k: v for k, v in previous.items() if k in own and own[k].shape == v.shape}
        if len(carried) == len(previous):
            model.load_state_dict(carried, strict=False)
            warm = True
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    mll.train()
    try:
        fit_gpytorch_mll_scipy(mll, options={"maxiter": warm_maxiter if warm else maxiter})
    except Exception as exc:  # numerical failure: keep the (prior or carried) hyperparameters
        logger.warning("GP fit failed (%s); using the starting hyperparameters", exc)
    mll.eval()
    state = {k: v.detach().clone() for k, v in model.state_dict().items() if k.startswith(_HYPER_PREFIXES)}
    return model, state
