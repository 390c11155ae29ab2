"""Checks a search makes before the study is created: the task's data and the parameter limit.

Both used to surface only inside the first trial (a bad data file after Ray started and a
worker read it) or as a finished but meaningless study (``--max-params 10`` on the autopeft
space completed an empty configuration). Here each is one :class:`~autopeft.errors.AutoPeftError`
line, raised by :func:`autopeft.service.prepare.prepare` before the store is opened for writing.

* :func:`check_task_examples`: :func:`autopeft.tasks.check_task_examples`, which reads both splits
  of a task on local files (a registry task with ``--data-dir`` as well as your own files), so a
  missing column, an unparsable label or an empty split fails naming the file and line; a
  classification task's training split must hold at least two classes.
* :func:`smallest_nonempty` / :func:`check_param_limit`: the smallest non-empty configuration of a
  space, and the error for a limit below it.
"""

from __future__ import annotations

from typing import Any, Mapping

from autopeft.service.errors import SearchError


def check_task_examples(task: Any) -> dict[str, int]:
    """The task's examples checked before the study is created: :func:`autopeft.tasks.check_task_examples`
    (imported here on first use, so this module stays light)."""
    from autopeft.tasks import check_task_examples as check

    return check(task)


def _base_value(choices: tuple[Any, ...]) -> Any:
    """The choice that adds least: False, the smallest number, else the first."""
    if all(isinstance(c, bool) for c in choices):
        return False if False in choices else choices[0]
    numbers = [c for c in choices if isinstance(c, (int, float)) and not isinstance(c, bool)]
    return min(numbers) if len(numbers) == len(choices) else choices[0]


def smallest_nonempty(space: Any, model_config: Any) -> tuple[int, Any] | None:
    """(PEFT params, config) of the smallest configuration of ``space`` with any trainable
    parameter, or None when the space builds only empty ones.

    Counts are additive over modules and grow with every size, so the smallest non-empty
    configuration changes one parameter from its least value (and, with a layer switch, turns
    on one layer); every such change is built and counted."""
    params = list(space.parameters(model_config))
    base = {p.name: _base_value(p.choices) for p in params}
    switches = [p.name for p in params if p.field == "on"]
    best: tuple[int, Any] | None = None
    seen: set[tuple] = set()
    for p in params:
        if p.field == "on":
            continue
        for choice in p.choices:
            if choice == base[p.name]:
                continue
            if p.layer is not None:
                layer_sets = [[f"L{p.layer}.on"]] if switches else [[]]
            else:
                layer_sets = [[s] for s in switches] if switches else [[]]
            for on in layer_sets:
                key = (p.name, repr(choice), tuple(on))
                if key in seen:
                    continue
                seen.add(key)
                assignment = {**base, p.name: choice, **{s: True for s in on}}
                try:
                    config = space.build(assignment, model_config)
                except Exception:  # noqa: BLE001 - a combination the space refuses is no candidate
                    continue
                n = config.num_trainable_params(model_config)
                if n > 0 and (best is None or n < best[0]):
                    best = (n, config)
    return best


def check_param_limit(space: Any, model_config: Any, limit: int | None, limit_text: str | None, backbone_params: int) -> None:
    """A :class:`SearchError` when no non-empty configuration of ``space`` fits ``limit``."""
    if limit is None:
        return
    smallest = smallest_nonempty(space, model_config)
    if smallest is None:
        raise SearchError(f"space {space.name!r} builds no configuration with trainable parameters for this model", parameter="space")
    n, _ = smallest
    if n > limit:
        percent = 100.0 * n / backbone_params
        raise SearchError(
            f"no non-empty configuration of space {space.name!r} fits (limit {limit} PEFT params); the smallest has "
            f"{n} ({percent:.4g}% of the backbone); raise {{max_params}} to at least {n} or use a smaller space",
            parameter="max_params", value=limit_text)


def describe_counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())
