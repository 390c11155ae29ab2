"""The PEFT-method registry: refusals, and that everything derived from it keeps its old shape."""

import pickle
import subprocess
import sys

import pytest

from autopeft.errors import RegistryError
from autopeft.methods.registry import (
    FLAG,
    RANKS,
    REGISTRY,
    SIZE,
    ExportRule,
    Knob,
    LayerField,
    MethodRegistry,
    PeftMethod,
    refused,
    register_method,
)

BUILT_IN = ["serial_adapter", "serial_adapter_attn", "parallel_adapter", "prefix", "lora", "ia3", "dora"]


def _method(name="toy", fields=None, knobs=(), uses_knobs=(), **overrides):
    declared = dict(
        name=name,
        title="toy method",
        fields=fields if fields is not None else (LayerField(f"{name}_size", SIZE, label="T", column="toy"),),
        count=lambda layer, config, shapes: 0,
        inject=lambda ctx, index, layer, layer_config: None,
        hook_order=15,
        peft=refused(lambda config, info, layers: "no"),
        adapters=refused(lambda config, info, layers: "no"),
        knobs=knobs,
        uses_knobs=uses_knobs,
    )
    declared.update(overrides)
    return PeftMethod(**declared)


def test_built_in_methods_are_registered_in_order():
    assert [m.name for m in REGISTRY.methods()] == BUILT_IN
    assert [m.name for m in REGISTRY.in_hook_order()] == [
        "lora", "dora", "ia3", "parallel_adapter", "serial_adapter", "serial_adapter_attn", "prefix"]


def test_a_taken_name_is_refused():
    with pytest.raises(RegistryError, match=r"already a PEFT method called 'lora'.*unique name"):
        register_method(REGISTRY.get("lora"))
    registry = MethodRegistry()
    registry.register(_method())
    with pytest.raises(RegistryError, match="already a PEFT method called 'toy'"):
        registry.register(_method(fields=(LayerField("other", SIZE, label="O", column="o"),)))


def test_the_sealed_registry_refuses_new_methods():
    with pytest.raises(RegistryError, match=r"registered after autopeft.config built LayerConfig.*autopeft/methods/__init__.py"):
        register_method(_method("late"))
    assert "late" not in REGISTRY


@pytest.mark.parametrize(
    "first, second, needle",
    [
        (_method("a", fields=(LayerField("size", SIZE, label="A", column="a"),)),
         _method("b", fields=(LayerField("size", SIZE, label="B", column="b"),)), "field 'size' is already declared by method 'a'"),
        (_method("a", knobs=(Knob("alpha", 1.0),)), _method("b", knobs=(Knob("alpha", 2.0),)),
         "knob 'alpha' is already declared by method 'a'; list it in uses_knobs"),
    ],
)
def test_taken_fields_and_knobs_are_refused(first, second, needle):
    registry = MethodRegistry()
    registry.register(first)
    with pytest.raises(RegistryError, match=needle):
        registry.register(second)


@pytest.mark.parametrize(
    "method, needle",
    [
        (_method("Toy"), "'Toy' must be a lower-case Python identifier"),
        (_method(fields=()), "declares no per-layer field"),
        (_method(fields=(LayerField("layers", SIZE, label="L", column="l"),)), "field 'layers' is reserved"),
        (_method(fields=(LayerField("x", "vector", label="X", column="x"),)), "kind 'vector'"),
        (_method(fields=(LayerField("x", RANKS, label="X", column="x", scalable=True),)), "only sizes scale"),
        (_method(knobs=(Knob("k", "a", choices=("b",)),)), "the default of knob 'k' is invalid"),
        (_method(uses_knobs=("nowhere",)), "uses knob 'nowhere', which no registered method declares"),
        (_method(hook_order="early"), "hook_order must be an integer"),
        (_method(peft=None), "peft must be an ExportRule"),
    ],
)
def test_malformed_declarations_are_refused_naming_the_part(method, needle):
    with pytest.raises(RegistryError, match=needle.replace("(", r"\(")):
        MethodRegistry().register(method)


def test_lists_derived_from_the_registry_keep_their_old_shape():
    from autopeft.config import GLOBAL_DEFAULTS, SIZE_FIELDS
    from autopeft.spaces.space import LAYER_FIELDS, SCALABLE_FIELDS
    from autopeft.viz.frames import MODULE_COLUMNS

    assert SIZE_FIELDS == ("serial_adapter", "serial_adapter_attn", "parallel_adapter", "prefix_length")
    projections = ("query", "key", "value", "attn_output", "ffn_in", "ffn_out")
    assert LAYER_FIELDS == (*SIZE_FIELDS, *(f"lora.{p}" for p in projections), "ia3", *(f"dora.{p}" for p in projections))
    assert SCALABLE_FIELDS == frozenset(SIZE_FIELDS)
    assert GLOBAL_DEFAULTS == {"lora_alpha": 16.0, "lora_alpha_rule": "fixed", "lora_dropout": 0.0, "adapter_activation": "relu",
                               "parallel_adapter_scaling": 4.0, "prefix_reparameterization": "none", "prefix_mlp_hidden": 512}
    assert MODULE_COLUMNS[:11] == (
        ("serial adapter (FFN)", "serial_adapter", None), ("serial adapter (attn)", "serial_adapter_attn", None),
        ("parallel adapter", "parallel_adapter", None), ("prefix length", "prefix_length", None),
        ("LoRA query", "lora", "query"), ("LoRA key", "lora", "key"), ("LoRA value", "lora", "value"),
        ("LoRA attn out", "lora", "attn_output"), ("LoRA FFN in", "lora", "ffn_in"), ("LoRA FFN out", "lora", "ffn_out"),
        ("(IA)^3", "ia3", None),
    )
    from tests.conftest import tiny_config
    from autopeft import PeftConfig

    assert list(PeftConfig.uniform(3).param_breakdown(tiny_config("bert"))) == BUILT_IN


def test_every_method_declares_every_part():
    kinds = {SIZE, RANKS, FLAG}
    for method in REGISTRY.methods():
        assert method.fields and all(f.kind in kinds for f in method.fields), method.name
        assert callable(method.count) and callable(method.inject), method.name
        assert isinstance(method.peft, ExportRule) and isinstance(method.adapters, ExportRule), method.name
        assert method.description and method.title, method.name
        for name in method.uses_knobs:
            REGISTRY.knob(name)


def test_declaring_methods_imports_no_torch():
    code = "import sys, autopeft, autopeft.methods, autopeft.accounting, autopeft.export.peft_format; " \
           "assert not {'torch', 'ray', 'streamlit'} & set(sys.modules), sorted({'torch', 'ray', 'streamlit'} & set(sys.modules))"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_torch_classes_behave_like_top_level_classes():
    from autopeft.methods import lora
    from autopeft.methods.lora import LoraBranch

    assert LoraBranch is lora.classes.LoraBranch
    assert (LoraBranch.__module__, LoraBranch.__qualname__) == ("autopeft.methods.lora", "LoraBranch")
    branch = LoraBranch(4, 6, 2, 1.0, 0.0)
    again = pickle.loads(pickle.dumps(branch))
    assert type(again) is LoraBranch and again.lora_B.weight.shape == (6, 2)
    with pytest.raises(AttributeError):
        lora.NoSuchClass  # noqa: B018
