"""`autopeft.backbone`: one loader, one model description, real numbers."""

from __future__ import annotations

import subprocess
import sys

import pytest

import autopeft
from autopeft.architectures import backbone_params, dims_of, family_for
from autopeft.backbone import DEFAULT_MODEL_ID, Backbone, default_model, load_backbone
from autopeft.errors import ArchitectureError
from tests.conftest import FAMILIES, minilm_path, tiny_config, tiny_model


def test_minilm_backbone_real_numbers():
    backbone = load_backbone(minilm_path())
    assert backbone.family.name == "bert"
    assert (backbone.num_layers, backbone.hidden, backbone.dims.intermediate) == (6, 384, 1536)
    assert backbone.backbone_params == 22_565_376
    assert backbone.head_params(2) == 384 * 2 + 2 == 770
    assert backbone.head_params(5) == 384 * 5 + 5
    config = autopeft.PeftConfig.uniform(6, lora={"query": 8, "value": 8})
    assert config.num_trainable_params(backbone) == 73_728
    assert config.num_trainable_params(backbone.config) == 73_728
    assert config.num_trainable_params(minilm_path()) == 73_728  # a path is loaded (cached)
    assert config.percent_of_backbone(backbone) == pytest.approx(100 * 73_728 / 22_565_376)
    assert backbone.name == minilm_path()
    assert "bert" in repr(backbone) and "22,565,376" in repr(backbone)


def test_loader_is_cached_per_name():
    assert load_backbone(minilm_path()) is load_backbone(minilm_path()) is Backbone.load(minilm_path())


def test_of_accepts_what_callers_hold():
    backbone = load_backbone(minilm_path())
    assert Backbone.of(backbone) is backbone
    assert Backbone.of(minilm_path()) is backbone
    from_dict = Backbone.of({"model_type": "bert", "num_hidden_layers": 6, "hidden_size": 384,
                             "intermediate_size": 1536, "num_attention_heads": 12, "vocab_size": 30522,
                             "max_position_embeddings": 512, "type_vocab_size": 2})
    assert from_dict.backbone_params == backbone.backbone_params and from_dict.dims == backbone.dims
    with pytest.raises(ArchitectureError, match="expected a hub id"):
        Backbone.of(3.5)


def test_architectures_functions_accept_a_backbone():
    backbone = load_backbone(minilm_path())
    assert family_for(backbone) is backbone.family
    assert dims_of(backbone) == dims_of(backbone.config)
    assert backbone_params(backbone) == backbone_params(backbone.config)


@pytest.mark.parametrize("family", FAMILIES)
def test_head_params_match_a_built_model(family):
    num_labels = 3
    model = tiny_model(family, num_labels=num_labels)
    backbone = Backbone.of(model)
    base = model.base_model
    head = sum(p.numel() for name, child in model.named_children() if child is not base for p in child.parameters())
    assert backbone.head_params(num_labels) == head
    assert backbone.backbone_params == backbone_params(tiny_config(family))


def test_loader_names_the_model_when_there_is_no_config(tmp_path):
    with pytest.raises(ArchitectureError, match="cannot load its config"):
        load_backbone(str(tmp_path / "nothing-here"))


def test_loader_refuses_an_unsupported_family(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "t5", "d_model": 8}')
    with pytest.raises(ArchitectureError, match="not supported"):
        load_backbone(str(tmp_path))


def test_default_model_is_the_embedded_folder_or_the_hub_id():
    name = default_model()
    assert name == DEFAULT_MODEL_ID or name.endswith("model")


def test_import_backbone_loads_no_heavy_library():
    code = ("import sys, autopeft.backbone\n"
            "print(','.join(m for m in ('torch', 'transformers', 'ray', 'optuna') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
