"""The package's module tree with line counts, per folder and in total: the before/after record of the redesign.

    python tools/redesign/tree_counts.py                 # the working tree
    python tools/redesign/tree_counts.py redesign-base   # a git ref (read with git, nothing checked out)

Each folder line shows its modules and lines, subfolders included; then each module with its line count, and the
modules over the 350-line cap marked with "!".
"""
from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
CAP = 350


def _files(ref: str | None) -> dict[PurePosixPath, int]:
    """{path under reasongraph/: lines} of every .py file, in the working tree or at ``ref``."""
    if ref is None:
        return {PurePosixPath(p.relative_to(ROOT / "reasongraph").as_posix()):
                len(p.read_text(encoding="utf-8").splitlines()) for p in (ROOT / "reasongraph").rglob("*.py")
                if "__pycache__" not in p.parts}
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", ref, "reasongraph/"],
                           capture_output=True, text=True, check=True).stdout.split()
    out = {}
    for name in names:
        if name.endswith(".py"):
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{name}"], capture_output=True,
                                  text=True, check=True).stdout
            out[PurePosixPath(name).relative_to("reasongraph")] = len(text.splitlines())
    return out


def tree(files: dict[PurePosixPath, int]) -> list[str]:
    """The indented listing: folders first-come in path order, each with its totals."""
    totals: dict[PurePosixPath, list[int]] = defaultdict(lambda: [0, 0])
    for path, n in files.items():
        for folder in [*path.parents]:
            totals[folder][0] += 1
            totals[folder][1] += n
    lines, shown = [], set()
    for path in sorted(files, key=lambda p: (p.parent.parts, p.name)):
        for folder in reversed(path.parents[:-1]):
            if folder not in shown:
                shown.add(folder)
                m, n = totals[folder]
                lines.append(f"{'  ' * len(folder.parts)}{folder.name}/  ({m} modules, {n} lines)")
        n = files[path]
        lines.append(f"{'  ' * len(path.parts)}{path.name:<28} {n:5d}{'  !' if n > CAP else ''}")
    m, n = totals[PurePosixPath(".")]
    over = sum(v > CAP for v in files.values())
    return [f"reasongraph/  ({m} modules, {n} lines, {over} over {CAP})", *lines]


if __name__ == "__main__":
    print("\n".join(tree(_files(sys.argv[1] if len(sys.argv) > 1 else None))))
