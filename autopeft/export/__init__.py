"""Export a searched configuration to the training code people already use.

Formats (:data:`FORMATS`): ``peft`` (HF peft ``adapter_config.json`` via ``save_pretrained``),
``adapters`` (AdapterHub ``ConfigUnion`` JSON), ``autopeft`` (the `PeftConfig` JSON that
``autopeft.apply`` takes), ``script`` (a standalone HF ``Trainer`` ``train.py`` beside the
config). Each export writes a README.md. ``export_config`` starts from a `PeftConfig`;
``export_trial`` from a study (``--trial``, ``--best-under``, ``--knee``); it refuses a FAIL or
PRUNED trial, naming its state, unless ``allow_failed`` (``--allow-failed``). Every export is
written into a temporary folder beside the target and moved into place when complete, so a
failed export leaves no partial files and an existing folder as it was.

Importing this package is cheap: torch, transformers and peft load on first use.
"""

from __future__ import annotations


from autopeft._lazy import lazy_exports

from autopeft.export.errors import ExportError, InexpressibleError

_LAZY = {
    "FORMATS": ("autopeft.export.api", "FORMATS"),
    "ExportResult": ("autopeft.export.api", "ExportResult"),
    "export_config": ("autopeft.export.api", "export_config"),
    "export_trial": ("autopeft.export.api", "export_trial"),
    "to_peft": ("autopeft.export.peft_format", "to_peft"),
    "peft_problems": ("autopeft.export.peft_format", "problems"),
    "to_adapters": ("autopeft.export.adapters_format", "to_adapters"),
    "adapters_problems": ("autopeft.export.adapters_format", "problems"),
    "resolve_model": ("autopeft.export.model_info", "resolve_model"),
    "select_trial": ("autopeft.export.selection", "select"),
    "knee": ("autopeft.export.selection", "knee"),
    "best_under": ("autopeft.export.selection", "best_under"),
}


__getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY)


__all__ = ["ExportError", "InexpressibleError", *_LAZY]
