"""`PeftConfig`: a per-layer description of a parameter-efficient fine-tuning configuration.

A configuration says, for every transformer layer independently, which PEFT modules it gets
and how large they are, plus a few global knobs. It is plain data: JSON-serialisable, compared
by value, and free of torch. ``to_dict()`` / ``PeftConfig.from_dict()`` round-trip exactly and
every dict carries ``format_version``.

The fields of a layer and the global knobs are not listed here: each PEFT method declares its
own in ``autopeft/methods/<name>.py`` (see :mod:`autopeft.methods.registry`), and
:class:`LayerConfig` and :class:`PeftConfig` are dataclasses built from that registry when this
module is imported. Their docstrings list the fields and knobs of the installed methods, e.g.
``serial_adapter`` (a bottleneck size), ``lora`` (a rank per projection), ``ia3`` (a flag), and
``lora_alpha``, ``adapter_activation``. 0, an all-zero rank mapping, or ``False`` means absent.
"""

from __future__ import annotations

import json
from dataclasses import field, make_dataclass
from typing import TYPE_CHECKING, Any, Mapping, Union

import autopeft.methods  # noqa: F401  (registers the built-in methods)
from autopeft import accounting
from autopeft.backbone import Backbone
from autopeft.errors import ConfigError
from autopeft.methods import lora as _lora
from autopeft.methods.registry import FLAG, RANKS, REGISTRY, SIZE, reject_unknown_keys

if TYPE_CHECKING:
    import torch
    from transformers import PretrainedConfig

#: What the counting methods accept as the model: a :class:`~autopeft.backbone.Backbone`, a
#: transformers config or a dict of one.
ModelLike = Union[Backbone, "PretrainedConfig", Mapping[str, Any]]

FORMAT_VERSION = 1

#: Per-layer size fields (non-negative ints) in registry order.
SIZE_FIELDS: tuple[str, ...] = tuple(f.name for f in REGISTRY.fields() if f.kind == SIZE)

#: Global knob -> default, in registry order.
GLOBAL_DEFAULTS: dict[str, Any] = REGISTRY.global_defaults()

__all__ = ["FORMAT_VERSION", "GLOBAL_DEFAULTS", "SIZE_FIELDS", "LayerConfig", "PeftConfig", "reject_unknown_keys"]


class _LayerBehaviour:
    """What every :class:`LayerConfig` does; its fields come from the method registry."""

    def __post_init__(self) -> None:
        self.validate("layer")

    def validate(self, path: str) -> None:
        """Raise :class:`ConfigError` naming the first invalid field; completes rank mappings."""
        for f in REGISTRY.fields():
            setattr(self, f.name, f.check(f"{path}.{f.name}", getattr(self, f.name)))

    @property
    def is_empty(self) -> bool:
        return not any(f.is_set(getattr(self, f.name)) for f in REGISTRY.fields())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in REGISTRY.fields():
            value = getattr(self, f.name)
            out[f.name] = dict(value) if f.kind == RANKS else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "layer") -> "LayerConfig":
        """A layer from its dict; a missing field is absent, an unknown key or a bad value raises."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {data!r}")
        reject_unknown_keys(path, data, set(REGISTRY.field_names()))
        layer = cls.__new__(cls)
        for f in REGISTRY.fields():
            setattr(layer, f.name, data.get(f.name, f.default()))
        layer.validate(path)
        return layer

    def summary(self) -> str:
        """Compact text such as ``SA64 PA16 P8 LoRA[q8 v8] IA3`` (``-`` when empty)."""
        parts = [f.summary(getattr(self, f.name)) for f in REGISTRY.fields()]
        return " ".join(p for p in parts if p) or "-"


def _layer_doc() -> str:
    lines = ["The PEFT modules of one transformer layer; 0, all-zero ranks and ``False`` mean absent.", "",
             "Fields (declared by the methods in ``autopeft/methods/``):"]
    lines += [f"    {f.name} ({f.kind}, method {REGISTRY.method_of_field(f.name).name}): {f.description}"
              for f in REGISTRY.fields()]
    return "\n".join(lines)


LayerConfig = make_dataclass(
    "LayerConfig",
    [(f.name, dict[str, int], field(default_factory=f.default)) if f.kind == RANKS
     else (f.name, bool if f.kind == FLAG else int, field(default=f.default()))
     for f in REGISTRY.fields()],
    bases=(_LayerBehaviour,),
)
LayerConfig.__module__ = __name__
LayerConfig.__doc__ = _layer_doc()


class _PeftBehaviour:
    """What every :class:`PeftConfig` does; its knobs come from the method registry."""

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
        for knob in REGISTRY.knobs():
            setattr(self, knob.name, knob.check(getattr(self, knob.name)))

    # ----------------------------------------------------------------- construction
    @classmethod
    def uniform(cls, num_layers: int, *, layers: list[int] | None = None, **kwargs: Any) -> "PeftConfig":
        """The same modules in every layer (or only in ``layers``), e.g.
        ``PeftConfig.uniform(12, lora={"query": 8, "value": 8})``.

        Keyword arguments that are :class:`LayerConfig` fields go to each layer, the rest are
        global knobs.
        """
        layer_keys = set(REGISTRY.field_names())
        layer_kwargs = {k: v for k, v in kwargs.items() if k in layer_keys}
        global_kwargs = {k: v for k, v in kwargs.items() if k not in layer_keys}
        reject_unknown_keys("", global_kwargs, set(GLOBAL_DEFAULTS))
        chosen = set(range(num_layers)) if layers is None else set(layers)
        built = [LayerConfig(**layer_kwargs) if i in chosen else LayerConfig() for i in range(num_layers)]
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
    def uses(self, method: str) -> bool:
        """Whether any layer uses the registered method ``method`` (``"lora"``, ``"prefix"``...)."""
        return bool(REGISTRY.get(method).layers_using(self))

    @property
    def has_prefix(self) -> bool:
        """``uses("prefix")``, kept as a shorthand."""
        return self.uses("prefix")

    def lora_scaling(self, rank: int) -> float:
        """LoRA's output scale for a given rank under the configured alpha rule (see
        :func:`autopeft.methods.lora.scaling`)."""
        return _lora.scaling(self, rank)

    def summary(self) -> str:
        """One line per non-empty layer, e.g. ``L0: SA64 LoRA[q8 v8]``."""
        lines = [f"L{i}: {layer.summary()}" for i, layer in enumerate(self.layers) if not layer.is_empty]
        return "\n".join(lines) or "(no PEFT modules)"

    def check_compatible(self, model_config: ModelLike) -> None:
        """Raise if this config does not fit the model (layer count, unsupported modules)."""
        accounting.check_compatible(self, model_config)

    def param_breakdown(self, model_config: ModelLike) -> dict[str, int]:
        """Trainable PEFT parameters per method (registry order), from the model config alone."""
        return accounting.param_breakdown(self, model_config)

    def num_trainable_params(self, model_config: ModelLike) -> int:
        """Trainable PEFT parameters (task head excluded), from the model config alone."""
        return sum(self.param_breakdown(model_config).values())

    def percent_of_backbone(self, model_config: ModelLike) -> float:
        """Trainable PEFT parameters as a percentage of the backbone's parameters."""
        backbone = Backbone.of(model_config)
        return 100.0 * self.num_trainable_params(backbone) / backbone.backbone_params

    def num_bytes(self, model_config: ModelLike, dtype: "str | torch.dtype" = "float32") -> int:
        """Size of the PEFT weights when stored in ``dtype`` (a name or a torch dtype)."""
        return self.num_trainable_params(model_config) * accounting.dtype_size(dtype)


def _peft_doc() -> str:
    lines = ["A PEFT configuration of an L-layer transformer: ``layers`` (one :class:`LayerConfig` each) and",
             "global knobs (declared by the methods in ``autopeft/methods/``):", ""]
    lines += [f"    {k.name} (default {k.default!r}, method {REGISTRY.method_of_knob(k.name).name}): {k.description}"
              for k in REGISTRY.knobs()]
    return "\n".join(lines)


PeftConfig = make_dataclass(
    "PeftConfig",
    [("layers", list), *[(k.name, k.python_type, field(default=k.default)) for k in REGISTRY.knobs()]],
    bases=(_PeftBehaviour,),
)
PeftConfig.__module__ = __name__
PeftConfig.__doc__ = _peft_doc()

REGISTRY.seal("autopeft.config built LayerConfig and PeftConfig from the registry")
