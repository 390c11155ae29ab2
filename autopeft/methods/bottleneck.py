"""Bottleneck adapters: serial (Houlsby / Pfeiffer) and parallel (He et al. 2022), three methods.

Each is ``up(act(down(h)))`` with a zero-initialised up projection, so a model with adapters
computes exactly what the backbone computes until training moves them.

* ``serial_adapter``: a forward hook on the FFN output projection replaces its output ``y`` by
  ``y + adapter(y)`` (Pfeiffer; the AutoPEFT "SA").
* ``serial_adapter_attn``: the same after the attention output projection (with
  ``serial_adapter`` this is the Houlsby adapter).
* ``parallel_adapter``: a pre-hook on the FFN block stores the block's input ``x``; a forward
  hook on the FFN output projection adds ``parallel_adapter_scaling * adapter(x)`` (AutoPEFT "PA").

Knobs: ``adapter_activation`` (all three) and ``parallel_adapter_scaling``. Exports: peft has no
bottleneck adapters; AdapterHub's ``SeqBnConfig`` / ``ParBnConfig`` express them, per-layer
sizes as a ``reduction_factor`` mapping ``{"<layer>": hidden/size}`` and the other layers in
``leave_out``. The serial adapters use ``original_ln_before=False``, ``residual_before_ln=True``,
``original_ln_after=True``: ``LN(h + up(act(down(h))) + x)`` with ``h`` the projection's output,
exactly autopeft's placement (dropout aside).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autopeft._lazy import lazy_module
from autopeft.methods.injectors import InjectionContext, like, projection_targets, resolve
from autopeft.methods.registry import (
    SIZE,
    ExportRule,
    Knob,
    LayerField,
    ModelShapes,
    PeftMethod,
    TorchClasses,
    register_method,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

    from autopeft.config import LayerConfig, PeftConfig
    from autopeft.export.model_info import ModelInfo
else:
    torch = lazy_module("torch")

ACTIVATIONS = ("relu", "gelu", "silu", "tanh")
#: autopeft activation -> AdapterHub ``non_linearity`` name.
ADAPTERS_ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "silu": "swish", "tanh": "tanh"}


# ----------------------------------------------------------------------------- torch modules
def _define() -> dict[str, type]:
    nn = torch.nn

    activations: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}

    class BottleneckAdapter(nn.Module):
        """``up(act(down(x)))``; 2*hidden*size + size + hidden parameters."""

        def __init__(self, hidden: int, size: int, activation: str):
            super().__init__()
            self.down = nn.Linear(hidden, size)
            self.act = activations[activation]()
            self.up = nn.Linear(size, hidden)
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.up(self.act(self.down(x.to(self.down.weight.dtype))))

    class SerialAdapter(BottleneckAdapter):
        """A bottleneck adapter applied in series to a module's output, with its own residual."""

        def hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            return output + self(output).to(output.dtype)

    class ParallelAdapter(BottleneckAdapter):
        """A bottleneck adapter beside the FFN: reads the FFN input, adds to the FFN output."""

        def __init__(self, hidden: int, size: int, activation: str, scaling: float):
            super().__init__(hidden, size, activation)
            self.scaling = scaling
            self._block_input: torch.Tensor | None = None

        def capture_input(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
            self._block_input = args[0] if args else next(iter(kwargs.values()))

        def hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
            x, self._block_input = self._block_input, None
            if x is None:
                raise RuntimeError("parallel adapter: the FFN block's input was not captured before its output")
            return output + (self.scaling * self(x)).to(output.dtype)

    return {"BottleneckAdapter": BottleneckAdapter, "SerialAdapter": SerialAdapter, "ParallelAdapter": ParallelAdapter}


classes = TorchClasses(__name__, _define, ("BottleneckAdapter", "SerialAdapter", "ParallelAdapter"))
__getattr__ = classes.module_getattr


def bottleneck_params(hidden: int, size: int) -> int:
    """Down (hidden -> size, biased) plus up (size -> hidden, biased) projections."""
    return 0 if size == 0 else 2 * hidden * size + size + hidden


def _counter(field: str):
    def count(layer: "LayerConfig", config: "PeftConfig", shapes: ModelShapes) -> int:
        return bottleneck_params(shapes.dims.hidden, getattr(layer, field))

    return count


# ----------------------------------------------------------------------------- injection
def _serial_injector(field: str, projection: str):
    def inject(ctx: InjectionContext, index: int, layer: "nn.Module", layer_config: "LayerConfig") -> None:
        (target,) = projection_targets(ctx, layer, index, projection)
        adapter = like(classes.SerialAdapter(ctx.dims.hidden, getattr(layer_config, field), ctx.config.adapter_activation),
                       target.module)
        layer.add_module(f"autopeft_{field}", adapter)
        ctx.handles.append(target.module.register_forward_hook(adapter.hook))

    return inject


def _inject_parallel(ctx: InjectionContext, index: int, layer: "nn.Module", layer_config: "LayerConfig") -> None:
    block = resolve(layer, ctx.family.ffn_block, f"{ctx.family.name} layer {index} FFN block")
    (ffn_out,) = projection_targets(ctx, layer, index, "ffn_out")
    adapter = classes.ParallelAdapter(ctx.dims.hidden, layer_config.parallel_adapter, ctx.config.adapter_activation,
                                      ctx.config.parallel_adapter_scaling)
    layer.add_module("autopeft_parallel_adapter", like(adapter, ffn_out.module))
    ctx.handles.append(block.register_forward_pre_hook(adapter.capture_input, with_kwargs=True))
    ctx.handles.append(ffn_out.module.register_forward_hook(adapter.hook))


# ----------------------------------------------------------------------------- exports
def _no_peft(field: str) -> ExportRule:
    return ExportRule(problems=lambda config, info, layers: [
        f"{field} (bottleneck adapter) in layers {layers}: peft has no bottleneck adapters; "
        "the adapters format expresses them"])


def reduction_factor(hidden: int, size: int) -> float:
    """A ``reduction_factor`` for which AdapterHub builds ``int(hidden // factor) == size``."""
    for factor in (hidden / size, hidden / (size + 0.5)):
        if int(hidden // factor) == size:
            return int(factor) if float(factor).is_integer() else factor
    raise ValueError(f"no reduction factor gives a bottleneck of {size} for hidden size {hidden}")


def _factor_problems(field: str, config: "PeftConfig", info: "ModelInfo", layers: list[int]) -> list[str]:
    hidden = info.dims.hidden
    out = []
    for i in layers:
        size = getattr(config.layers[i], field)
        try:
            reduction_factor(hidden, size)
        except ValueError:
            out.append(f"{field}={size} in layer {i}: no reduction_factor gives that size for hidden size {hidden}")
    return out


def _parallel_adapters_problems(config: "PeftConfig", info: "ModelInfo", layers: list[int]) -> list[str]:
    both = [i for i in layers if config.layers[i].serial_adapter]
    out = []
    if both:
        out.append(f"serial_adapter and parallel_adapter together in layers {both}: a ConfigUnion holds one "
                   "bottleneck adapter per location")
    return out + _factor_problems("parallel_adapter", config, info, layers)


def _bottleneck_defaults() -> dict[str, Any]:
    """The BnConfig fields every exported bottleneck writes (AdapterHub's defaults otherwise)."""
    return {
        "ln_before": False,
        "ln_after": False,
        "init_weights": "bert",
        "use_gating": False,
        "adapter_residual_before_ln": False,
        "inv_adapter": None,
        "inv_adapter_reduction_factor": None,
        "cross_adapter": False,
        "dropout": 0.0,
        "phm_layer": False,
    }


def _adapters_entries(field: str, *, parallel: bool, attention: bool):
    def build(config: "PeftConfig", info: "ModelInfo") -> list[dict[str, Any]]:
        hidden = info.dims.hidden
        sizes = [getattr(layer, field) for layer in config.layers]
        used = [i for i, size in enumerate(sizes) if size]
        factors: dict[str, Any] = {str(i): reduction_factor(hidden, sizes[i]) for i in used}
        factors["default"] = factors[str(used[0])]
        entry = {
            "mh_adapter": attention,
            "output_adapter": not attention,
            "reduction_factor": factors,
            "non_linearity": ADAPTERS_ACTIVATIONS[config.adapter_activation],
            "original_ln_before": False,
            "original_ln_after": True,
            "residual_before_ln": True,
            "is_parallel": parallel,
            "scaling": config.parallel_adapter_scaling if parallel else 1.0,
            **_bottleneck_defaults(),
            "leave_out": [i for i in range(config.num_layers) if i not in used],
        }
        if parallel:
            entry["init_weights"] = "mam_adapter"
        return [entry]

    return build


def _serial_method(name: str, projection: str, where: str, label: str, column: str, description: str,
                   **extra: Any) -> PeftMethod:
    return PeftMethod(
        name=name,
        title="serial adapter",
        description=description,
        fields=(LayerField(name, SIZE, label=label, column=column, scalable=True,
                           description=f"bottleneck size of the serial adapter after the {where} output"),),
        count=_counter(name),
        inject=_serial_injector(name, projection),
        hook_order=40,
        peft=_no_peft(name),
        adapters=ExportRule(problems=lambda config, info, layers: _factor_problems(name, config, info, layers),
                            build=_adapters_entries(name, parallel=False, attention=projection == "attn_output")),
        **extra,
    )


register_method(_serial_method(
    "serial_adapter", "ffn_out", "FFN", "SA", "serial adapter (FFN)",
    "bottleneck adapter in series after the FFN output (Pfeiffer; AutoPEFT's SA)",
    knobs=(Knob("adapter_activation", "relu", "the bottleneck adapters' non-linearity", choices=ACTIVATIONS),),
))
register_method(_serial_method(
    "serial_adapter_attn", "attn_output", "attention", "SAattn", "serial adapter (attn)",
    "bottleneck adapter in series after the attention output (with serial_adapter: Houlsby)",
    uses_knobs=("adapter_activation",),
))
register_method(PeftMethod(
    name="parallel_adapter",
    title="parallel adapter",
    description="bottleneck adapter beside the FFN, its output scaled and added to the FFN's (He et al. 2022; AutoPEFT's PA)",
    fields=(LayerField("parallel_adapter", SIZE, label="PA", column="parallel adapter", scalable=True,
                       description="bottleneck size of the parallel adapter beside the FFN"),),
    knobs=(Knob("parallel_adapter_scaling", 4.0, "factor on the parallel adapter's output (He et al. use 4)"),),
    uses_knobs=("adapter_activation",),
    count=_counter("parallel_adapter"),
    inject=_inject_parallel,
    hook_order=30,
    peft=_no_peft("parallel_adapter"),
    adapters=ExportRule(problems=_parallel_adapters_problems,
                        build=_adapters_entries("parallel_adapter", parallel=True, attention=False)),
))
