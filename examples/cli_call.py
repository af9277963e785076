"""The examples' way to run the public command line: ``reasongraph ARGS`` in a child process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def reasongraph_cli(*args: str) -> str:
    """Run ``reasongraph ARGS`` with this interpreter and this process's reasongraph; return its stdout, or exit
    with its stderr when it fails."""
    import reasongraph

    where = str(Path(reasongraph.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [where, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "reasongraph", *args], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"reasongraph {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout
