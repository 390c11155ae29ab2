"""(IA)^3 (Liu et al. 2022): learned rescaling vectors, initialised to ones (identity).

Keys and values are rescaled at the output of their projections; the FFN is rescaled at the
input of its output projection (its intermediate activation), as HF peft does.
"""

from __future__ import annotations

import torch
from torch import nn


class IA3Vector(nn.Module):
    """A trainable vector ``l`` of ``size`` ones; scales the slice ``[start, start+size)`` of a tensor."""

    def __init__(self, size: int, start: int | None = None, total: int | None = None):
        super().__init__()
        self.ia3_l = nn.Parameter(torch.ones(size))
        self.start = start
        self.total = total

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        l = self.ia3_l.to(x.dtype)
        if self.start is None:
            return x * l
        ones_before = torch.ones(self.start, dtype=x.dtype, device=x.device)
        ones_after = torch.ones(self.total - self.start - l.shape[0], dtype=x.dtype, device=x.device)
        return x * torch.cat([ones_before, l, ones_after])

    def output_hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        return self.scale(output)

    def input_hook(self, module: nn.Module, args: tuple) -> tuple:
        return (self.scale(args[0]), *args[1:])
