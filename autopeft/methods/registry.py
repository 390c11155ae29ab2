"""The PEFT-method registry: every method is one frozen :class:`PeftMethod`, registered once.

As in HF peft (each ``peft/tuners/<name>/__init__.py`` calls ``register_peft_method``, which
refuses a name that is taken), a method is one unit: its module ``autopeft/methods/<name>.py``
declares everything autopeft knows about it and calls :func:`register_method`:

* its per-layer fields (:class:`LayerField`: name, kind, whether ``scale: hidden`` may rescale
  it, its label in summaries, its heatmap column);
* its analytic parameter count (``count``), equal to what its injector builds;
* its injector (``inject``, torch imported inside) and its place among the hooks (``hook_order``);
* how it exports to HF peft and to AdapterHub adapters (:class:`ExportRule`), or why it cannot;
* its global knobs (:class:`Knob`) with their defaults and validation.

Everything else iterates this registry instead of listing methods: ``autopeft.config``
(``LayerConfig``'s fields, ``PeftConfig``'s knobs, validation, summary, ``to_dict`` /
``from_dict``), ``autopeft.accounting``, ``autopeft.apply``, the search spaces, the peft and
adapters exports and the dashboard's heatmap. Adding a method means writing its module and
importing it from ``autopeft/methods/__init__.py``; nothing else changes.

Orders: the registration order (the import order in ``autopeft/methods/__init__.py``) is the
order of fields in a layer, of knobs, of summary parts, heatmap columns, ``param_breakdown``
keys and export parts. ``hook_order`` is the order :func:`autopeft.apply` injects the methods:
hooks on a shared module run in that order, so it decides what each method sees (LoRA adds to a
projection's output before (IA)^3 rescales it and before a serial adapter transforms it).

Registration happens while ``autopeft.methods`` is imported: ``autopeft.config`` then builds
``LayerConfig`` and ``PeftConfig`` from the registry and seals it, and a later registration
raises (the config classes could not grow the new fields).

This module imports neither torch nor any autopeft module other than ``autopeft.errors``,
``autopeft.architectures`` and ``autopeft.backbone``, so ``import autopeft`` stays cheap.
"""

from __future__ import annotations

import keyword
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from autopeft.architectures import PROJECTIONS
from autopeft.backbone import Backbone
from autopeft.errors import ConfigError, RegistryError

#: Field kinds. ``size``: a non-negative integer, 0 = absent (an adapter bottleneck, a prefix
#: length). ``rank_per_projection``: a non-negative integer per projection of
#: :data:`autopeft.architectures.PROJECTIONS` (LoRA's ranks). ``flag``: true or false.
SIZE = "size"
RANKS = "rank_per_projection"
FLAG = "flag"
FIELD_KINDS = (SIZE, RANKS, FLAG)

#: Short projection names in summaries (``LoRA[q8 v8]``) and their heatmap column names.
PROJECTION_SHORT: dict[str, str] = {"query": "q", "key": "k", "value": "v", "attn_output": "o", "ffn_in": "fi", "ffn_out": "fo"}
PROJECTION_COLUMN: dict[str, str] = {"query": "query", "key": "key", "value": "value", "attn_output": "attn out",
                                     "ffn_in": "FFN in", "ffn_out": "FFN out"}

#: Names a field or knob may not take: keys of a config dict, a space's per-layer switch, and
#: the config classes' own attributes.
RESERVED_NAMES = frozenset({
    "format_version", "num_layers", "layers", "on", "validate", "to_dict", "from_dict", "to_json", "from_json",
    "summary", "is_empty", "uniform", "uses", "has_prefix", "lora_scaling", "check_compatible", "param_breakdown",
    "num_trainable_params", "percent_of_backbone", "num_bytes",
})


# ----------------------------------------------------------------------------- value checks
def reject_unknown_keys(where: str, given: Mapping[str, Any], known: set[str]) -> None:
    """Raise :class:`ConfigError` naming the first key of ``given`` not in ``known`` (at ``where``)."""
    unknown = sorted(set(given) - known)
    if unknown:
        prefix = f"{where}: " if where else ""
        raise ConfigError(
            f"{prefix}unknown key {unknown[0]!r}"
            + (f" (and {unknown[1:]})" if len(unknown) > 1 else "")
            + f"; known keys: {sorted(known)}"
        )


def check_size(path: str, value: Any) -> int:
    """``value`` if it is a non-negative integer (a module size; 0 = absent), else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"{path}: expected a non-negative integer, got {value!r} ({type(value).__name__}); "
            "use 0 for an absent module"
        )
    if value < 0:
        raise ConfigError(f"{path}: expected a non-negative integer, got {value}; use 0 for an absent module")
    return value


def check_flag(path: str, value: Any) -> bool:
    """``value`` if it is a bool, else raise."""
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {value!r} ({type(value).__name__})")
    return value


def check_ranks(path: str, value: Any) -> dict[str, int]:
    """A full ``{projection: rank}`` dict (missing projections 0) from a partial mapping, else raise."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"{path}: expected a mapping of projection -> rank, got {value!r}")
    reject_unknown_keys(path, value, set(PROJECTIONS))
    return {p: check_size(f"{path}.{p}", value.get(p, 0)) for p in PROJECTIONS}


#: What a method's ``count`` reads the model's sizes from: the :class:`autopeft.backbone.Backbone`
#: (``.dims``, ``.projection(name)``, ``.family``, ``.config``), resolved once per count.
ModelShapes = Backbone


# ----------------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class LayerField:
    """One per-layer attribute of ``LayerConfig`` that a method owns.

    Attributes:
        name: the attribute and dict key (``serial_adapter``, ``lora``).
        kind: :data:`SIZE`, :data:`RANKS` or :data:`FLAG`.
        label: its part of a layer summary: ``SA`` gives ``SA64``, ``LoRA`` gives ``LoRA[q8 v8]``,
            a flag shows its label when set.
        column: its heatmap column (for :data:`RANKS`, the prefix of one column per projection).
        scalable: a space's ``scale: hidden`` may rescale its choices (sizes that should grow with
            the hidden width, such as bottlenecks; never ranks or flags).
        description: what the field means, for docstrings and messages.
    """

    name: str
    kind: str
    label: str
    column: str
    scalable: bool = False
    description: str = ""

    def default(self) -> Any:
        """The value meaning "absent"."""
        if self.kind == RANKS:
            return {p: 0 for p in PROJECTIONS}
        return False if self.kind == FLAG else 0

    def check(self, path: str, value: Any) -> Any:
        """The validated (for ranks: completed) value; raises :class:`ConfigError` naming ``path``."""
        if self.kind == RANKS:
            return check_ranks(path, value)
        if self.kind == FLAG:
            return check_flag(path, value)
        return check_size(path, value)

    def is_set(self, value: Any) -> bool:
        return any(value.values()) if self.kind == RANKS else bool(value)

    def summary(self, value: Any) -> str | None:
        """This field's part of a layer summary, or None when absent."""
        if not self.is_set(value):
            return None
        if self.kind == RANKS:
            return f"{self.label}[" + " ".join(f"{PROJECTION_SHORT[p]}{r}" for p, r in value.items() if r) + "]"
        return self.label if self.kind == FLAG else f"{self.label}{value}"

    @property
    def absent(self) -> str:
        """How to switch the field off, for messages."""
        if self.kind == RANKS:
            return f"set every {self.name} rank to 0"
        return f"set {self.name} to {'false' if self.kind == FLAG else 0}"

    def space_fields(self) -> tuple[str, ...]:
        """The names a search space uses: the field, or ``<field>.<projection>`` per projection."""
        return tuple(f"{self.name}.{p}" for p in PROJECTIONS) if self.kind == RANKS else (self.name,)

    def columns(self) -> tuple[tuple[str, str, str | None], ...]:
        """Heatmap columns: ``(label, field name, projection or None)``."""
        if self.kind == RANKS:
            return tuple((f"{self.column} {PROJECTION_COLUMN[p]}", self.name, p) for p in PROJECTIONS)
        return ((self.column, self.name, None),)


@dataclass(frozen=True)
class Knob:
    """A global setting of ``PeftConfig`` (one value for every layer) that a method owns.

    Exactly one kind of value: ``choices`` (a name from the list), ``integer`` (a whole number), or
    neither (a number, stored as float). ``positive`` excludes 0; ``below`` is an exclusive upper
    bound (a probability).
    """

    name: str
    default: Any
    description: str = ""
    choices: tuple[str, ...] | None = None
    integer: bool = False
    positive: bool = False
    below: float | None = None
    fix: str = ""

    def check(self, value: Any) -> Any:
        """The validated value (numbers as float, integers as int); raises :class:`ConfigError`."""
        hint = f"; {self.fix}" if self.fix else ""
        if self.choices is not None:
            if value not in self.choices:
                raise ConfigError(f"{self.name}: expected one of {list(self.choices)}, got {value!r}")
            return value
        adjective = "positive" if self.positive else "non-negative"
        if self.integer:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (self.positive and value == 0):
                raise ConfigError(f"{self.name}: expected a {adjective} integer, got {value!r}{hint}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{self.name}: expected a number, got {value!r} ({type(value).__name__}){hint}")
        if value < 0 or (self.positive and value == 0):
            raise ConfigError(f"{self.name}: expected a {adjective} number, got {value}{hint}")
        if self.below is not None and value >= self.below:
            raise ConfigError(f"{self.name}: expected a probability in [0, {self.below:g}), got {value}{hint}")
        return float(value)

    @property
    def python_type(self) -> type:
        return str if self.choices is not None else int if self.integer else float


@dataclass(frozen=True)
class ExportRule:
    """How a method's part of a configuration is written in one foreign format (peft, adapters).

    Attributes:
        problems: ``(config, model_info, layers) -> [reason, ...]``: why this part (the method in
            ``layers``) cannot be expressed exactly; empty when it can. Each reason names the field,
            the layers and why, so the export error can list them.
        build: ``(config, model_info) -> object`` writing the part: for peft, the peft config of a
            configuration that uses this method only; for adapters, a list of ``ConfigUnion``
            entries. None when the format never expresses the method (``problems`` says why).
    """

    problems: Callable[[Any, Any, list[int]], list[str]]
    build: Callable[[Any, Any], Any] | None = None


def refused(reason: Callable[[Any, Any, list[int]], str]) -> ExportRule:
    """An :class:`ExportRule` for a format that cannot express the method at all."""
    return ExportRule(problems=lambda config, info, layers: [reason(config, info, layers)])


@dataclass(frozen=True)
class PeftMethod:
    """Everything autopeft knows about one PEFT method. See the module docstring.

    Attributes:
        name: unique, lower-case; the ``param_breakdown`` key (``prefix``, ``lora``).
        title: human name in messages (``prefix-tuning``).
        fields: its per-layer fields (most methods have one).
        count: ``(layer_config, peft_config, shapes) -> int``: trainable parameters of this
            method in one layer where it is used, from the model's sizes alone
            (:class:`ModelShapes`, read from the transformers config).
        inject: ``(ctx, index, layer_module, layer_config) -> None``: attaches the method's
            modules (named ``autopeft_*``) to one layer where it is used; imports torch inside.
        hook_order: where its hooks run among the methods' hooks (ascending; see the module
            docstring). Additive deltas on a projection's output 10, rescaling 20, the parallel
            adapter 30, serial adapters 40, attention-level methods 50.
        peft, adapters: the two export rules.
        knobs: the global knobs it owns (name and default).
        uses_knobs: knobs owned by other methods that it reads (a LoRA variant reads LoRA's alpha).
        unavailable: ``family -> reason or None``: why a family cannot have the method.
        finish: ``(model, ctx) -> None``: model-level work after every layer is injected.
        description: what the method is, with its reference.
    """

    name: str
    title: str
    fields: tuple[LayerField, ...]
    count: Callable[[Any, Any, Any], int]
    inject: Callable[[Any, int, Any, Any], None]
    hook_order: int
    peft: ExportRule
    adapters: ExportRule
    knobs: tuple[Knob, ...] = ()
    uses_knobs: tuple[str, ...] = ()
    unavailable: Callable[[Any], str | None] | None = None
    finish: Callable[[Any, Any], None] | None = None
    description: str = ""

    def used_in_layer(self, layer: Any) -> bool:
        return any(f.is_set(getattr(layer, f.name)) for f in self.fields)

    def layers_using(self, config: Any) -> list[int]:
        """Indices of the layers of ``config`` that use this method."""
        return [i for i, layer in enumerate(config.layers) if self.used_in_layer(layer)]


# ----------------------------------------------------------------------------- the registry
class MethodRegistry:
    """Registered methods in registration order, with their fields and knobs.

    :data:`REGISTRY` is the one autopeft uses; a separate instance is only useful in tests.
    """

    def __init__(self) -> None:
        self._methods: dict[str, PeftMethod] = {}
        self._fields: dict[str, tuple[LayerField, PeftMethod]] = {}
        self._knobs: dict[str, tuple[Knob, PeftMethod]] = {}
        self._sealed_by: str | None = None

    def register(self, method: PeftMethod) -> PeftMethod:
        """Add ``method``; raise :class:`RegistryError` on a taken name, field or knob, a
        malformed declaration, or a sealed registry. Returns ``method``."""
        if not isinstance(method, PeftMethod):
            raise RegistryError(f"register_method: expected a PeftMethod, got {type(method).__name__}")
        where = f"method {method.name!r}"
        if method.name in self._methods:
            raise RegistryError(f"{where}: there is already a PEFT method called {method.name!r} "
                                f"(from {self._methods[method.name].inject.__module__}); choose a unique name")
        if self._sealed_by is not None:
            raise RegistryError(f"{where}: registered after {self._sealed_by}; import its module from "
                                "autopeft/methods/__init__.py so it registers with the built-in methods")
        _check_name(where, "name", method.name)
        if not method.fields:
            raise RegistryError(f"{where}: declares no per-layer field; give it at least one LayerField")
        for f in method.fields:
            _check_name(where, "field", f.name)
            if f.kind not in FIELD_KINDS:
                raise RegistryError(f"{where}: field {f.name!r} has kind {f.kind!r}; use one of {list(FIELD_KINDS)}")
            if f.scalable and f.kind != SIZE:
                raise RegistryError(f"{where}: field {f.name!r} is scalable but a {f.kind}; only sizes scale with the hidden size")
            if f.name in self._fields or f.name in self._knobs:
                owner = (self._fields.get(f.name) or self._knobs[f.name])[1].name
                raise RegistryError(f"{where}: field {f.name!r} is already declared by method {owner!r}; rename it")
        names = [f.name for f in method.fields] + [k.name for k in method.knobs]
        if len(set(names)) != len(names):
            raise RegistryError(f"{where}: declares a field or knob name twice in {names}")
        for knob in method.knobs:
            _check_name(where, "knob", knob.name)
            if knob.name in self._knobs or knob.name in self._fields:
                owner = (self._knobs.get(knob.name) or self._fields[knob.name])[1].name
                raise RegistryError(f"{where}: knob {knob.name!r} is already declared by method {owner!r}; "
                                    "list it in uses_knobs to read it")
            if knob.choices is not None and knob.integer:
                raise RegistryError(f"{where}: knob {knob.name!r} is both a choice and an integer; declare one kind")
            try:
                knob.check(knob.default)
            except ConfigError as exc:
                raise RegistryError(f"{where}: the default of knob {knob.name!r} is invalid: {exc}") from None
        own = {k.name for k in method.knobs}
        for name in method.uses_knobs:
            if name not in self._knobs and name not in own:
                raise RegistryError(f"{where}: uses knob {name!r}, which no registered method declares; "
                                    "register the owning method first")
        if isinstance(method.hook_order, bool) or not isinstance(method.hook_order, int):
            raise RegistryError(f"{where}: hook_order must be an integer, got {method.hook_order!r}")
        for part in ("count", "inject"):
            if not callable(getattr(method, part)):
                raise RegistryError(f"{where}: {part} must be callable, got {getattr(method, part)!r}")
        for part in ("peft", "adapters"):
            if not isinstance(getattr(method, part), ExportRule):
                raise RegistryError(f"{where}: {part} must be an ExportRule (use refused(...) when the format cannot express it)")
        self._methods[method.name] = method
        for f in method.fields:
            self._fields[f.name] = (f, method)
        for knob in method.knobs:
            self._knobs[knob.name] = (knob, method)
        return method

    def seal(self, by: str) -> None:
        """Refuse further registrations (``by`` names what was built from the registry)."""
        self._sealed_by = by

    # ------------------------------------------------------------------ queries
    def __iter__(self) -> Iterator[PeftMethod]:
        return iter(self.methods())

    def __contains__(self, name: object) -> bool:
        return name in self._methods

    def methods(self) -> tuple[PeftMethod, ...]:
        """Every method in registration order."""
        return tuple(self._methods.values())

    def in_hook_order(self) -> tuple[PeftMethod, ...]:
        """Every method in the order :func:`autopeft.apply` injects them (ties: registration order)."""
        return tuple(sorted(self._methods.values(), key=lambda m: m.hook_order))

    def get(self, name: str) -> PeftMethod:
        try:
            return self._methods[name]
        except KeyError:
            raise KeyError(f"no PEFT method {name!r}; registered: {list(self._methods)}") from None

    def fields(self) -> tuple[LayerField, ...]:
        """Every per-layer field in registration order."""
        return tuple(f for f, _ in self._fields.values())

    def field_names(self) -> tuple[str, ...]:
        return tuple(self._fields)

    def method_of_field(self, name: str) -> PeftMethod:
        return self._fields[name][1]

    def field(self, name: str) -> LayerField:
        return self._fields[name][0]

    def knobs(self) -> tuple[Knob, ...]:
        """Every global knob in registration order."""
        return tuple(k for k, _ in self._knobs.values())

    def knob(self, name: str) -> Knob:
        return self._knobs[name][0]

    def method_of_knob(self, name: str) -> PeftMethod:
        return self._knobs[name][1]

    def global_defaults(self) -> dict[str, Any]:
        return {k.name: k.default for k in self.knobs()}

    def space_fields(self) -> tuple[str, ...]:
        """The layer fields a search space may name (``serial_adapter``, ``lora.query``, ``ia3``...)."""
        return tuple(name for f in self.fields() for name in f.space_fields())

    def resolve_space_field(self, name: str) -> tuple[LayerField, str | None]:
        """``(field, projection)`` of a space field name (``lora.query`` -> (lora, "query"))."""
        base, _, projection = name.partition(".")
        return self.field(base), (projection or None)

    def heatmap_columns(self) -> tuple[tuple[str, str, str | None], ...]:
        return tuple(column for f in self.fields() for column in f.columns())

    def used(self, config: Any) -> dict[str, list[int]]:
        """Method name -> the layers of ``config`` that use it (methods present only), registration order."""
        found = {m.name: m.layers_using(config) for m in self.methods()}
        return {name: layers for name, layers in found.items() if layers}

    def export_problems(self, config: Any, info: Any, used: dict[str, list[int]], rule: str, lacks: str) -> list[str]:
        """Every reason the export ``rule`` (``"peft"`` or ``"adapters"``) cannot express the
        ``used`` methods of ``config``: each method's own problems, or "``lacks`` <title>" (e.g.
        ``"peft has no"``) for a method whose rule has no builder."""
        out = []
        for name, layers in used.items():
            method = self.get(name)
            export = getattr(method, rule)
            found = export.problems(config, info, layers)
            if not found and export.build is None:
                found = [f"{name} in layers {layers}: {lacks} {method.title}"]
            out.extend(found)
        return out


def _check_name(where: str, what: str, name: Any) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name != name.lower():
        raise RegistryError(f"{where}: {what} {name!r} must be a lower-case Python identifier")
    if name.startswith("_") or name.endswith("_"):
        raise RegistryError(f"{where}: {what} {name!r} must not start or end with '_'")
    if what != "name" and name in RESERVED_NAMES:
        raise RegistryError(f"{where}: {what} {name!r} is reserved (a config key or attribute); rename it")


#: The registry of autopeft's methods (filled by ``autopeft/methods/__init__.py``).
REGISTRY = MethodRegistry()


def register_method(method: PeftMethod) -> PeftMethod:
    """Register ``method`` in :data:`REGISTRY` (raises :class:`RegistryError` on a taken name)."""
    return REGISTRY.register(method)


# ----------------------------------------------------------------------------- torch classes
class TorchClasses:
    """A method module's ``nn.Module`` classes, defined on first use.

    Method modules are imported by ``autopeft.config`` (their fields, counts and knobs are plain
    data), so they must not import torch when imported. Their torch classes are therefore made by
    a ``define()`` function (which imports torch) the first time an injector needs one. Each class
    is then given the module as ``__module__``, its own name as ``__qualname__``, and is stored in
    the module's namespace; the module's ``__getattr__ = classes.module_getattr`` (PEP 562) builds
    them on demand, so ``from autopeft.methods.lora import LoraBranch``, pickling and
    ``copy.deepcopy`` work as for classes written at top level.
    """

    def __init__(self, module: str, define: Callable[[], Mapping[str, type]], names: tuple[str, ...]):
        self._module = module
        self._define = define
        self.names = names
        self._classes: dict[str, type] | None = None

    def _built(self) -> dict[str, type]:
        if self._classes is None:
            classes = dict(self._define())
            if set(classes) != set(self.names):
                raise RegistryError(f"{self._module}: define() made {sorted(classes)}, but the module declares {sorted(self.names)}")
            namespace = vars(sys.modules[self._module])
            for name, cls in classes.items():
                cls.__module__ = self._module
                cls.__qualname__ = name
                namespace[name] = cls
            self._classes = classes
        return self._classes

    def __getattr__(self, name: str) -> type:
        if name.startswith("_") or name == "names":  # not set yet (e.g. while copying): no class
            raise AttributeError(name)
        if name not in self.names:
            raise AttributeError(f"{self._module} defines no torch class {name!r}; it defines {list(self.names)}")
        return self._built()[name]

    def module_getattr(self, name: str) -> type:
        """For a method module's ``__getattr__``: its torch classes, built on first access (other
        names raise ``AttributeError`` without importing torch)."""
        if name not in self.names:
            raise AttributeError(f"module {self._module!r} has no attribute {name!r}")
        return self._built()[name]
