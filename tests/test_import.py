"""`import autopeft` stays light: no torch, transformers, ray, optuna or streamlit."""

import subprocess
import sys


def test_import_autopeft_loads_no_heavy_library():
    code = (
        "import sys, autopeft\n"
        "heavy = [m for m in ('torch', 'transformers', 'ray', 'streamlit', 'optuna', 'botorch') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_names_exist():
    import autopeft

    for name in ("PeftConfig", "LayerConfig", "SearchSpace", "apply", "load_config", "trainable_summary"):
        assert hasattr(autopeft, name), name
    for method in ("num_trainable_params", "percent_of_backbone", "num_bytes", "to_dict", "from_dict"):
        assert callable(getattr(autopeft.PeftConfig, method))
    assert callable(autopeft.SearchSpace.sample)
