"""Declarative search spaces over `PeftConfig`.

A space is a YAML file that names choices, never code::

    format_version: 1
    name: autopeft
    reference_hidden_size: 768      # sizes with `scale: hidden` are multiplied by hidden / 768
    layers: all                     # or a list of 0-based layer indices that may get modules
    layer_switch: true              # one on/off flag per layer shared by all its modules
    parameters:
      - field: serial_adapter       # a layer field (<field>.<projection> for ranks), or a global knob
        choices: [0, 1, 3, 6, 12]
        scale: hidden               # or none (the default)
        per_layer: false            # one value for all layers (default) or one per layer
    fixed:                          # global knobs held at a value
      adapter_activation: relu

Against a model config the space expands into named discrete parameters (``serial_adapter``,
``L3.lora.query``, ``L3.on``...) that the optimiser and Optuna see as categorical choices, and
:meth:`SearchSpace.build` turns one assignment into a `PeftConfig`.
"""

from __future__ import annotations

import difflib
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence, Union

import yaml

from autopeft._lazy import lazy_module
from autopeft.backbone import Backbone
from autopeft.config import GLOBAL_DEFAULTS, LayerConfig, PeftConfig
from autopeft.errors import ConfigError, SpaceError
from autopeft.methods.registry import FLAG, RANKS, REGISTRY

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import CategoricalDistribution
    from transformers import PretrainedConfig
else:
    optuna = lazy_module("optuna")

#: The model a space is expanded for: a :class:`~autopeft.backbone.Backbone`, a hub id or local
#: path, a transformers config or a dict of one (each public method resolves it once).
ModelLike = Union[Backbone, str, "PretrainedConfig", Mapping[str, Any]]

logger = logging.getLogger(__name__)

SPACE_FORMAT_VERSION = 1
#: Layer fields a space may name, from the method registry: sizes and flags by name, ranks as
#: ``<field>.<projection>`` (``lora.query``).
LAYER_FIELDS: tuple[str, ...] = REGISTRY.space_fields()
#: Layer fields whose choices are sizes that `scale: hidden` may rescale.
SCALABLE_FIELDS = frozenset(f.name for f in REGISTRY.fields() if f.scalable)
#: Global knob -> its allowed names, or None for a number.
_GLOBAL_CHOICES: dict[str, tuple[str, ...] | None] = {k.name: k.choices for k in REGISTRY.knobs()}
_TOP_KEYS = ("format_version", "name", "description", "reference_hidden_size", "layers", "layer_switch", "parameters", "fixed")
_PARAM_KEYS = ("field", "choices", "scale", "per_layer")


@dataclass(frozen=True)
class Parameter:
    """One discrete decision of a space expanded for a model.

    ``kind`` tells the optimiser how to encode it (:func:`parameter_kind`): ``ordinal`` (sizes
    and ranks, ordered numbers), ``binary`` (on/off, or any two non-numeric choices) or
    ``categorical`` (three or more unordered names).
    """

    name: str
    field: str
    choices: tuple[Any, ...]
    kind: str
    layer: int | None = None


@dataclass(frozen=True)
class _Dimension:
    field: str
    choices: tuple[Any, ...]
    scale: bool
    per_layer: bool


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"did you mean {close[0]!r}?" if close else f"valid keys: {list(options)}"


class SearchSpace:
    """A declarative space of `PeftConfig` built from YAML. See the module docstring."""

    def __init__(self, data: Mapping[str, Any], *, source: str = "<dict>", text: str | None = None):
        self.source = source
        self.text = text if text is not None else yaml.safe_dump(dict(data), sort_keys=False)
        self._parse(data)

    # ----------------------------------------------------------------- loading
    @classmethod
    def from_yaml(cls, path: str | Path) -> "SearchSpace":
        """Load a space from a YAML file, or a shipped space by name (``"autopeft"``)."""
        from autopeft.spaces import resolve_space_path

        file = resolve_space_path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpaceError(f"{file}: cannot be read ({exc.strerror})") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpaceError(f"{file}: not valid YAML: {exc}") from None
        return cls(data, source=str(file), text=text)

    def _fail(self, key_path: str, message: str) -> SpaceError:
        return SpaceError(f"{self.source}: {key_path}: {message}")

    def _parse(self, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise self._fail("(top level)", f"expected a mapping, got {type(data).__name__}")
        for key in data:
            if key not in _TOP_KEYS:
                raise self._fail(str(key), f"unknown key; {_suggest(str(key), _TOP_KEYS)}")
        if data.get("format_version", SPACE_FORMAT_VERSION) != SPACE_FORMAT_VERSION:
            raise self._fail("format_version", f"expected {SPACE_FORMAT_VERSION}, got {data['format_version']!r}")
        self.name = str(data.get("name") or Path(self.source).stem)
        self.description = str(data.get("description", "")).strip()
        self.reference_hidden_size = data.get("reference_hidden_size", 768)
        if isinstance(self.reference_hidden_size, bool) or not isinstance(self.reference_hidden_size, int) or self.reference_hidden_size <= 0:
            raise self._fail("reference_hidden_size", f"expected a positive integer, got {self.reference_hidden_size!r}")
        self.layers = self._parse_layers(data.get("layers", "all"))
        self.layer_switch = data.get("layer_switch", False)
        if not isinstance(self.layer_switch, bool):
            raise self._fail("layer_switch", f"expected true or false, got {self.layer_switch!r}")
        raw = data.get("parameters")
        if not isinstance(raw, list) or not raw:
            raise self._fail("parameters", "expected a non-empty list of {field, choices} entries")
        self.dimensions = [self._parse_dimension(i, entry) for i, entry in enumerate(raw)]
        seen: set[str] = set()
        for i, dim in enumerate(self.dimensions):
            if dim.field in seen:
                raise self._fail(f"parameters[{i}].field", f"{dim.field!r} appears twice; list each field once")
            seen.add(dim.field)
        self.fixed = self._parse_fixed(data.get("fixed", {}) or {})

    def _parse_layers(self, value: Any) -> tuple[int, ...] | None:
        if value == "all":
            return None
        if not isinstance(value, list) or not value:
            raise self._fail("layers", f"expected 'all' or a list of layer indices, got {value!r}")
        for i, index in enumerate(value):
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise self._fail(f"layers[{i}]", f"expected a non-negative integer layer index, got {index!r}")
        return tuple(sorted(set(value)))

    def _parse_dimension(self, i: int, entry: Any) -> _Dimension:
        where = f"parameters[{i}]"
        if not isinstance(entry, Mapping):
            raise self._fail(where, f"expected a mapping with 'field' and 'choices', got {entry!r}")
        for key in entry:
            if key not in _PARAM_KEYS:
                raise self._fail(f"{where}.{key}", f"unknown key; {_suggest(str(key), _PARAM_KEYS)}")
        field = entry.get("field")
        valid_fields = (*LAYER_FIELDS, *_GLOBAL_CHOICES)
        if field not in valid_fields:
            raise self._fail(f"{where}.field", f"unknown module or knob {field!r}; {_suggest(str(field), valid_fields)}")
        choices = entry.get("choices")
        if not isinstance(choices, list) or not choices:
            raise self._fail(f"{where}.choices", f"expected a non-empty list, got {choices!r}")
        for j, choice in enumerate(choices):
            self._check_choice(f"{where}.choices[{j}]", field, choice)
        scale = entry.get("scale", "none")
        if scale not in ("none", "hidden"):
            raise self._fail(f"{where}.scale", f"expected 'none' or 'hidden', got {scale!r}")
        if scale == "hidden" and field not in SCALABLE_FIELDS:
            scalable = [f.name for f in REGISTRY.fields() if f.scalable]
            raise self._fail(f"{where}.scale", f"only the sizes {scalable} scale with the hidden size, not {field!r}; "
                                               "remove 'scale'")
        per_layer = entry.get("per_layer", False)
        if not isinstance(per_layer, bool):
            raise self._fail(f"{where}.per_layer", f"expected true or false, got {per_layer!r}")
        if per_layer and field in _GLOBAL_CHOICES:
            raise self._fail(f"{where}.per_layer", f"{field!r} is a global knob and cannot vary per layer; remove 'per_layer'")
        return _Dimension(field, tuple(choices), scale == "hidden", per_layer)

    def _check_choice(self, where: str, field: str, choice: Any) -> None:
        if field in _GLOBAL_CHOICES:
            knob = REGISTRY.knob(field)
            if knob.choices is not None and choice not in knob.choices:
                raise self._fail(where, f"{field} must be one of {list(knob.choices)}, got {choice!r}")
            if knob.integer and (isinstance(choice, bool) or not isinstance(choice, int) or choice < 0):
                raise self._fail(where, f"{field} choices are non-negative integers, got {choice!r}")
            if knob.choices is None and (isinstance(choice, bool) or not isinstance(choice, (int, float)) or choice < 0):
                raise self._fail(where, f"{field} choices are non-negative numbers, got {choice!r}")
            return
        layer_field, _ = REGISTRY.resolve_space_field(field)
        if layer_field.kind == FLAG:
            if not isinstance(choice, bool):
                raise self._fail(where, f"{field} choices are true/false, got {choice!r}")
            return
        if isinstance(choice, bool) or not isinstance(choice, int) or choice < 0:
            raise self._fail(where, f"sizes and ranks are non-negative integers (0 = absent), got {choice!r}")

    def _parse_fixed(self, fixed: Any) -> dict[str, Any]:
        if not isinstance(fixed, Mapping):
            raise self._fail("fixed", f"expected a mapping of global knob -> value, got {fixed!r}")
        for key, value in fixed.items():
            if key not in _GLOBAL_CHOICES:
                raise self._fail(f"fixed.{key}", f"unknown global knob; {_suggest(str(key), list(_GLOBAL_CHOICES))}")
            if any(d.field == key for d in self.dimensions):
                raise self._fail(f"fixed.{key}", "is also searched under 'parameters'; keep one of the two")
            self._check_choice(f"fixed.{key}", key, value)
        return dict(fixed)

    # ----------------------------------------------------------------- expansion
    def active_layers(self, model_config: ModelLike) -> list[int]:
        """Layer indices that may receive modules for this model."""
        num_layers = Backbone.of(model_config).num_layers
        if self.layers is None:
            return list(range(num_layers))
        for i, index in enumerate(self.layers):
            if index >= num_layers:
                raise self._fail(
                    "layers", f"layer index {index} is beyond the model, which has {num_layers} layers "
                    f"(0..{num_layers - 1}); remove it or use 'all'"
                )
        return list(self.layers)

    def _choices_for(self, dim: _Dimension, hidden: int) -> tuple[Any, ...]:
        if not dim.scale:
            return dim.choices
        scaled: list[int] = []
        for value in dim.choices:
            size = 0 if value == 0 else max(1, round(value * hidden / self.reference_hidden_size))
            if size not in scaled:
                scaled.append(size)
        return tuple(scaled)

    def _supported(self, dim: _Dimension, backbone: Backbone) -> bool:
        """False (with a warning) for a layer field whose method the model's family cannot have."""
        if dim.field in _GLOBAL_CHOICES:
            return True
        method = REGISTRY.method_of_field(REGISTRY.resolve_space_field(dim.field)[0].name)
        reason = method.unavailable(backbone.family) if method.unavailable else None
        if reason is not None:
            logger.warning("space %s: %s is not searched: %s", self.name, dim.field, reason)
            return False
        return True

    def parameters(self, model_config: ModelLike) -> list[Parameter]:
        """The discrete parameters of this space for a model, in a stable order."""
        backbone = Backbone.of(model_config)
        layers = self.active_layers(backbone)
        params: list[Parameter] = []
        for dim in self.dimensions:
            if not self._supported(dim, backbone):
                continue
            choices = self._choices_for(dim, backbone.hidden)
            kind = parameter_kind(choices)
            if dim.per_layer:
                params.extend(Parameter(f"L{i}.{dim.field}", dim.field, choices, kind, i) for i in layers)
            else:
                params.append(Parameter(dim.field, dim.field, choices, kind))
        if self.layer_switch:
            params.extend(Parameter(f"L{i}.on", "on", (False, True), "binary", i) for i in layers)
        return params

    def distributions(self, model_config: ModelLike) -> dict[str, "CategoricalDistribution"]:
        """Optuna ``CategoricalDistribution`` per parameter name (imports optuna)."""
        return {p.name: optuna.distributions.CategoricalDistribution(p.choices) for p in self.parameters(model_config)}

    def build(self, assignment: Mapping[str, Any], model_config: ModelLike) -> PeftConfig:
        """The `PeftConfig` for one value per parameter (names as in :meth:`parameters`)."""
        backbone = Backbone.of(model_config)
        params = self.parameters(backbone)
        missing = [p.name for p in params if p.name not in assignment]
        if missing:
            raise ConfigError(f"assignment lacks parameters {missing[:5]}{'...' if len(missing) > 5 else ''}")
        num_layers = backbone.num_layers
        active = set(self.active_layers(backbone))
        layer_values: list[dict[str, Any]] = [{} for _ in range(num_layers)]
        knobs: dict[str, Any] = {**GLOBAL_DEFAULTS, **self.fixed}
        for p in params:
            value = assignment[p.name]
            if value not in p.choices:
                raise ConfigError(f"{p.name}: {value!r} is not one of the choices {list(p.choices)}")
            if p.field == "on":
                continue
            if p.field in _GLOBAL_CHOICES:
                knobs[p.field] = value
            elif p.layer is not None:
                layer_values[p.layer][p.field] = value
            else:
                for i in active:
                    layer_values[i][p.field] = value
        layers = []
        for i, values in enumerate(layer_values):
            switched_off = self.layer_switch and i in active and not assignment[f"L{i}.on"]
            if i not in active or switched_off:
                layers.append(LayerConfig())
                continue
            layers.append(LayerConfig(**_layer_kwargs(values)))
        return PeftConfig(layers=layers, **knobs)

    def sample_assignment(self, model_config: ModelLike, rng: random.Random) -> dict[str, Any]:
        """One uniformly drawn value per parameter."""
        return {p.name: rng.choice(p.choices) for p in self.parameters(model_config)}

    def sample(self, model_config: ModelLike, seed: int = 0) -> PeftConfig:
        """A uniformly drawn configuration; the same seed gives the same configuration."""
        backbone = Backbone.of(model_config)
        return self.build(self.sample_assignment(backbone, random.Random(seed)), backbone)

    def size(self, model_config: ModelLike) -> int:
        """Number of distinct assignments (configurations may coincide, e.g. switched-off layers)."""
        total = 1
        for p in self.parameters(model_config):
            total *= len(p.choices)
        return total

    def __repr__(self) -> str:
        return f"SearchSpace(name={self.name!r}, source={self.source!r}, dimensions={len(self.dimensions)})"


def _layer_kwargs(values: Mapping[str, Any]) -> dict[str, Any]:
    """``LayerConfig`` keyword arguments from space field values: ``lora.query: 8`` becomes
    ``lora={"query": 8}``, plain fields stay as they are."""
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        layer_field, projection = REGISTRY.resolve_space_field(name)
        if layer_field.kind == RANKS:
            kwargs.setdefault(layer_field.name, {})[projection] = value
        else:
            kwargs[name] = value
    return kwargs


def parameter_kind(choices: tuple[Any, ...]) -> str:
    """How the optimiser encodes a parameter with these choices (the one rule; the GP encoding,
    :mod:`autopeft.optimizer.encoding`, uses it too):

    * ``binary``: every choice is a bool, or exactly two choices that are not all numbers (a
      two-choice string such as ``prefix_reparameterization: [none, mlp]`` is one on/off
      feature: one-hot would spend two features on one decision);
    * ``ordinal``: every choice is an int or float (sizes and ranks);
    * ``categorical``: anything else (three or more names, mixed types).

    A single choice gets the kind its value would have; the encoding gives it no feature.
    """
    if all(isinstance(c, bool) for c in choices):
        return "binary"
    if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices):
        return "ordinal"
    if len(choices) == 2:
        return "binary"
    return "categorical"
