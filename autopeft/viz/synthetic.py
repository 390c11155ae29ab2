"""Synthetic studies in exactly the record format the search loop writes.

For the dashboard's tests, its benchmark and its screenshots: a study of thousands of trials
in seconds, with configurations drawn from a shipped search space, parameter counts from
autopeft's own accounting, a plausible score (saturating in the parameter count, plus noise),
baselines, failed trials and, optionally, trials still RUNNING. The study metadata comes from
:func:`autopeft.store.records.study_metadata`, so the dashboard reads these studies through the
same public API as real ones.
"""

from __future__ import annotations

import math
import random
import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from autopeft._lazy import lazy_module
from autopeft.backbone import Backbone, default_model
from autopeft.service.baselines import build_baseline
from autopeft.spaces import load_space
from autopeft.proxy.result import TrialResult
from autopeft.store import keys, open_storage
from autopeft.store.bulk import add_trials
from autopeft.store.records import study_metadata
from autopeft.store.trial import Lineage, Timings, WorkerInfo, encode_config, encode_lineage, encode_result

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage
    from transformers import PretrainedConfig
else:
    optuna = lazy_module("optuna")

#: all-MiniLM-L6-v2's config as a dict (a BERT of 6 layers, width 384): autopeft's accounting
#: reads dicts as well as transformers configs, so no transformers import is needed here.
MINILM_CONFIG = {
    "model_type": "bert",
    "num_hidden_layers": 6,
    "hidden_size": 384,
    "intermediate_size": 1536,
    "num_attention_heads": 12,
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
}


def default_model_name() -> str:
    """The local all-MiniLM-L6-v2 folder when its package is installed (exports then work), else
    its hub id: :func:`autopeft.backbone.default_model`."""
    return default_model()


def _score(params: int, rng: random.Random, *, ceiling: float, noise: float) -> float:
    gain = 1.0 - math.exp(-params / 120_000.0)
    return round(min(0.999, ceiling - 0.12 + 0.12 * gain + rng.gauss(0.0, noise)), 4)


def write_study(
    storage: "str | BaseStorage",
    name: str,
    *,
    n_trials: int,
    n_failed: int = 0,
    n_running: int = 0,
    baselines: Sequence[str] = ("lora8_qv", "pfeiffer64", "ia3"),
    space: str = "mixed",
    task: str = "sst2",
    sampler: str = "random",
    fidelity: str = "quick",
    seed: int = 0,
    score_ceiling: float = 0.92,
    noise: float = 0.01,
    model_config: "Backbone | PretrainedConfig | Mapping[str, Any] | None" = None,
    with_params: bool = True,
    model: str | None = None,
    n_collapsed: int = 0,
    distinct_configs: int | None = None,
) -> dict[str, Any]:
    """Create study ``name`` in ``storage`` (a URL or an opened Optuna storage).

    Trials, by number: the ``baselines`` first (COMPLETE, no params, user attribute
    ``baseline``), then ``n_trials`` search trials of which the last ``n_failed`` are FAIL (with
    an error text) and after them ``n_running`` RUNNING ones. Returns the written values:
    ``{"scores": {number: score}, "params": {number: n}, "failed": [numbers], "running": [numbers],
    "metadata": ..., "backbone_params": n}`` (a RUNNING trial has a config but no result yet).
    ``with_params=False`` stores no Optuna parameters (the search space's assignment) with the
    search trials: the dashboard never reads them, and Optuna writes each one as its own query,
    which is most of the time of writing a large study. Results carry every field a real trial's
    has, counted the same way (``trainable_params`` the PEFT modules only, ``head_params`` the
    two-class head beside it, ``percent_params`` against the backbone); the first ``n_collapsed``
    completed search trials collapsed to one class (``majority_share`` 1.0, the score at chance),
    and their numbers come back under ``"collapsed"``. ``distinct_configs`` builds at most that many
    distinct search configurations and cycles through them (building and counting configurations
    is most of the cost of a 10,000-trial study); each trial still gets its own noisy score.
    """
    if n_failed + n_running + n_collapsed > n_trials:
        raise ValueError(f"n_failed={n_failed} + n_running={n_running} + n_collapsed={n_collapsed} exceed n_trials={n_trials}")
    if n_failed + n_running > n_trials:
        raise ValueError(f"n_failed={n_failed} + n_running={n_running} exceed n_trials={n_trials}; lower them or raise n_trials")
    mc = Backbone.of(model_config if model_config is not None else dict(MINILM_CONFIG))
    loaded_space = load_space(space)
    backbone = mc.backbone_params
    num_layers = mc.num_layers
    head = mc.head_params(2)  # the two-class head (BERT's: a classifier on the pooled output)
    meta = study_metadata(
        model=model or default_model_name(),
        task=task,
        data_dir=f"synthetic/{task}",
        space_name=loaded_space.name,
        space_text=loaded_space.text,
        fidelity={"max_train_examples": 1000, "epochs": 1.0},
        objectives=["score", "params"],
        directions=["maximize", "minimize"],
        sampler=sampler,
        seed=seed,
        trials=n_trials,
        max_params=None,
        baselines=list(baselines),
        objective_fn="autopeft.viz.synthetic (no training)",
        warm_start=[],
        extra={"fidelity_name": fidelity, "backbone_params": backbone, "num_layers": num_layers, "workers": 1},
    )
    if isinstance(storage, str):
        storage = open_storage(storage)  # WAL + synchronous=NORMAL: thousands of inserts in seconds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(study_name=name, storage=storage, directions=["maximize", "minimize"])
    study.set_user_attr(keys.META_KEY, meta)
    rng = random.Random(seed)
    distributions = loaded_space.distributions(mc)
    parameters = loaded_space.parameters(mc)
    scores: dict[int, float] = {}
    counts: dict[int, int] = {}
    failed: list[int] = []
    running: list[int] = []
    collapsed: list[int] = []
    trials = []
    number = 0
    plan: list[tuple[str | None, dict[str, Any] | None, Any]] = [(b, None, build_baseline(b, num_layers)) for b in baselines]
    pool: list[tuple[dict[str, Any], Any]] = []
    for index in range(n_trials):
        if distinct_configs is None or len(pool) < distinct_configs:
            assignment = {p.name: rng.choice(p.choices) for p in parameters}
            pool.append((assignment, loaded_space.build(assignment, mc)))
        assignment, config = pool[index % len(pool)]
        plan.append((None, assignment, config))
    first_failed = len(plan) - n_failed - n_running
    first_running = len(plan) - n_running
    counted: dict[int, int] = {}  # id(config) -> its count: a pooled configuration is counted once
    for index, (baseline, assignment, config) in enumerate(plan):
        n_params = counted.setdefault(id(config), config.num_trainable_params(mc))
        # The attributes through the store's codec (autopeft.store.trial), as the search loop writes them.
        attrs: dict[str, Any] = {**encode_config(config), **encode_lineage(Lineage(baseline=baseline or None))}
        state = optuna.trial.TrialState.COMPLETE
        values = None
        if index >= first_running:
            state = optuna.trial.TrialState.RUNNING
            running.append(number)
        elif index >= first_failed:
            state = optuna.trial.TrialState.FAIL
            error = "RuntimeError: CUDA out of memory (synthetic failure)\nTried to allocate 20.00 MiB"
            attrs[keys.ERROR] = error
            attrs.update(encode_result(TrialResult(status="failed", error=error, trainable_params=n_params), {}, WorkerInfo(), Timings()))
            failed.append(number)
        else:
            score = _score(n_params, rng, ceiling=score_ceiling, noise=noise)
            share = 0.5 + 0.01 * (number % 10)  # balanced-ish predictions (no draw: the scores stay as they were)
            if baseline is None and len(collapsed) < n_collapsed:
                score, share = 0.5, 1.0  # every prediction in one class of a balanced two-class task
                collapsed.append(number)
            values = [score, float(n_params)]
            train_s = round(5.0 + n_params / 40_000.0 + rng.random(), 3)
            result = TrialResult(
                score=score,
                metrics={"accuracy": score, "f1": round(score - 0.01, 4)},
                trainable_params=n_params,
                percent_params=100.0 * n_params / backbone,
                adapter_bytes=4 * n_params,
                peak_memory_mb=round(900.0 + n_params / 2_000.0, 1),
                time_load_s=0.8,
                time_train_s=train_s,
                time_eval_s=0.6,
                examples_per_s=round(1000.0 / train_s, 1),
                majority_share=share,
                chance_score=0.5,
                head_params=head,
            )
            attrs.update(encode_result(result, {}, WorkerInfo(host="synthetic", pid=1), Timings(wall_s=round(train_s + 1.5, 3))))
            scores[number] = score
        counts[number] = n_params
        params = assignment if assignment is not None and with_params else {}
        dists = distributions if params else {}
        trials.append(optuna.trial.create_trial(state=state, values=values, params=params, distributions=dists, user_attrs=attrs))
        number += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        add_trials(storage, name, trials)  # what study.add_trials does, in batched inserts (about 100x faster)
    return {"scores": scores, "params": counts, "failed": failed, "running": running, "collapsed": collapsed, "metadata": meta,
            "backbone_params": backbone}

