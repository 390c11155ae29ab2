"""The analytic count equals what `apply` builds, for 200 samples of every shipped space."""

import copy

import pytest

import autopeft
from autopeft.accounting import bottleneck_params, prefix_params
from autopeft.spaces import builtin_spaces
from tests.conftest import FAMILIES, tiny_model


def _built_peft_params(base, config):
    model = autopeft.apply(copy.deepcopy(base), config)
    return autopeft.trainable_summary(model).peft_params


@pytest.mark.parametrize("space_name", ["autopeft", "lora_layerwise", "mixed"])
def test_200_samples_per_space_count_exactly(space_name):
    assert space_name in builtin_spaces()
    space = autopeft.SearchSpace.from_yaml(space_name)
    bases = {family: tiny_model(family) for family in FAMILIES}
    counts = set()
    for seed in range(200):
        family = FAMILIES[seed % len(FAMILIES)]
        base = bases[family]
        config = space.sample(base.config, seed)
        analytic = config.num_trainable_params(base.config)
        assert _built_peft_params(base, config) == analytic, (family, seed, config.summary())
        counts.add(analytic)
    assert len(counts) > 100  # the samples really differ


def test_bottleneck_and_prefix_formulas_by_hand():
    # down 384x64 + 64 bias, up 64x384 + 384 bias
    assert bottleneck_params(384, 64) == 384 * 64 + 64 + 64 * 384 + 384 == 49600
    assert bottleneck_params(384, 0) == 0
    assert prefix_params(16, 384, 384, "none", 512) == 16 * 2 * 384
    assert prefix_params(16, 384, 384, "mlp", 8) == 16 * 384 + 384 * 8 + 8 + 8 * 768 + 768


def test_grouped_query_attention_counts_kv_width():
    from tests.conftest import tiny_config

    config = tiny_config("llama")  # hidden 32, 4 heads, 2 kv heads -> kv width 16
    lora = autopeft.PeftConfig.uniform(3, lora={"key": 2, "ffn_in": 1})
    # key: 2 * (32 + 16); ffn_in is gate and up: 2 modules * 1 * (32 + 48)
    assert lora.num_trainable_params(config) == 3 * (2 * (32 + 16) + 2 * (32 + 48))
    ia3 = autopeft.PeftConfig.uniform(3, ia3=True)
    assert ia3.num_trainable_params(config) == 3 * (16 + 16 + 48)
