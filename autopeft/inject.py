"""`apply`: inject a `PeftConfig` into a transformers model and freeze its backbone."""

from __future__ import annotations

from dataclasses import dataclass
from torch import nn

from autopeft.architectures import PROJECTIONS
from autopeft.backbone import Backbone
from autopeft.config import PeftConfig
from autopeft.errors import ArchitectureError, ConfigError
from autopeft.methods.injectors import InjectionContext, projection_targets, resolve
from autopeft.methods.registry import REGISTRY

#: Substring of every parameter name autopeft adds.
PEFT_MARKER = "autopeft_"


@dataclass(frozen=True)
class TrainableSummary:
    """Parameter counts of a model after :func:`apply`."""

    peft_params: int
    head_params: int
    frozen_params: int

    @property
    def trainable_params(self) -> int:
        return self.peft_params + self.head_params


def _check_shapes(ctx: InjectionContext, layer: nn.Module, backbone: Backbone) -> None:
    """The built projections must have the sizes the analytic accounting assumes."""
    for projection in PROJECTIONS:
        expected = backbone.projection(projection)
        for target in projection_targets(ctx, layer, 0, projection):
            if (target.in_features, target.out_features) != (expected.in_features, expected.out_features):
                raise ArchitectureError(
                    f"{ctx.family.name} projection {projection!r} is {target.in_features}x{target.out_features} "
                    f"in the model but {expected.in_features}x{expected.out_features} from its config; "
                    "the architecture table does not match this model"
                )


def _head_parameters(model: nn.Module) -> list[nn.Parameter]:
    base = model.base_model if hasattr(model, "base_model") else model
    if base is model:
        return []
    in_base = {id(p) for p in base.parameters()}
    return [p for p in model.parameters() if id(p) not in in_base]


def apply(model: nn.Module, config: PeftConfig) -> nn.Module:
    """Inject ``config``'s modules into ``model`` in place and return it.

    Every registered method used in a layer injects its modules there, in ``hook_order`` (the
    order its hooks run on a shared module), then each used method's ``finish`` runs once.

    The backbone is frozen; the PEFT modules (every parameter named ``*autopeft_*``) and the task
    head (parameters outside ``model.base_model``) are trainable. Without prefix-tuning the
    model's outputs are unchanged at initialisation. Apply to a fresh model (or a deep copy of a
    cached one): applying twice raises.
    """
    if not isinstance(config, PeftConfig):
        raise ConfigError(f"config: expected a PeftConfig, got {type(config).__name__}; build one with PeftConfig.from_dict")
    if getattr(model, "_autopeft_config", None) is not None:
        raise ConfigError("model: autopeft modules are already applied; apply to a fresh copy of the backbone")
    model_config = getattr(model, "config", None)
    if model_config is None:
        raise ArchitectureError(f"model: {type(model).__name__} has no transformers config; pass a transformers model")
    backbone = Backbone.from_config(model_config)
    family = backbone.family
    config.check_compatible(backbone)
    ctx = InjectionContext(family=family, dims=backbone.dims, config=config)
    base = model.base_model if hasattr(model, "base_model") else model
    layers = resolve(base, family.layers, f"{family.name} layers")
    if not isinstance(layers, nn.ModuleList) or len(layers) != config.num_layers:
        raise ArchitectureError(
            f"{family.name}: {family.layers!r} is a {type(layers).__name__} of "
            f"{len(layers) if hasattr(layers, '__len__') else '?'} modules, expected {config.num_layers} layers"
        )
    _check_shapes(ctx, layers[0], backbone)
    for param in model.parameters():
        param.requires_grad_(False)
    methods = REGISTRY.in_hook_order()
    for index, (layer, layer_config) in enumerate(zip(layers, config.layers)):
        for method in methods:
            if method.used_in_layer(layer_config):
                method.inject(ctx, index, layer, layer_config)
    for method in methods:
        if method.finish is not None and method.layers_using(config):
            method.finish(model, ctx)
    for name, param in model.named_parameters():
        if PEFT_MARKER in name:
            param.requires_grad_(True)
    for param in _head_parameters(model):
        param.requires_grad_(True)
    model._autopeft_config = config
    model._autopeft_hooks = ctx.handles
    return model


def trainable_summary(model: nn.Module) -> TrainableSummary:
    """How many parameters are PEFT, task head, and frozen."""
    peft = head = frozen = 0
    for name, param in model.named_parameters():
        if not param.requires_grad:
            frozen += param.numel()
        elif PEFT_MARKER in name:
            peft += param.numel()
        else:
            head += param.numel()
    return TrainableSummary(peft_params=peft, head_params=head, frozen_params=frozen)
