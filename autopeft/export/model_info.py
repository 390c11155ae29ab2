"""What export needs to know about the model: its transformers config, name and task head.

The task head matters because a study trains it beside the PEFT modules (``autopeft.apply``
leaves it trainable) while its count, ``trainable_params``, is the PEFT modules' only; HF peft
trains the head only when it is listed in ``modules_to_save``, and then counts it in
``print_trainable_parameters()``, so an export states both numbers. The head is read from a
sequence-classification model built on the ``meta`` device (no weights, no memory) unless a
loaded model is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from autopeft.architectures import family_for
from autopeft.errors import ArchitectureError


@dataclass
class ModelInfo:
    """The model an export targets.

    Attributes:
        name: hub id or local path written into the exported files (``None`` when unknown).
        config: the transformers config (``num_labels`` set to the task's).
        head_modules: names of the top-level modules outside ``model.base_model`` that hold
            parameters (BERT: ``classifier``; DistilBERT: ``pre_classifier``, ``classifier``).
        head_params: their parameter count.
    """

    name: str | None
    config: Any
    head_modules: list[str]
    head_params: int

    @property
    def family(self) -> Any:
        return family_for(self.config)


def _head_of(net: Any) -> tuple[list[str], int]:
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


def _config_of(model: str, num_labels: int | None) -> Any:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as exc:
        raise ArchitectureError(f"model {model!r}: cannot load its config ({exc.__class__.__name__}: {str(exc).splitlines()[0]})") from None
    if num_labels is not None:
        config.num_labels = num_labels
    return config


def _meta_head(config: Any) -> tuple[list[str], int]:
    import torch
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with torch.device("meta"):
            net = AutoModelForSequenceClassification.from_config(config)
    finally:
        hf_logging.set_verbosity(verbosity)
    return _head_of(net)


def resolve_model(model: Any, num_labels: int | None = None) -> ModelInfo:
    """A :class:`ModelInfo` from a hub id / local path, a transformers config or a loaded model."""
    if isinstance(model, ModelInfo):
        return model
    if isinstance(model, str):
        config = _config_of(model, num_labels)
        family_for(config)
        names, count = _meta_head(config)
        return ModelInfo(model, config, names, count)
    if hasattr(model, "named_children") and hasattr(model, "config"):
        family_for(model.config)
        names, count = _head_of(model)
        return ModelInfo(getattr(model.config, "_name_or_path", None) or None, model.config, names, count)
    if hasattr(model, "model_type") or hasattr(model, "to_dict"):
        if num_labels is not None:
            model.num_labels = num_labels
        family_for(model)
        names, count = _meta_head(model)
        return ModelInfo(getattr(model, "_name_or_path", None) or None, model, names, count)
    raise ArchitectureError(
        f"model: expected a hub id or local path, a transformers config or a transformers model, got {type(model).__name__}"
    )
