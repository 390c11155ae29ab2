"""The explicit table of transformer families autopeft knows.

For each family it names, relative to ``model.base_model``, the list of transformer layers and,
relative to one layer, every module a PEFT method attaches to. Nothing is guessed from module
names: a model whose ``config.model_type`` is not in :data:`FAMILIES` is rejected with the list of
supported types, and a table path that does not resolve raises with the names that do exist.

The dimensions of every projection come from the transformers config alone, so parameter counts
can be computed without building a model (see :mod:`autopeft.accounting`). This module imports
neither torch nor transformers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from autopeft.errors import ArchitectureError

#: The projections LoRA can target, in canonical order.
PROJECTIONS: tuple[str, ...] = ("query", "key", "value", "attn_output", "ffn_in", "ffn_out")


@dataclass(frozen=True)
class Dims:
    """Sizes of one transformer layer, read from a transformers config."""

    num_layers: int
    hidden: int
    intermediate: int
    num_heads: int
    num_kv_heads: int
    head_dim: int

    @property
    def q_dim(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_kv_heads * self.head_dim


@dataclass(frozen=True)
class FusedSlice:
    """A projection that lives inside a fused module (GPT-2's ``c_attn``): its output slice."""

    module: str
    index: int  # 0 = query, 1 = key, 2 = value


@dataclass(frozen=True)
class Family:
    """How one architecture family is laid out.

    Attributes:
        name: family name shown in messages.
        model_types: ``config.model_type`` values of this family.
        layers: dotted path from ``model.base_model`` to the ``nn.ModuleList`` of layers.
        projections: projection name -> dotted path(s) inside a layer. A tuple with several
            paths means the projection is several modules that take the same input (Llama's
            gate and up projections are both "ffn_in"). A :class:`FusedSlice` is a slice of a
            fused module's output.
        attention: path of the self-attention module (prefix-tuning attaches here).
        ffn_block: path of the module whose input is the FFN sub-layer's input (the parallel
            adapter reads it).
        supports_prefix: whether prefix-tuning is available for this family.
        conv1d: modules are ``transformers.Conv1D`` (weight stored transposed).
    """

    name: str
    model_types: tuple[str, ...]
    layers: str
    projections: Mapping[str, tuple[str, ...] | FusedSlice]
    attention: str
    ffn_block: str
    supports_prefix: bool = True
    conv1d: bool = False
    notes: str = ""

    def projection_paths(self, projection: str) -> tuple[str, ...] | FusedSlice:
        try:
            return self.projections[projection]
        except KeyError:
            raise ArchitectureError(
                f"projection {projection!r} is not defined for family {self.name!r}; "
                f"defined: {sorted(self.projections)}"
            ) from None


def _bert_like(name: str, model_types: tuple[str, ...]) -> Family:
    return Family(
        name=name,
        model_types=model_types,
        layers="encoder.layer",
        projections={
            "query": ("attention.self.query",),
            "key": ("attention.self.key",),
            "value": ("attention.self.value",),
            "attn_output": ("attention.output.dense",),
            "ffn_in": ("intermediate.dense",),
            "ffn_out": ("output.dense",),
        },
        attention="attention.self",
        ffn_block="intermediate",
    )


_LLAMA_PROJECTIONS = {
    "query": ("self_attn.q_proj",),
    "key": ("self_attn.k_proj",),
    "value": ("self_attn.v_proj",),
    "attn_output": ("self_attn.o_proj",),
    "ffn_in": ("mlp.gate_proj", "mlp.up_proj"),
    "ffn_out": ("mlp.down_proj",),
}

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        _bert_like("bert", ("bert",)),
        _bert_like("roberta", ("roberta", "xlm-roberta")),
        _bert_like("electra", ("electra",)),
        Family(
            name="deberta-v2",
            model_types=("deberta-v2",),
            layers="encoder.layer",
            projections={
                "query": ("attention.self.query_proj",),
                "key": ("attention.self.key_proj",),
                "value": ("attention.self.value_proj",),
                "attn_output": ("attention.output.dense",),
                "ffn_in": ("intermediate.dense",),
                "ffn_out": ("output.dense",),
            },
            attention="attention.self",
            ffn_block="intermediate",
            supports_prefix=False,
            notes="DeBERTa's disentangled attention does not use transformers' attention "
            "interface, so prefix-tuning is not available; every other module type is.",
        ),
        Family(
            name="distilbert",
            model_types=("distilbert",),
            layers="transformer.layer",
            projections={
                "query": ("attention.q_lin",),
                "key": ("attention.k_lin",),
                "value": ("attention.v_lin",),
                "attn_output": ("attention.out_lin",),
                "ffn_in": ("ffn.lin1",),
                "ffn_out": ("ffn.lin2",),
            },
            attention="attention",
            ffn_block="ffn",
        ),
        Family(
            name="gpt2",
            model_types=("gpt2",),
            layers="h",
            projections={
                "query": FusedSlice("attn.c_attn", 0),
                "key": FusedSlice("attn.c_attn", 1),
                "value": FusedSlice("attn.c_attn", 2),
                "attn_output": ("attn.c_proj",),
                "ffn_in": ("mlp.c_fc",),
                "ffn_out": ("mlp.c_proj",),
            },
            attention="attn",
            ffn_block="mlp",
            conv1d=True,
        ),
        Family(
            name="llama",
            model_types=("llama", "qwen2", "mistral", "qwen3"),
            layers="layers",
            projections=_LLAMA_PROJECTIONS,
            attention="self_attn",
            ffn_block="mlp",
        ),
    )
}

_BY_MODEL_TYPE: dict[str, Family] = {
    model_type: family for family in FAMILIES.values() for model_type in family.model_types
}


def supported_model_types() -> list[str]:
    """Every ``config.model_type`` autopeft can handle."""
    return sorted(_BY_MODEL_TYPE)


def _get(model_config: Any, key: str, default: Any = None) -> Any:
    model_config = _config_of(model_config)
    if isinstance(model_config, Mapping):
        return model_config.get(key, default)
    return getattr(model_config, key, default)


def _config_of(model_config: Any) -> Any:
    """The transformers config (or dict) behind ``model_config``: a :class:`autopeft.backbone.Backbone`
    carries the one it was read from."""
    if isinstance(getattr(model_config, "family", None), Family):
        return model_config.config
    return model_config


def family_for(model_config: Any) -> Family:
    """The :class:`Family` of a transformers config (or a dict of one, or a
    :class:`autopeft.backbone.Backbone`, which has it already)."""
    family = getattr(model_config, "family", None)
    if isinstance(family, Family):
        return family
    model_type = _get(model_config, "model_type")
    try:
        return _BY_MODEL_TYPE[model_type]
    except KeyError:
        raise ArchitectureError(
            f"model_type {model_type!r} is not supported; supported model types: "
            f"{supported_model_types()}. Add a row to autopeft.architectures.FAMILIES to support it."
        ) from None


def _first(model_config: Any, *keys: str) -> Any:
    for key in keys:
        value = _get(model_config, key)
        if value is not None:
            return value
    raise ArchitectureError(f"the model config has none of the keys {list(keys)}")


def dims_of(model_config: Any) -> Dims:
    """Layer count and projection sizes of a transformers config (or a dict of one, or a
    :class:`autopeft.backbone.Backbone`, which has them already)."""
    dims = getattr(model_config, "dims", None)
    if isinstance(dims, Dims):
        return dims
    family = family_for(model_config)
    num_layers = int(_first(model_config, "num_hidden_layers", "n_layer", "n_layers"))
    hidden = int(_first(model_config, "hidden_size", "n_embd", "dim"))
    num_heads = int(_first(model_config, "num_attention_heads", "n_head", "n_heads"))
    if family.name == "gpt2":
        intermediate = _get(model_config, "n_inner") or 4 * hidden
    else:
        intermediate = _first(model_config, "intermediate_size", "hidden_dim")
    num_kv_heads = int(_get(model_config, "num_key_value_heads") or num_heads)
    head_dim = _get(model_config, "head_dim") if family.name == "llama" else None
    head_dim = int(head_dim or hidden // num_heads)
    return Dims(
        num_layers=num_layers,
        hidden=hidden,
        intermediate=int(intermediate),
        num_heads=num_heads,
        num_kv_heads=num_kv_heads,
        head_dim=head_dim,
    )


@dataclass(frozen=True)
class ProjectionShape:
    """Input and output features of one (possibly fused-slice) projection module."""

    in_features: int
    out_features: int
    copies: int = 1  # how many modules this projection is (Llama ffn_in = gate + up)


def projection_shape(model_config: Any, projection: str) -> ProjectionShape:
    """Shape of a projection, from the config alone."""
    family = family_for(model_config)
    d = dims_of(model_config)
    paths = family.projection_paths(projection)
    copies = 1 if isinstance(paths, FusedSlice) else len(paths)
    shapes = {
        "query": (d.hidden, d.q_dim),
        "key": (d.hidden, d.kv_dim),
        "value": (d.hidden, d.kv_dim),
        "attn_output": (d.q_dim, d.hidden),
        "ffn_in": (d.hidden, d.intermediate),
        "ffn_out": (d.intermediate, d.hidden),
    }
    in_f, out_f = shapes[projection]
    return ProjectionShape(in_f, out_f, copies)


def backbone_params(model_config: Any) -> int:
    """Parameters of the backbone (embeddings + layers, no task head), from the config alone.

    Computed from the same table as the PEFT counts, so percentages are stable across tasks.
    A :class:`autopeft.backbone.Backbone` has it already.
    """
    if isinstance(getattr(model_config, "family", None), Family):
        return int(model_config.backbone_params)
    d = dims_of(model_config)
    family = family_for(model_config)
    vocab = int(_first(model_config, "vocab_size"))
    h, i = d.hidden, d.intermediate
    if family.name == "llama":
        attn = h * d.q_dim + 2 * h * d.kv_dim + d.q_dim * h
        if _get(model_config, "attention_bias") or _get(model_config, "model_type") == "qwen2":
            attn += d.q_dim + 2 * d.kv_dim
        layer = attn + 3 * h * i + 2 * h  # q/k/v/o, gate/up/down, two RMSNorms
        return int(vocab * h + d.num_layers * layer + h)  # embeddings, layers, final norm
    # Encoders and GPT-2: biased linears and LayerNorms with weight and bias.
    attn = (h * d.q_dim + d.q_dim) + 2 * (h * d.kv_dim + d.kv_dim) + (d.q_dim * h + h)
    mlp = (h * i + i) + (i * h + h)
    norms = 2 * 2 * h
    layer = attn + mlp + norms
    max_pos = int(_first(model_config, "max_position_embeddings", "n_positions"))
    embed = vocab * h
    if family.name != "deberta-v2" or _get(model_config, "position_biased_input", True):
        embed += max_pos * h
    type_vocab = _get(model_config, "type_vocab_size") or 0
    if family.name in ("bert", "roberta", "electra", "deberta-v2"):
        embed += type_vocab * h
    embed_size = _get(model_config, "embedding_size")
    if family.name == "electra" and embed_size and embed_size != h:
        # ELECTRA factorises embeddings: vocab x E plus a projection E -> H.
        embed = (vocab + max_pos + type_vocab) * embed_size + 2 * embed_size + embed_size * h + h
        return int(embed + d.num_layers * layer)
    embed += 2 * h  # embedding LayerNorm (GPT-2: final ln_f)
    if family.name == "deberta-v2" and _get(model_config, "relative_attention", False):
        embed += _deberta_relative_params(model_config, h)
        if not _get(model_config, "share_att_key", False):
            pos_types = _get(model_config, "pos_att_type") or []
            layer += (h * d.q_dim + d.q_dim) * sum(t in pos_types for t in ("c2p", "p2c"))
    return int(embed + d.num_layers * layer)


def _deberta_relative_params(model_config: Any, hidden: int) -> int:
    """DeBERTa's relative-position embeddings and the encoder LayerNorm that goes with them."""
    buckets = _get(model_config, "position_buckets", -1) or -1
    max_relative = _get(model_config, "max_relative_positions", -1) or -1
    if max_relative < 1:
        max_relative = int(_first(model_config, "max_position_embeddings"))
    span = buckets if buckets > 0 else max_relative
    norm = 2 * hidden if "layer_norm" in (_get(model_config, "norm_rel_ebd") or "none") else 0
    return 2 * span * hidden + norm
