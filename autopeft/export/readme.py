"""The ``README.md`` written beside every export: where it came from and how to load it.

Counts: a study's ``trainable_params`` are the PEFT modules' parameters, the task head excluded
(the number the sampler, ``--max-params``, the Pareto table and the dashboard show). The head
trains too, so what a loaded export reports as trainable (HF peft's
``print_trainable_parameters()``, which counts ``modules_to_save``; ``train.py``'s check) is
"X PEFT params + Y head params", and the README says both.

The head's size and label names are the study's (its recorded task spec), so the loading snippet
builds the model with the same ``num_labels`` the study trained.
"""

from __future__ import annotations

from typing import Any

from autopeft.tasks.resolve import describe_source

LOADING = {
    "peft": """```python
from peft import PeftConfig, get_peft_model
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("{model}", {head_args})
model = get_peft_model(model, PeftConfig.from_pretrained("{out_dir}"))
model.print_trainable_parameters()  # {expected} trainable = {peft_params} PEFT params (autopeft's count) + {head_params} head params (modules_to_save)
```""",
    "autopeft": """```python
import autopeft
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("{model}", {head_args})
autopeft.apply(model, autopeft.load_config("{out_dir}/autopeft_config.json"))
counts = autopeft.trainable_summary(model)
print(counts.peft_params)  # {peft_params} PEFT params, autopeft's count (the task head excluded)
print(counts.head_params)  # {head_params} head params, trained beside them ({expected} trainable in all)
```""",
    "adapters": """AdapterHub `adapters` needs **transformers 4.x** (it does not install beside transformers 5):

```python
import adapters
from adapters import AdapterConfig
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("{model}", {head_args})
adapters.init(model)
model.add_adapter("autopeft", config=AdapterConfig.load("{out_dir}/adapters_config.json"))
model.train_adapter("autopeft")  # freezes the backbone; unfreeze the task head ({head_params} params) to train it as the study did
```

Mapping: `serial_adapter` -> sequential bottleneck after the FFN output (`output_adapter`),
`serial_adapter_attn` -> after the attention output (`mh_adapter`), both with
`original_ln_before=false, residual_before_ln=true, original_ln_after=true` (autopeft's
placement); `parallel_adapter` -> `ParBnConfig` with autopeft's `scaling`; per-layer sizes ->
`reduction_factor` {{layer: hidden/size}} and `leave_out`; prefix -> flat `PrefixTuningConfig`;
LoRA -> `LoRAConfig` (one rank, `attn_matrices`, `intermediate_lora` = ffn_in, `output_lora` =
ffn_out). Limits: AdapterHub initialises adapters its own way ("bert" / "mam_adapter"), applies
dropout before its adapters, and counts its parameters its own way; (IA)^3, LoRA on the attention
output, per-layer LoRA ranks and MLP prefixes are refused rather than approximated.""",
    "script": """```bash
{data_usage}
python train.py --max-steps 5               # smoke test
```

`train.py` trains at full fidelity (see its SETTINGS block) with HF `Trainer` and writes the
trained adapter and task head to `trained/`. It first checks that {expected} parameters train:
{peft_params} PEFT params (autopeft's count) + {head_params} head params.""",
}


#: Source keys listed under "Where it came from", with the label each is written under.
SOURCE_LABELS = {
    "study": "study", "storage": "storage", "config_file": "config_file", "trial": "trial", "state": "state", "selection": "selection",
    "score": "score", "metrics": "metrics",
    "trainable_params": "trainable_params (PEFT modules, the task head excluded)",
    "percent_params": "percent_params (of the backbone: embeddings + layers)",
    "task": "task", "data_dir": "data_dir", "data": "data", "labels": "labels (the task head's classes, in order)",
}


def data_line(spec: dict[str, Any] | None) -> str | None:
    """Where the task's examples come from, for a task on your own data (None otherwise)."""
    if not spec or spec.get("source") == "registry":
        return None
    return describe_source(spec)


def _data_usage(spec: dict[str, Any] | None) -> str:
    if spec and spec.get("source") in ("files", "folder"):
        where = spec["train"] + (f" and {spec['eval']}" if spec.get("eval") else "")
        return (f"python train.py                             # the study's data: {where}\n"
                "python train.py --train FILE [--eval FILE]  # the same layout elsewhere")
    if spec and spec.get("source") == "dataset":
        return f"python train.py                             # the study's dataset: {spec['dataset']}"
    return "python train.py --data-dir /path/to/data   # local files; without it the hub (datasets.load_dataset)"


def render(fmt: str, files: list[str], *, source: dict[str, Any], model: str | None, num_labels: int, expected: int | None,
           summary: str, peft_params: int, out_dir: str, backend: str | None = None, head_params: int | None = None,
           regression: bool = False, task_spec: dict[str, Any] | None = None) -> str:
    """The README text. ``peft_params``: the config's PEFT count (the study's); ``head_params``:
    the task head's; ``expected``: what the loaded export trains (their sum); ``num_labels``
    (and ``regression``) the head the loading snippet builds; ``task_spec`` the task's spec (the
    script's data)."""
    if head_params is None and expected is not None:
        head_params = expected - peft_params
    lines = [f"# autopeft export ({fmt})", "", "## Where it came from", ""]
    for key, label in SOURCE_LABELS.items():
        if source.get(key) is not None:
            lines.append(f"- {label}: {source[key]}")
    stored = source.get("trainable_params")
    if stored is not None and stored != peft_params:
        lines.append(f"- note: the study stored {stored} trainable params, this configuration has {peft_params} PEFT params "
                     "(a study recorded before autopeft counted the PEFT modules only)")
    lines += [f"- model: {model}",
              f"- PEFT parameters: {peft_params} (autopeft's count, a study's trainable_params); the task head's {head_params} parameters "
              f"train beside them: {expected} trainable = {peft_params} PEFT params + {head_params} head params", "",
              "Configuration (per layer):", "", "```", summary, "```", "", "## Files", ""]
    lines += [f"- `{name}`" for name in files] + ["", "## How to load it", ""]
    kinds = [fmt] if fmt != "script" else ["script", backend or "autopeft"]
    for kind in kinds:
        head_args = f"num_labels={num_labels}" + (', problem_type="regression"' if regression else "")
        lines.append(LOADING[kind].format(model=model, head_args=head_args, expected=expected, out_dir=out_dir,
                                          peft_params=peft_params, head_params=head_params, data_usage=_data_usage(task_spec)))
        lines.append("")
    return "\n".join(lines)
