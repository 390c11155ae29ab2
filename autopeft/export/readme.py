"""The ``README.md`` written beside every export: where it came from and how to load it."""

from __future__ import annotations

from typing import Any

LOADING = {
    "peft": """```python
from peft import PeftConfig, get_peft_model
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("{model}", num_labels={num_labels})
model = get_peft_model(model, PeftConfig.from_pretrained("{out_dir}"))
model.print_trainable_parameters()  # {expected} trainable, as the study recorded
```""",
    "autopeft": """```python
import autopeft
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("{model}", num_labels={num_labels})
autopeft.apply(model, autopeft.load_config("{out_dir}/autopeft_config.json"))
print(autopeft.trainable_summary(model).trainable_params)  # {expected}, as the study recorded
```""",
    "adapters": """AdapterHub `adapters` needs **transformers 4.x** (it does not install beside transformers 5):

```python
import adapters
from adapters import AdapterConfig
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("{model}", num_labels={num_labels})
adapters.init(model)
model.add_adapter("autopeft", config=AdapterConfig.load("{out_dir}/adapters_config.json"))
model.train_adapter("autopeft")  # freezes the backbone; unfreeze the task head to match the study
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
python train.py --data-dir /path/to/data   # local files; without it the hub (datasets.load_dataset)
python train.py --max-steps 5               # smoke test
```

`train.py` trains at full fidelity (see its SETTINGS block) with HF `Trainer` and writes the
trained adapter and task head to `trained/`.""",
}


def render(fmt: str, files: list[str], *, source: dict[str, Any], model: str | None, num_labels: int, expected: int | None,
           summary: str, peft_params: int, out_dir: str, backend: str | None = None) -> str:
    lines = [f"# autopeft export ({fmt})", "", "## Where it came from", ""]
    for key in ("study", "storage", "config_file", "trial", "selection", "score", "metrics", "trainable_params", "percent_params", "task", "data_dir"):
        if source.get(key) is not None:
            lines.append(f"- {key}: {source[key]}")
    lines += [f"- model: {model}", f"- PEFT parameters: {peft_params}; trainable with the task head: {expected}", "",
              "Configuration (per layer):", "", "```", summary, "```", "", "## Files", ""]
    lines += [f"- `{name}`" for name in files] + ["", "## How to load it", ""]
    kinds = [fmt] if fmt != "script" else ["script", backend or "autopeft"]
    for kind in kinds:
        lines.append(LOADING[kind].format(model=model, num_labels=num_labels, expected=expected, out_dir=out_dir))
        lines.append("")
    return "\n".join(lines)
