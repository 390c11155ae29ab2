"""Prefix-tuning (Li & Liang 2021): trainable key/value vectors prepended in self-attention.

Every family whose attention goes through transformers' ``AttentionInterface`` passes its
attention module, queries, keys, values and mask to one function. :func:`apply` switches such a
model to :data:`IMPLEMENTATION`, a thin wrapper around transformers' SDPA attention that, for an
attention module carrying a :class:`Prefix`, prepends the prefix keys and values and widens the
mask by as many columns, all visible. Padding stays masked (the original mask columns are kept),
and causal models stay causal over their own tokens while every token sees the whole prefix.
"""

from __future__ import annotations

import torch
from torch import nn

IMPLEMENTATION = "autopeft_prefix"
_PREFIX_ATTRIBUTE = "autopeft_prefix"


class Prefix(nn.Module):
    """The prefix of one attention layer: ``length`` key and value vectors per KV head.

    ``reparameterization="mlp"`` produces them from an embedding through a two-layer tanh MLP
    (trained jointly; the MLP can be dropped after training by materialising its output).
    """

    def __init__(self, length: int, num_kv_heads: int, head_dim: int, hidden: int,
                 reparameterization: str = "none", mlp_hidden: int = 512):
        super().__init__()
        self.length, self.num_kv_heads, self.head_dim = length, num_kv_heads, head_dim
        kv = 2 * num_kv_heads * head_dim
        if reparameterization == "none":
            self.prefix_kv = nn.Parameter(torch.randn(length, kv) * 0.02)
            self.embedding = self.mlp = None
        else:
            self.prefix_kv = None
            self.embedding = nn.Parameter(torch.randn(length, hidden) * 0.02)
            self.mlp = nn.Sequential(nn.Linear(hidden, mlp_hidden), nn.Tanh(), nn.Linear(mlp_hidden, kv))

    def key_values(self, batch: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        kv = self.prefix_kv if self.mlp is None else self.mlp(self.embedding)
        kv = kv.view(self.length, 2, self.num_kv_heads, self.head_dim).permute(1, 2, 0, 3).to(dtype)
        keys = kv[0].unsqueeze(0).expand(batch, -1, -1, -1)
        values = kv[1].unsqueeze(0).expand(batch, -1, -1, -1)
        return keys, values


def attach(attention_module: nn.Module, prefix: Prefix) -> None:
    attention_module.add_module(_PREFIX_ATTRIBUTE, prefix)


def _widen_mask(mask: torch.Tensor | None, module: nn.Module, query: torch.Tensor, key_len: int,
                prefix_len: int) -> torch.Tensor | None:
    """The attention mask with ``prefix_len`` leading columns that every query may attend."""
    batch, q_len = query.shape[0], query.shape[2]
    if mask is None:
        if not getattr(module, "is_causal", False) or q_len == 1:
            return None  # bidirectional and unpadded: everything, prefix included, is visible
        rows = torch.arange(q_len, device=query.device)[:, None] + (key_len - q_len)
        mask = (torch.arange(key_len, device=query.device)[None, :] <= rows)[None, None]
        mask = mask.expand(batch, 1, q_len, key_len)
    visible = torch.ones(*mask.shape[:-1], prefix_len, dtype=torch.bool, device=mask.device)
    if mask.dtype != torch.bool:
        visible = torch.zeros(*mask.shape[:-1], prefix_len, dtype=mask.dtype, device=mask.device)
    return torch.cat([visible, mask], dim=-1)


def prefix_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     attention_mask: torch.Tensor | None, **kwargs):
    """SDPA attention with this module's prefix (if any) prepended to keys and values."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    prefix: Prefix | None = getattr(module, _PREFIX_ATTRIBUTE, None)
    if prefix is not None:
        prefix_keys, prefix_values = prefix.key_values(key.shape[0], key.dtype)
        attention_mask = _widen_mask(attention_mask, module, query, key.shape[2], prefix.length)
        key = torch.cat([prefix_keys, key], dim=2)
        value = torch.cat([prefix_values, value], dim=2)
        if attention_mask is not None:
            kwargs["is_causal"] = False  # the explicit mask carries causality now
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def register() -> None:
    """Make :data:`IMPLEMENTATION` known to transformers (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(IMPLEMENTATION, prefix_attention)
    AttentionMaskInterface.register(IMPLEMENTATION, sdpa_mask)
