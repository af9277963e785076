"""Benchmark `score_dataset` of this tree against an earlier commit's, on the same records in the same run.

Why: a refactoring (the folders by layer, the Engine protocol) must not make scoring slower, and these machines
are too noisy for numbers from different runs to compare. The earlier commit's package is taken with
``git archive REV reasongraph`` into a temporary folder; each measurement is a fresh process (PYTHONPATH picks the
package), the two versions alternate, and the table gives median wall and CPU seconds and their ratios. The tiny
random model keeps the forward passes cheap, so the Python around them (what a refactoring changes) dominates::

    python benchmarks/bench_versions.py --base redesign-base          # 3 rounds, the 72 fixture traces
    python benchmarks/bench_versions.py --base HEAD~5 --rounds 5 --model smollm2-135m
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import FIXTURE, REPO

CHILD = r"""
import logging, sys, tempfile, time
logging.disable(logging.CRITICAL)
import reasongraph as rg
t0, c0 = time.perf_counter(), time.process_time()
rows = rg.score_dataset(sys.argv[1], out=tempfile.mkdtemp() + "/run", model=sys.argv[2], prompt_field="problem",
                        group_field="model_type", pair_field="pair_key", k=int(sys.argv[3]), truncate=True,
                        progress=False)
print(time.perf_counter() - t0, time.process_time() - c0, len(rows))
"""


def measure(package_root: Path, args: argparse.Namespace) -> tuple[float, float, int]:
    """(wall s, CPU s, rows) of one scoring run with the package under ``package_root``, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(package_root), "OMP_NUM_THREADS": str(args.threads)}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(args.input), args.model, str(args.k)], env=env,
                          cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"the run with {package_root} failed:\n{proc.stderr[-3000:]}")
    wall, cpu, rows = proc.stdout.split()[-3:]
    return float(wall), float(cpu), int(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="the earlier commit (any git revision)")
    p.add_argument("--input", type=Path, default=FIXTURE, help="records to score (default: the shipped fixture)")
    p.add_argument("--model", default="tiny-random", help="model spec (default: tiny-random)")
    p.add_argument("--k", type=int, default=20, help="K, pinned so both versions fit the same clustering (default 20)")
    p.add_argument("--rounds", type=int, default=3, help="measurements of each version, alternating (default 3)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of every run (default 1)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.base, "reasongraph"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        runs: dict[str, list[tuple[float, float, int]]] = {args.base: [], "this tree": []}
        for _ in range(args.rounds):
            runs[args.base].append(measure(Path(old), args))
            runs["this tree"].append(measure(REPO, args))
    medians = {name: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
               for name, v in runs.items()}
    print(f"score_dataset, {args.input.name}, {args.model}, K = {args.k}, {args.rounds} rounds, "
          f"{args.threads} thread(s)")
    print(f"{'version':<16} {'rows':>5} {'wall s':>8} {'CPU s':>8}")
    for name, v in runs.items():
        print(f"{name:<16} {v[0][2]:>5} {medians[name][0]:>8.2f} {medians[name][1]:>8.2f}")
    (bw, bc), (nw, nc) = medians[args.base], medians["this tree"]
    print(f"this tree / {args.base}: wall {nw / bw:.3f}, CPU {nc / bc:.3f}")


if __name__ == "__main__":
    main()
