"""LoRA (Hu et al. 2022) as a forward hook on a frozen projection.

``y = base(x) + B(A(dropout(x))) * scaling``, with ``A`` Kaiming-uniform and ``B`` zero at
initialisation, exactly as HF peft's ``lora.Linear`` computes it (tested to 1e-5). The base module
stays where it is, so the backbone's state-dict keys do not change. For a fused projection (GPT-2's
``c_attn``) a branch writes only its slice of the output.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoraBranch(nn.Module):
    """The low-rank update of one projection (or one slice of a fused projection)."""

    def __init__(self, in_features: int, out_features: int, rank: int, scaling: float, dropout: float,
                 out_slice: tuple[int, int] | None = None):
        super().__init__()
        self.lora_A = nn.Linear(in_features, rank, bias=False)
        self.lora_B = nn.Linear(rank, out_features, bias=False)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.scaling = scaling
        self.out_slice = out_slice
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)

    def delta(self, x: torch.Tensor) -> torch.Tensor:
        return self.lora_B(self.lora_A(self.dropout(x.to(self.lora_A.weight.dtype)))) * self.scaling

    def hook(self, module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        delta = self.delta(args[0]).to(output.dtype)
        if self.out_slice is None:
            return output + delta
        start, end = self.out_slice
        pad = (start, output.shape[-1] - end)
        return output + nn.functional.pad(delta, pad)
