"""`BackboneCache`: what a worker process keeps between trials.

* Loaded backbones, per (model, num_labels, task kind), on the CPU: each trial gets a deep
  copy with a freshly initialised task head, so PEFT modules and heads never leak across trials
  and the weights are read from disk once per process.
* Tokenised splits, per (task, data source, tokenizer, max length), in memory and on disk under
  the cache folder (``$AUTOPEFT_CACHE_DIR``, default ``~/.cache/autopeft``), so each split is
  tokenised once per machine.

One process-wide instance (:func:`default_cache`) serves :func:`autopeft.proxy.evaluate`
unless a cache is passed explicitly (tests pass one with a temporary folder).
"""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from autopeft.errors import ArchitectureError
from autopeft.proxy.data import TokenizedSplit, tokenize

#: Bump when the on-disk format of tokenised splits changes.
TOKENIZED_FORMAT = 1


def default_cache_dir() -> Path:
    return Path(os.environ.get("AUTOPEFT_CACHE_DIR") or Path.home() / ".cache" / "autopeft")


def tokenizer_fingerprint(tokenizer: Any) -> str:
    return f"{type(tokenizer).__name__}:{getattr(tokenizer, 'name_or_path', '')}:{len(tokenizer)}:{getattr(tokenizer, 'truncation_side', '')}"


class BackboneCache:
    """Process-level cache of loaded backbones and tokenised splits (see module docstring).

    ``max_backbones`` bounds how many distinct backbones stay loaded (least recently used first
    out). Thread-safe for concurrent trials in one process.
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None, *, max_backbones: int = 2) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.max_backbones = max_backbones
        self._backbones: OrderedDict[tuple, tuple[Any, Any]] = OrderedDict()
        self._splits: dict[str, TokenizedSplit] = {}
        self._lock = threading.RLock()
        self.stats = {"backbone_loads": 0, "backbone_hits": 0, "tokenize": 0, "disk_hits": 0, "memory_hits": 0}

    # ---------------------------------------------------------------- backbones
    def backbone(self, model: str, num_labels: int, kind: str) -> tuple[Any, Any]:
        """The cached (model, tokenizer); the model is a template: copy it (:meth:`fresh_model`)."""
        key = (str(model), int(num_labels), kind)
        with self._lock:
            if key in self._backbones:
                self._backbones.move_to_end(key)
                self.stats["backbone_hits"] += 1
                return self._backbones[key]
            loaded = _load_backbone(str(model), num_labels, kind)
            self.stats["backbone_loads"] += 1
            self._backbones[key] = loaded
            while len(self._backbones) > self.max_backbones:
                self._backbones.popitem(last=False)
            return loaded

    def fresh_model(self, model: str, num_labels: int, kind: str, seed: int) -> Any:
        """A deep copy of the cached backbone with its task head re-initialised from ``seed``."""
        import torch

        template, _ = self.backbone(model, num_labels, kind)
        with self._lock:
            net = copy.deepcopy(template)
        torch.manual_seed(seed)
        reset_head(net)
        return net

    # ---------------------------------------------------------------- tokenised data
    def tokenized(self, task: Any, tokenizer: Any, max_length: int, split: str) -> TokenizedSplit:
        """The tokenised ``split`` of ``task`` (memory, then disk, then tokenise and store)."""
        key = "|".join(
            [
                f"v{TOKENIZED_FORMAT}",
                task.name,
                task.split_name(split),
                task.source_id(split),
                ",".join(task.text_fields),
                ",".join(task.label_names),
                task.kind,
                tokenizer_fingerprint(tokenizer),
                str(max_length),
            ]
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        with self._lock:
            if digest in self._splits:
                self.stats["memory_hits"] += 1
                return self._splits[digest]
        path = self.cache_dir / "tokenized" / f"{digest}.npz"
        data = None
        if path.is_file():
            try:
                data = TokenizedSplit.load(path)
                self.stats["disk_hits"] += 1
            except (OSError, ValueError, KeyError):
                data = None  # a corrupt file is re-created below
        if data is None:
            data = tokenize(task.load_split(split), task.text_fields, tokenizer, max_length, task.kind)
            self.stats["tokenize"] += 1
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                data.save(path)
            except OSError:
                pass  # a read-only cache folder costs speed, not correctness
        with self._lock:
            self._splits[digest] = data
        return data

    def clear(self) -> None:
        with self._lock:
            self._backbones.clear()
            self._splits.clear()


_DEFAULT: BackboneCache | None = None
_DEFAULT_LOCK = threading.Lock()


def default_cache() -> BackboneCache:
    """The process-wide cache (created on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = BackboneCache()
        return _DEFAULT


def _load_backbone(model: str, num_labels: int, kind: str) -> tuple[Any, Any]:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    problem_type = "regression" if kind == "regression" else "single_label_classification"
    verbosity = hf_logging.get_verbosity()
    progress = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # "newly initialized classifier" is expected for a proxy
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
        net = AutoModelForSequenceClassification.from_pretrained(model, num_labels=num_labels, problem_type=problem_type)
    except (OSError, ValueError) as exc:
        raise ArchitectureError(f"model {model!r}: cannot load it ({exc.__class__.__name__}: {str(exc).splitlines()[0]})") from None
    finally:
        hf_logging.set_verbosity(verbosity)
        if progress:
            hf_logging.enable_progress_bar()
    if tokenizer.pad_token_id is None:  # decoder-only families: pad with EOS
        tokenizer.pad_token = tokenizer.eos_token
    if net.config.pad_token_id is None:
        net.config.pad_token_id = tokenizer.pad_token_id
    net.eval()
    return net, tokenizer


def reset_head(model: Any) -> None:
    """Re-initialise every module outside ``model.base_model`` (the task head)."""
    import torch
    from torch import nn

    base = getattr(model, "base_model", model)
    if base is model:
        return
    in_base = {id(module) for module in base.modules()}
    std = float(getattr(model.config, "initializer_range", 0.02) or 0.02)
    with torch.no_grad():
        for module in model.modules():
            if id(module) in in_base or module is model:
                continue
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.LayerNorm):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.Embedding):
                module.weight.normal_(0.0, std)
            elif hasattr(module, "reset_parameters") and not list(module.children()):
                module.reset_parameters()
