"""`PeftConfig`: a per-layer description of a parameter-efficient fine-tuning configuration.

A configuration says, for every transformer layer independently, which PEFT modules it gets
and how large they are, plus a few global knobs. It is plain data: JSON-serialisable, compared
by value, and free of torch. ``to_dict()`` / ``PeftConfig.from_dict()`` round-trip exactly and
every dict carries ``format_version``.

Module types per layer (0 or ``False`` = absent):

* ``serial_adapter``: bottleneck adapter applied in series to the FFN output (Pfeiffer; the
  AutoPEFT "SA"), ``h + up(act(down(h)))``.
* ``serial_adapter_attn``: the same after the attention output projection (with
  ``serial_adapter`` this is the Houlsby adapter).
* ``parallel_adapter``: bottleneck adapter reading the FFN input, its output scaled by
  ``parallel_adapter_scaling`` and added to the FFN output (He et al. 2022; AutoPEFT "PA").
* ``prefix_length``: trainable key/value vectors prepended in self-attention (Li & Liang 2021).
* ``lora``: LoRA rank per projection (query, key, value, attn_output, ffn_in, ffn_out).
* ``ia3``: (IA)^3 rescaling of keys, values and the FFN's intermediate activation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from autopeft.architectures import PROJECTIONS
from autopeft.errors import ConfigError

FORMAT_VERSION = 1

LORA_ALPHA_RULES = ("fixed", "proportional", "rslora")
ACTIVATIONS = ("relu", "gelu", "silu", "tanh")
PREFIX_REPARAMETERIZATIONS = ("none", "mlp")

#: Per-layer size fields (non-negative ints) in canonical order.
SIZE_FIELDS: tuple[str, ...] = (
    "serial_adapter",
    "serial_adapter_attn",
    "parallel_adapter",
    "prefix_length",
)


def _check_int(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{path}: expected a non-negative integer, got {value!r} ({type(value).__name__}); "
            "use 0 for an absent module"
        )
    if value < 0:
        raise ConfigError(f"{path}: expected a non-negative integer, got {value}; use 0 for an absent module")
    return value


def _check_bool(path: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {value!r} ({type(value).__name__})")
    return value


def _check_number(path: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{path}: expected a number, got {value!r} ({type(value).__name__})")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{path}: expected a {'positive' if positive else 'non-negative'} number, got {value}")
    return float(value)


def _check_choice(path: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{path}: expected one of {list(choices)}, got {value!r}")
    return value


def reject_unknown_keys(where: str, given: Mapping[str, Any], known: set[str]) -> None:
    """Raise :class:`ConfigError` naming the first key of ``given`` not in ``known`` (at ``where``)."""
    unknown = sorted(set(given) - known)
    if unknown:
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}unknown key {unknown[0]!r}"
            + (f" (and {unknown[1:]})" if len(unknown) > 1 else "")
            + f"; known keys: {sorted(known)}"
        )


@dataclass
class LayerConfig:
    """The PEFT modules of one transformer layer. Sizes of 0 (and ``ia3=False``) mean absent."""

    serial_adapter: int = 0
    serial_adapter_attn: int = 0
    parallel_adapter: int = 0
    prefix_length: int = 0
    lora: dict[str, int] = field(default_factory=lambda: {p: 0 for p in PROJECTIONS})
    ia3: bool = False

    def __post_init__(self) -> None:
        self.validate("layer")

    def validate(self, path: str) -> None:
        for name in SIZE_FIELDS:
            _check_int(f"{path}.{name}", getattr(self, name))
        if not isinstance(self.lora, Mapping):
            raise ConfigError(f"{path}.lora: expected a mapping of projection -> rank, got {self.lora!r}")
        reject_unknown_keys(f"{path}.lora", self.lora, set(PROJECTIONS))
        self.lora = {p: _check_int(f"{path}.lora.{p}", self.lora.get(p, 0)) for p in PROJECTIONS}
        _check_bool(f"{path}.ia3", self.ia3)

    @property
    def is_empty(self) -> bool:
        return not (any(getattr(self, n) for n in SIZE_FIELDS) or any(self.lora.values()) or self.ia3)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in SIZE_FIELDS}
        out["lora"] = dict(self.lora)
        out["ia3"] = self.ia3
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "layer") -> "LayerConfig":
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {data!r}")
        reject_unknown_keys(path, data, {*SIZE_FIELDS, "lora", "ia3"})
        lora = data.get("lora", {})
        if not isinstance(lora, Mapping):
            raise ConfigError(f"{path}.lora: expected a mapping of projection -> rank, got {lora!r}")
        reject_unknown_keys(f"{path}.lora", lora, set(PROJECTIONS))
        layer = cls.__new__(cls)
        for name in SIZE_FIELDS:
            setattr(layer, name, data.get(name, 0))
        layer.lora = {p: lora.get(p, 0) for p in PROJECTIONS}
        layer.ia3 = data.get("ia3", False)
        layer.validate(path)
        return layer

    def summary(self) -> str:
        """Compact text such as ``SA64 PA16 P8 LoRA[q8 v8] IA3`` (``-`` when empty)."""
        parts = []
        labels = {"serial_adapter": "SA", "serial_adapter_attn": "SAattn", "parallel_adapter": "PA", "prefix_length": "P"}
        for name, label in labels.items():
            if getattr(self, name):
                parts.append(f"{label}{getattr(self, name)}")
        short = {"query": "q", "key": "k", "value": "v", "attn_output": "o", "ffn_in": "fi", "ffn_out": "fo"}
        ranks = [f"{short[p]}{r}" for p, r in self.lora.items() if r]
        if ranks:
            parts.append("LoRA[" + " ".join(ranks) + "]")
        if self.ia3:
            parts.append("IA3")
        return " ".join(parts) or "-"


GLOBAL_DEFAULTS: dict[str, Any] = {
    "lora_alpha": 16.0,
    "lora_alpha_rule": "fixed",
    "lora_dropout": 0.0,
    "adapter_activation": "relu",
    "parallel_adapter_scaling": 4.0,
    "prefix_reparameterization": "none",
    "prefix_mlp_hidden": 512,
}


@dataclass
class PeftConfig:
    """A PEFT configuration of an L-layer transformer.

    Global knobs:
        lora_alpha, lora_alpha_rule: LoRA scaling. ``fixed``: ``alpha / r`` (HF peft's
            default); ``proportional``: alpha grows with the rank, scaling ``lora_alpha``;
            ``rslora``: ``alpha / sqrt(r)``.
        lora_dropout: dropout on LoRA's input.
        adapter_activation: bottleneck adapters' non-linearity.
        parallel_adapter_scaling: factor on the parallel adapter's output (He et al. use 4).
        prefix_reparameterization: ``none`` trains the key/value vectors directly; ``mlp``
            trains an embedding and an MLP that produces them (Li & Liang), per layer.
        prefix_mlp_hidden: hidden width of that MLP.
    """

    layers: list[LayerConfig]
    lora_alpha: float = 16.0
    lora_alpha_rule: str = "fixed"
    lora_dropout: float = 0.0
    adapter_activation: str = "relu"
    parallel_adapter_scaling: float = 4.0
    prefix_reparameterization: str = "none"
    prefix_mlp_hidden: int = 512

    def __post_init__(self) -> None:
        self.validate()

    # ----------------------------------------------------------------- validation
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first invalid field."""
        if not isinstance(self.layers, list) or not self.layers:
            raise ConfigError(f"layers: expected a non-empty list of layer configs, got {self.layers!r}")
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, LayerConfig):
                raise ConfigError(f"layers[{index}]: expected a LayerConfig, got {type(layer).__name__}")
            layer.validate(f"layers[{index}]")
        self.lora_alpha = _check_number("lora_alpha", self.lora_alpha, positive=True)
        _check_choice("lora_alpha_rule", self.lora_alpha_rule, LORA_ALPHA_RULES)
        self.lora_dropout = _check_number("lora_dropout", self.lora_dropout)
        if self.lora_dropout >= 1:
            raise ConfigError(f"lora_dropout: expected a probability in [0, 1), got {self.lora_dropout}")
        _check_choice("adapter_activation", self.adapter_activation, ACTIVATIONS)
        self.parallel_adapter_scaling = _check_number("parallel_adapter_scaling", self.parallel_adapter_scaling)
        _check_choice("prefix_reparameterization", self.prefix_reparameterization, PREFIX_REPARAMETERIZATIONS)
        _check_int("prefix_mlp_hidden", self.prefix_mlp_hidden)
        if self.prefix_mlp_hidden == 0:
            raise ConfigError("prefix_mlp_hidden: expected a positive integer, got 0")

    # ----------------------------------------------------------------- construction
    @classmethod
    def uniform(cls, num_layers: int, *, layers: list[int] | None = None, **kwargs: Any) -> "PeftConfig":
        """The same modules in every layer (or only in ``layers``), e.g.
        ``PeftConfig.uniform(12, lora={"query": 8, "value": 8})``.

        Keyword arguments that are :class:`LayerConfig` fields go to each layer, the rest are
        global knobs.
        """
        layer_keys = {f.name for f in fields(LayerConfig)}
        layer_kwargs = {k: v for k, v in kwargs.items() if k in layer_keys}
        global_kwargs = {k: v for k, v in kwargs.items() if k not in layer_keys}
        reject_unknown_keys("", global_kwargs, set(GLOBAL_DEFAULTS))
        chosen = set(range(num_layers)) if layers is None else set(layers)
        built = [
            LayerConfig(**{**layer_kwargs, "lora": dict(layer_kwargs.get("lora", {}))}) if i in chosen else LayerConfig()
            for i in range(num_layers)
        ]
        return cls(layers=built, **global_kwargs)

    # ----------------------------------------------------------------- serialisation
    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format_version": FORMAT_VERSION, "num_layers": self.num_layers}
        out.update({name: getattr(self, name) for name in GLOBAL_DEFAULTS})
        out["layers"] = [layer.to_dict() for layer in self.layers]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PeftConfig":
        if not isinstance(data, Mapping):
            raise ConfigError(f"expected a mapping for a PeftConfig, got {type(data).__name__}")
        reject_unknown_keys("", data, {"format_version", "num_layers", "layers", *GLOBAL_DEFAULTS})
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            raise ConfigError(
                f"format_version: expected {FORMAT_VERSION}, got {version!r}; this file was written "
                "by another autopeft version or is not an autopeft config"
            )
        raw_layers = data.get("layers")
        if not isinstance(raw_layers, list) or not raw_layers:
            raise ConfigError(f"layers: expected a non-empty list, got {raw_layers!r}")
        layers = [LayerConfig.from_dict(layer, f"layers[{i}]") for i, layer in enumerate(raw_layers)]
        num_layers = data.get("num_layers", len(layers))
        if num_layers != len(layers):
            raise ConfigError(f"num_layers: says {num_layers!r} but layers has {len(layers)} entries")
        knobs = {name: data.get(name, default) for name, default in GLOBAL_DEFAULTS.items()}
        return cls(layers=layers, **knobs)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> "PeftConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"not valid JSON: {exc}") from None
        return cls.from_dict(data)

    # ----------------------------------------------------------------- queries
    @property
    def has_prefix(self) -> bool:
        return any(layer.prefix_length for layer in self.layers)

    def lora_scaling(self, rank: int) -> float:
        """LoRA's output scale for a given rank under the configured alpha rule."""
        if self.lora_alpha_rule == "fixed":
            return self.lora_alpha / rank
        if self.lora_alpha_rule == "proportional":
            return self.lora_alpha
        return self.lora_alpha / rank**0.5

    def summary(self) -> str:
        """One line per non-empty layer, e.g. ``L0: SA64 LoRA[q8 v8]``."""
        lines = [f"L{i}: {layer.summary()}" for i, layer in enumerate(self.layers) if not layer.is_empty]
        return "\n".join(lines) or "(no PEFT modules)"

    def check_compatible(self, model_config: Any) -> None:
        """Raise if this config does not fit the model (layer count, unsupported modules)."""
        from autopeft.accounting import check_compatible

        check_compatible(self, model_config)

    def param_breakdown(self, model_config: Any) -> dict[str, int]:
        """Trainable PEFT parameters per module type, computed from the model config alone."""
        from autopeft.accounting import param_breakdown

        return param_breakdown(self, model_config)

    def num_trainable_params(self, model_config: Any) -> int:
        """Trainable PEFT parameters (task head excluded), from the model config alone."""
        return sum(self.param_breakdown(model_config).values())

    def percent_of_backbone(self, model_config: Any) -> float:
        """Trainable PEFT parameters as a percentage of the backbone's parameters."""
        from autopeft.architectures import backbone_params

        return 100.0 * self.num_trainable_params(model_config) / backbone_params(model_config)

    def num_bytes(self, model_config: Any, dtype: Any = "float32") -> int:
        """Size of the PEFT weights when stored in ``dtype`` (a name or a torch dtype)."""
        from autopeft.accounting import dtype_size

        return self.num_trainable_params(model_config) * dtype_size(dtype)
