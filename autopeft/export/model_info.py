"""What export needs to know about the model: its transformers config, name and task head.

The task head matters because a study trains it beside the PEFT modules (``autopeft.apply``
leaves it trainable) while its count, ``trainable_params``, is the PEFT modules' only; HF peft
trains the head only when it is listed in ``modules_to_save``, and then counts it in
``print_trainable_parameters()``, so an export states both numbers. The head is read from a
sequence-classification model built on the ``meta`` device (no weights, no memory) unless a
loaded model is given.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autopeft._lazy import lazy_module
from autopeft.architectures import Dims, Family
from autopeft.backbone import Backbone
from autopeft.errors import ArchitectureError

if TYPE_CHECKING:
    import torch
    import transformers
    from torch import nn
    from transformers import PretrainedConfig, PreTrainedModel
else:
    torch = lazy_module("torch")
    transformers = lazy_module("transformers")


@dataclass
class ModelInfo:
    """The model an export targets, resolved once per export.

    Attributes:
        name: hub id or local path written into the exported files (``None`` when unknown).
        config: the transformers config (``num_labels`` set to the task's; a copy when the
            label count changed, so a cached :class:`~autopeft.backbone.Backbone` keeps its own).
        head_modules: names of the top-level modules outside ``model.base_model`` that hold
            parameters (BERT: ``classifier``; DistilBERT: ``pre_classifier``, ``classifier``).
        head_params: their parameter count.
        backbone: the model's :class:`~autopeft.backbone.Backbone` (family, dimensions, size),
            what the writers and counts read instead of re-deriving them from ``config``.
    """

    name: str | None
    config: "PretrainedConfig"
    head_modules: list[str]
    head_params: int
    backbone: Backbone

    @property
    def family(self) -> Family:
        return self.backbone.family

    @property
    def dims(self) -> Dims:
        return self.backbone.dims


def _head_of(net: "nn.Module") -> tuple[list[str], int]:
    base = getattr(net, "base_model", net)
    names, count = [], 0
    for name, child in net.named_children():
        if child is base:
            continue
        params = sum(p.numel() for p in child.parameters())
        if params:
            names.append(name)
            count += params
    return names, count


def _with_labels(config: "PretrainedConfig", num_labels: int | None) -> "PretrainedConfig":
    """``config`` with ``num_labels`` outputs: a copy when that changes it (configs of a loaded
    Backbone are shared)."""
    if num_labels is None or getattr(config, "num_labels", None) == num_labels:
        return config
    config = copy.deepcopy(config)
    config.num_labels = num_labels
    return config


def _meta_head(config: "PretrainedConfig") -> tuple[list[str], int]:
    hf_logging = transformers.utils.logging
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with torch.device("meta"):
            net = transformers.AutoModelForSequenceClassification.from_config(config)
    finally:
        hf_logging.set_verbosity(verbosity)
    return _head_of(net)


def resolve_model(model: "str | Backbone | PretrainedConfig | PreTrainedModel | ModelInfo",
                  num_labels: int | None = None) -> ModelInfo:
    """A :class:`ModelInfo` from a hub id / local path (read by
    :func:`autopeft.backbone.load_backbone`), a :class:`~autopeft.backbone.Backbone`, a
    transformers config or a loaded model."""
    if isinstance(model, ModelInfo):
        return model
    if isinstance(model, (str, Backbone)):
        backbone = Backbone.of(model)
        config = _with_labels(backbone.config, num_labels)
        names, count = _meta_head(config)
        return ModelInfo(backbone.name, config, names, count, backbone)
    if hasattr(model, "named_children") and hasattr(model, "config"):
        backbone = Backbone.of(model)
        names, count = _head_of(model)
        return ModelInfo(backbone.name, model.config, names, count, backbone)
    if hasattr(model, "model_type") or hasattr(model, "to_dict"):
        if num_labels is not None:
            model.num_labels = num_labels
        backbone = Backbone.from_config(model)
        names, count = _meta_head(model)
        return ModelInfo(backbone.name, model, names, count, backbone)
    raise ArchitectureError(
        f"model: expected a hub id or local path, a transformers config or a transformers model, got {type(model).__name__}"
    )
