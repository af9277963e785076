"""What the benchmark scripts share: one measurement in a fresh Python process, and the fixture's first problems.

A measurement runs in a fresh process so that its peak resident memory (VmHWM) is its own: a benchmark script
calls itself with ``--child JSON``; the child does the work and prints its numbers as the last line of stdout, one
JSON object, which :func:`run_child` returns with the child's wall time added.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "fixtures" / "skythought_math500_24x3.jsonl"


def first_problems(path: Path, n: int) -> list[dict]:
    """The records of the first ``n`` problems (``pair_key`` values) of a JSONL file, every group's."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    keys = set(list(dict.fromkeys(r["pair_key"] for r in records))[:n])
    return [r for r in records if r["pair_key"] in keys]


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM), MiB; ru_maxrss where /proc is absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> float:
    """Start a new peak: VmHWM is set back to the current resident set (Linux, /proc/self/clear_refs); the
    current resident set, MiB. Lets a child measure the peak of one stage after a larger one (loading a model)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib()


def run_child(script: str, spec: dict) -> dict:
    """Run ``script --child JSON(spec)`` in a fresh process; its last stdout line (JSON) plus ``wall_s``."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, script, "--child", json.dumps(spec)], cwd=REPO, capture_output=True,
                          text=True, check=False)
    wall_s = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{Path(script).name}: the run {spec.get('out', spec)} failed:\n{proc.stderr[-3000:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "wall_s": wall_s}
