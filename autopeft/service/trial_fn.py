"""The function a worker calls to evaluate one configuration, named by import path.

The real search uses ``autopeft.proxy:evaluate`` (train a cheap proxy, return a TrialResult);
tests and the orchestration benchmark plug in cheap objectives (``tests/fake_objectives.py``,
outside the package). Every objective has ``evaluate``'s signature::

    fn(model, task, config, fidelity="quick", seed=0, *, data_dir=None, device=None) -> TrialResult | dict
"""

from __future__ import annotations

import importlib
from dataclasses import fields
from typing import Any, Callable

from autopeft.proxy.result import TrialResult  # a plain dataclass: no torch
from autopeft.service.errors import SearchError

DEFAULT_OBJECTIVE_FN = "autopeft.proxy:evaluate"
#: Fields every result dict has after :func:`normalize_result`: those of
#: :class:`autopeft.proxy.TrialResult` (the one definition of a trial's result), so a field added
#: there (``head_params``, ``majority_share``, ``chance_score``) reaches the store without being
#: listed twice.
RESULT_FIELDS = tuple(f.name for f in fields(TrialResult))


def resolve(path: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (a clear error when it is not there)."""
    if not isinstance(path, str) or ":" not in path:
        raise SearchError("expected 'package.module:function'", parameter="objective_fn", value=path)
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise SearchError(f"module {exc.name!r} is not installed", parameter="objective_fn", value=path) from None
    fn = getattr(module, attribute, None)
    if not callable(fn):
        raise SearchError(f"{module_name} has no function {attribute!r}", parameter="objective_fn", value=path)
    return fn


def normalize_result(raw: Any) -> dict[str, Any]:
    """A TrialResult (or dict) -> a JSON-friendly dict with every field of :data:`RESULT_FIELDS`."""
    if hasattr(raw, "to_dict"):
        raw = raw.to_dict()
    if not isinstance(raw, dict):
        raise SearchError(f"the objective returned {type(raw).__name__}; expected a TrialResult or a dict")
    out = {key: raw.get(key) for key in RESULT_FIELDS}
    out.update({k: v for k, v in raw.items() if k not in out})
    out["metrics"] = dict(out.get("metrics") or {})
    out["status"] = out.get("status") or ("failed" if out.get("error") else "ok")
    return out
