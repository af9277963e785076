"""Every reference to a reasongraph module or name, in the package, the tests, the docs, the examples and the
benchmarks, points at something that exists: a module moved or a name renamed leaves no stale path behind
(``reasongraph.dataset`` in a docstring, ``from reasongraph.train import X`` in a markdown code block).

Read statically, without importing anything: a dotted path resolves when its longest module prefix is a file of the
package and the rest names what that module defines at its top level (a def, a class, an assignment, an import or
an entry of its lazy name table), then an attribute of that class.
"""
from __future__ import annotations

import ast
import functools
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reasongraph"
#: Where references are looked for (git's list of tracked files under these).
WHERE = ("reasongraph", "tests", "benchmarks", "examples", "docs", "fixtures", "tools", "README.md", "Makefile",
         "pyproject.toml", ".ci")
SUFFIXES = {".py", ".md", ".toml", ".txt", ""}
#: Format names written into files ("format": "reasongraph.run"), not module paths.
FORMATS = {"reasongraph.run", "reasongraph.view", "reasongraph.sweep", "reasongraph.adapter", "reasongraph.Test"}
DOTTED = re.compile(r"\breasongraph(?:\.[A-Za-z_]\w*)+")
FROM_IMPORT = re.compile(r"\bfrom\s+(reasongraph(?:\.\w+)*)\s+import\s+\(?\s*([\w ,]+)")


def _module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@functools.cache
def _top_level(path: Path) -> dict[str, ast.AST | None]:
    """The names ``path`` defines at its top level ({name: its ClassDef, or None}), lazy table entries included."""
    names: dict[str, ast.AST | None] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node if isinstance(node, ast.ClassDef) else None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0]: None for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names |= {n.id: None for n in ast.walk(t) if isinstance(n, ast.Name)}
            if any(getattr(t, "id", None) == "_EXPORTS" for t in targets):
                names |= dict.fromkeys(ast.literal_eval(node.value))
    return names


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        path = _module_file(".".join(parts[:i]))
        if path is None:
            continue
        rest = parts[i:]
        if not rest:
            return True
        names = _top_level(path)
        if rest[0].startswith("__"):  # a module's own attributes (__file__, __version__)
            return True
        if rest[0] not in names:
            return False
        cls = names[rest[0]]
        if len(rest) == 1 or cls is None:  # attributes of functions and values are not followed
            return True
        return rest[1] in _members(cls)
    return False


def _members(cls: ast.ClassDef) -> set[str]:
    """A class's methods, class-level names (dataclass fields) and the ``self.x`` its methods assign."""
    out = set()
    for node in ast.walk(cls):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
    return out


def _files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", *WHERE], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode:
        pytest.skip(f"git cannot list the tracked files: {listed.stderr.strip()}")
    own = Path(__file__).resolve()  # this file's stale examples are on purpose
    return [ROOT / f for f in listed.stdout.split()
            if Path(f).suffix in SUFFIXES and (ROOT / f).is_file() and (ROOT / f).resolve() != own]


def test_every_reference_to_a_module_or_name_resolves():
    bad = []
    for path in _files():
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            refs = {m.group(0).removesuffix(".py") for m in DOTTED.finditer(line)}
            for m in FROM_IMPORT.finditer(line):
                refs |= {f"{m.group(1)}.{name.split()[0]}" for name in m.group(2).split(",") if name.strip()}
            bad += [f"{path.relative_to(ROOT)}:{n}: {ref}" for ref in sorted(refs - FORMATS) if not _resolves(ref)]
    assert not bad, "references to modules or names that do not exist:\n" + "\n".join(bad)


def test_a_stale_reference_is_caught():
    """The control: old flat paths of before the redesign, and a missing name of a real module, do not resolve."""
    for stale in ("reasongraph.dataset", "reasongraph.records.RecordReader", "reasongraph.stats.nothing_here",
                  "reasongraph.trace.extraction.encode.no_such_function"):
        assert not _resolves(stale), stale
    for fine in ("reasongraph.score_dataset", "reasongraph.runs.records.reader.RecordReader",
                 "reasongraph.train.locus", "reasongraph.analysis.result.Analysis.to_html"):
        assert _resolves(fine), fine
