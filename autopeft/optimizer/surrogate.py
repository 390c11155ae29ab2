"""GP surrogates for the modelled objectives (the task score), in float64.

``auto`` (the default) picks one of the two Matérn models by the number of GP features:
``matern`` up to `AUTO_MAX_CLASSIC_FEATURES`, ``matern_dim_scaled`` above. Measured in
benchmarks/results/optimizer.md: on the 6-parameter problems (6 to 14 features) the classic
prior wins, on the 43-parameter PEFT space (45 features) the dimension-scaled one does.

``matern``: a ``SingleTaskGP`` with a scaled Matérn-5/2 ARD kernel and BoTorch's classic
priors: lengthscale Gamma(3, 6), outputscale Gamma(2, 0.15), noise Gamma(1.1, 0.05) (proxy
scores are noisy: a short run of one configuration scatters by a few points of accuracy from
seed to seed). The lengthscale prior's mode, 1/3 of the unit cube, lets a few dozen trials
resolve the effect of every parameter, but in tens of dimensions it leaves the GP unable to
generalise and the search stalls.

``matern_dim_scaled``: Matérn-5/2 ARD without outputscale, with the dimension-scaled log-normal
lengthscale prior of Hvarfner et al. (2024), whose median grows with sqrt(features). It
assumes most features matter little, which keeps vanilla GPs reliable in tens to hundreds of
dimensions; on the 6-parameter problems it made the model treat every parameter but one as
irrelevant and the search stall.

``saas``: BoTorch's MAP SAAS model (sparse axis-aligned shrinkage prior), for spaces with many
parameters of which few matter. All use a ``Normalize`` input transform (features already live
in the unit cube; the transform pins the bounds) and a ``Standardize`` outcome transform.
Several modelled objectives share one batched model with independent hyperparameters.

``hamming`` (a scaled categorical kernel over every feature: only *whether* a value differs
counts, as in Optuna's ``GPSampler``) and ``matern_hamming`` (the classic Matérn plus that
term) are options that lost. Median HV at 20 trials over seeds 0-19 (DTLZ2, cat-DTLZ2):
``hamming`` 0.010, 0.045 against ``matern`` 0.022, 0.041 (reference point lowered to the
front); ``matern_hamming`` 0.023, 0.017 against ``matern`` 0.041, 0.032 (never lowered); see
benchmarks/results/optimizer.md. Without an order, a GP on 8-19 points cannot tell that sizes
near a good one are good too.

``matern_warped`` (the classic Matérn on inputs warped by a learnt Kumaraswamy CDF per
feature, one GP per modelled objective) is an option that lost too: seeds 0-9, 10 / 20 trials,
DTLZ2 0.034 / 0.054, cat-DTLZ2 0.030 / 0.041, ZDT1 97.5 / 118.9 against ``matern``'s 0.029 /
0.062, 0.031 / 0.061, 95.0 / 116.3 (benchmarks/results/optimizer.md): better at 10 trials,
worse at 20 on both DTLZ2 variants, where the default misses.

Fitting is L-BFGS on the marginal likelihood. To stay fast as trials accumulate, a fit may
start from the hyperparameters of the previous fit (same feature width) and then runs fewer
iterations: hyperparameters move little when a handful of trials are added.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import torch
from botorch.models import SingleTaskGP
from botorch.models.model import Model
from botorch.models.map_saas import get_map_saas_model
from botorch.models.transforms import Normalize, Standardize
from botorch.models.utils.gpytorch_modules import (
    get_covar_module_with_dim_scaled_prior,
    get_gaussian_likelihood_with_gamma_prior,
    get_matern_kernel_with_gamma_prior,
)
from botorch.optim import fit as botorch_fit
from gpytorch.mlls import ExactMarginalLogLikelihood

logger = logging.getLogger(__name__)

#: Module prefixes of hyperparameters that can be carried from one fit to the next.
_HYPER_PREFIXES = ("likelihood.", "covar_module.", "mean_module.")


def _matern(train_X: torch.Tensor, train_Y: torch.Tensor) -> SingleTaskGP:
    batch = _batch_shape(train_Y)
    return _single_task_gp(
        train_X,
        train_Y,
        covar_module=get_matern_kernel_with_gamma_prior(train_X.shape[-1], batch),
        likelihood=get_gaussian_likelihood_with_gamma_prior(batch),
    )


def _matern_dim_scaled(train_X: torch.Tensor, train_Y: torch.Tensor) -> SingleTaskGP:
    covar = get_covar_module_with_dim_scaled_prior(
        ard_num_dims=train_X.shape[-1], batch_shape=_batch_shape(train_Y), use_rbf_kernel=False
    )
    return _single_task_gp(train_X, train_Y, covar_module=covar)


def _hamming_kernel(d: int, batch: torch.Size) -> Any:
    """Scaled categorical (Hamming) kernel over all ``d`` features: exp(-mean(mismatch_j / l_j)).

    Every value of a feature is equally far from every other, so no value (no corner of
    the cube) is more uncertain than another: only how many parameters differ from the
    data counts.
    """
    from botorch.models.kernels.categorical import CategoricalKernel
    from gpytorch.constraints import GreaterThan
    from gpytorch.kernels import ScaleKernel
    from gpytorch.priors import GammaPrior

    return ScaleKernel(
        CategoricalKernel(batch_shape=batch, ard_num_dims=d, lengthscale_constraint=GreaterThan(1e-6)),
        batch_shape=batch,
        outputscale_prior=GammaPrior(2.0, 0.15),
    )


def _hamming(train_X: torch.Tensor, train_Y: torch.Tensor) -> SingleTaskGP:
    batch = _batch_shape(train_Y)
    return _single_task_gp(
        train_X, train_Y,
        covar_module=_hamming_kernel(train_X.shape[-1], batch),
        likelihood=get_gaussian_likelihood_with_gamma_prior(batch),
    )


def _matern_hamming(train_X: torch.Tensor, train_Y: torch.Tensor) -> SingleTaskGP:
    """Matérn on the features (order, e.g. ranks) plus a Hamming term (which values differ)."""
    batch = _batch_shape(train_Y)
    d = train_X.shape[-1]
    return _single_task_gp(
        train_X, train_Y,
        covar_module=get_matern_kernel_with_gamma_prior(d, batch) + _hamming_kernel(d, batch),
        likelihood=get_gaussian_likelihood_with_gamma_prior(batch),
    )


def _matern_warped(train_X: torch.Tensor, train_Y: torch.Tensor) -> Model:
    """The classic Matérn on features warped by a learnt Kumaraswamy CDF each (BoTorch's
    ``Warp``, LogNormal(0, 0.75) priors on both concentrations), one GP per modelled objective
    (a ``ModelListGP`` when there are several: ``Warp`` cannot serve a batched model)."""
    from botorch.models import ModelListGP
    from botorch.models.transforms.input import ChainedInputTransform, Warp
    from gpytorch.priors import LogNormalPrior

    d = train_X.shape[-1]
    models = []
    for j in range(train_Y.shape[-1]):
        warp = Warp(d, indices=list(range(d)), concentration1_prior=LogNormalPrior(0.0, 0.75**0.5),
                    concentration0_prior=LogNormalPrior(0.0, 0.75**0.5))
        models.append(SingleTaskGP(
            train_X, train_Y[..., j : j + 1],
            input_transform=ChainedInputTransform(normalize=Normalize(d, bounds=_unit_bounds(d, train_X)), warp=warp),
            outcome_transform=Standardize(1),
            covar_module=get_matern_kernel_with_gamma_prior(d),
            likelihood=get_gaussian_likelihood_with_gamma_prior(),
        ))
    return models[0] if len(models) == 1 else ModelListGP(*models)


def _single_task_gp(train_X: torch.Tensor, train_Y: torch.Tensor, **modules: Any) -> SingleTaskGP:
    return SingleTaskGP(train_X, train_Y, **_transforms(train_X, train_Y), **modules)


def _transforms(train_X: torch.Tensor, train_Y: torch.Tensor) -> dict[str, Any]:
    """Input and outcome transforms every surrogate uses (see the module docstring)."""
    d = train_X.shape[-1]
    return {
        "input_transform": Normalize(d, bounds=_unit_bounds(d, train_X)),
        "outcome_transform": Standardize(train_Y.shape[-1]),
    }


def _batch_shape(train_Y: torch.Tensor) -> torch.Size:
    """One batch member per modelled objective (independent hyperparameters)."""
    m = train_Y.shape[-1]
    return torch.Size([m]) if m > 1 else torch.Size([])


def _saas(train_X: torch.Tensor, train_Y: torch.Tensor) -> Model:
    return get_map_saas_model(train_X, train_Y, **_transforms(train_X, train_Y))


def _unit_bounds(d: int, like: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.zeros(d, dtype=like.dtype), torch.ones(d, dtype=like.dtype)])


#: Surrogate name -> builder of an unfitted model ``(train_X, train_Y) -> Model``.
SURROGATES: dict[str, Callable[[torch.Tensor, torch.Tensor], Model]] = {
    "matern": _matern,
    "matern_dim_scaled": _matern_dim_scaled,
    "saas": _saas,
    "hamming": _hamming,
    "matern_hamming": _matern_hamming,
    "matern_warped": _matern_warped,
}


#: Most GP features for which ``auto`` uses the classic-prior ``matern`` model.
AUTO_MAX_CLASSIC_FEATURES = 20

#: Surrogate names a sampler accepts: the models plus ``auto``.
SURROGATE_CHOICES = ("auto", *SURROGATES)


def resolve_surrogate(kind: str, num_features: int) -> str:
    """The model ``kind`` stands for on ``num_features`` GP features (``auto`` resolved)."""
    if kind != "auto":
        return kind
    return "matern" if num_features <= AUTO_MAX_CLASSIC_FEATURES else "matern_dim_scaled"


def fit_surrogate(
    kind: str,
    train_X: torch.Tensor,
    train_Y: torch.Tensor,
    previous: dict[str, torch.Tensor] | None = None,
    maxiter: int = 100,
    warm_maxiter: int = 20,
) -> tuple[Model, dict[str, torch.Tensor] | None]:
    """Fit a surrogate; returns the model and its hyperparameters for the next warm start.

    A fit that starts from ``previous`` and fails numerically (e.g. a kernel matrix that is
    not positive definite) is redone from the priors' starting values; hyperparameters that
    broke once are never carried forward. If that fails too, the model keeps the starting
    values and no state is returned, so the next fit starts afresh as well.
    """
    name = resolve_surrogate(kind, train_X.shape[-1])
    if previous:
        model = SURROGATES[name](train_X, train_Y)
        own = model.state_dict()
        carried = {k: v for k, v in previous.items() if k in own and own[k].shape == v.shape}
        if len(carried) == len(previous):
            model.load_state_dict(carried, strict=False)
            error = _fit(model, warm_maxiter, train_X[:1])
            if error is None:
                return model, _hyperparameters(model)
            logger.info("GP fit from the previous hyperparameters failed (%s); refitting from the priors", error)
    model = SURROGATES[name](train_X, train_Y)
    error = _fit(model, maxiter, train_X[:1])
    if error is None:
        return model, _hyperparameters(model)
    logger.warning("GP fit failed (%s); using the priors' starting hyperparameters", error)
    model = SURROGATES[name](train_X, train_Y)
    model.eval()
    return model, None


def _fit(model: Model, maxiter: int, probe: torch.Tensor) -> str | None:
    """L-BFGS on the marginal likelihood, then a posterior as a check; the error, or None."""
    from botorch.models import ModelListGP
    from gpytorch.mlls import SumMarginalLogLikelihood

    mll_class = SumMarginalLogLikelihood if isinstance(model, ModelListGP) else ExactMarginalLogLikelihood
    mll = mll_class(model.likelihood, model)
    mll.train()
    try:
        botorch_fit.fit_gpytorch_mll_scipy(mll, options={"maxiter": maxiter})  # looked up per call (tests patch it)
        mll.eval()
        with torch.no_grad():
            variance = model.posterior(probe).variance  # factorises the kernel matrix
        if not bool(torch.isfinite(variance).all()):
            raise ValueError("the fitted model predicts a non-finite variance")
    except Exception as exc:  # numerical failure (not positive definite, NaN): the caller decides
        mll.eval()
        return f"{type(exc).__name__}: {exc}"
    return None


def _hyperparameters(model: Model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k.startswith(_HYPER_PREFIXES)}
