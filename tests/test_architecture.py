"""The shape of the package stays one-way: no import cycle, and no module imports from a layer above its own.

Read from the modules' own import statements (function-level imports included, which is where heavy and optional
imports live), so the test fails the moment a new import bends the architecture. docs/architecture.md describes
the same layers in prose.
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reasongraph"

#: From the bottom up; a module may import from its own layer and the ones below. "pkg.*" covers a package.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "storage", "display", "validate", "catalogue", "progress", "npzfile", "locate.store"),
    ("segment", "trace", "signals", "erank", "spectral", "hidden_stats", "markers", "topology", "graph",
     "concentration", "onset_relative", "align", "stats", "diversity", "spread", "control_range", "sampling",
     "entropy_dynamics", "law_forecast", "locate", "locate.similarity", "locate.depth", "locate.patching",
     "locate.temperature", "locate.where", "locate.result"),
    ("adapters", "models", "vocab_entropy", "extraction", "prefix_sharing", "row_sampler", "cluster.*",
     "trainer_layouts", "locate.capture", "locate.head", "locate.passes", "locate.pair"),
    ("analysis", "records", "trace_cache", "summary", "pooled", "compare", "collapse_pairs", "collapse", "parquet"),
    ("html.*",),
    ("runs", "runstore", "scoring.*", "dataset", "sampled_traces", "generate"),
    ("run_report", "testing", "integrations.*", "sweep", "probe", "locate.inputs", "locate.run"),
    ("commands.*", "cli", "__main__"),
)

#: The one arrow allowed upwards: Analysis.to_html / _repr_html_, the convenience edge from a result to its view.
ALLOWED_UPWARD = {("analysis", "html")}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts) or "__init__"


def _layer(module: str) -> int:
    for i, names in enumerate(LAYERS):
        for name in names:
            if module == name or (name.endswith(".*") and (module == name[:-2] or module.startswith(name[:-1]))):
                return i
    raise AssertionError(f"reasongraph.{module} is in no layer of tests/test_architecture.py: place it there "
                         "and in docs/architecture.md")


def _imports(path: Path, module: str) -> set[str]:
    """The reasongraph modules ``path`` imports (relative imports resolved)."""
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
                submodules = {f"{name}.{a.name}" for a in node.names}  # "from reasongraph.cluster import io"
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
    return frozenset(_module_name(p) for p in PACKAGE.rglob("*.py"))


@functools.cache
def _graph() -> nx.DiGraph:
    """The import graph of the package, read once per test session (tests only read it)."""
    g = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        g.add_node(module)
        for target in _imports(path, module):
            if target != "__init__":  # the lazy top-level namespace, imported for its names only
                g.add_edge(module, target)
    return g


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
        allowed = any(a.split(".")[0] == x and b.split(".")[0] == y for x, y in ALLOWED_UPWARD)
        if lb > la and not allowed:
            bad.append(f"{a} (layer {la}) imports {b} (layer {lb})")
    assert not bad, "\n".join(bad)


def test_presentation_never_reads_a_run_folder():
    for a, b in _graph().edges:
        if a.startswith("html"):
            assert b.split(".")[0] not in ("runs", "runstore", "dataset", "scoring", "trace_cache"), (a, b)


@pytest.mark.parametrize("module", ["reasongraph", "reasongraph.cli"])
def test_light_imports_stay_light(module):
    """`import reasongraph` and building the CLI parser import neither torch, transformers nor sklearn."""
    import subprocess
    import sys

    code = (f"import sys, {module}; "
            f"{'reasongraph.cli.build_parser(); ' if module.endswith('cli') else ''}"
            "heavy = [m for m in ('torch', 'transformers', 'sklearn', 'scipy', 'umap', 'hdbscan') if m in sys.modules];"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
