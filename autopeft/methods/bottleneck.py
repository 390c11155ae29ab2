"""Bottleneck adapters: serial (Houlsby / Pfeiffer) and parallel (He et al. 2022).

Both are ``up(act(down(h)))`` with a zero-initialised up projection, so a model with adapters
computes exactly what the backbone computes until training moves them.

* serial: a forward hook on a projection replaces its output ``y`` by ``y + adapter(y)``.
* parallel: a pre-hook on the FFN block stores the block's input ``x``; a forward hook on the FFN
  output projection adds ``scaling * adapter(x)`` to its output.
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


class BottleneckAdapter(nn.Module):
    """``up(act(down(x)))``; 2*hidden*size + size + hidden parameters."""

    def __init__(self, hidden: int, size: int, activation: str):
        super().__init__()
        self.down = nn.Linear(hidden, size)
        self.act = ACTIVATIONS[activation]()
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
