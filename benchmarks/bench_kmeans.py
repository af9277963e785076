"""KMeans at dataset scale: the paper's exact call vs reasongraph's fast mode (K = 200, 576-d float32 steps).

Run by hand: ``python benchmarks/bench_kmeans.py`` (about 3-4 minutes on a 2-core CPU; ``--quick`` for a
smaller smoke run). It prints one table:

* on a sample (default 20k x 576): fit time of ``sklearn.cluster.KMeans(200, n_init=10, random_state=0)`` (what
  ``StepClusterer(algorithm="exact")`` runs) and of ``StepClusterer(algorithm="fast")``, the speed-up and the
  inertia ratio fast / exact (the goal: <= 1.01);
* the fast mode alone on the full size (default 100k x 576; the goal: <= 60 s on this 2-core CPU).

Both inertias are computed by the same float64 function from each fit's centers. The data imitate step vectors:
a Gaussian mixture of 300 components with Zipf-like weights whose means live in a 64-d subspace with a decaying
spectrum (plus a few large-magnitude dimensions, as LLM hidden states have), and per-step isotropic noise in all
576 dimensions. Timings on a shared machine are noisy: compare the ratios.

Measured on the project's 2-core CPU shared with other jobs (load 2-5), K = 200:

    20k x 576    sklearn KMeans n_init=10 (= exact)     100 s (load ~2) to 1074 s (load ~5)   1 (reference)
    20k x 576    StepClusterer fast                     14.4 s                                0.9736
    20k x 576      restarts on 5k rows (as on 100k)     7.2 s                                 0.9900
    100k x 576   StepClusterer fast                     21.6 s (goal <= 60 s)                 -

The exact reference dominates the run time (about 3 minutes in all on a quiet machine, much longer on a busy
one; ``--sample 10000`` halves it).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.cluster import KMeans

from reasongraph.graph.cluster.estimator import StepClusterer
from reasongraph.graph.cluster.kmeans import nearest


def make_steps(n: int, d: int = 576, n_components: int = 300, seed: int = 0) -> np.ndarray:
    """(n, d) float32 synthetic step vectors: a 300-component Gaussian mixture plus noise (see module doc)."""
    rng = np.random.default_rng(seed)
    rank = 64
    basis = np.linalg.qr(rng.standard_normal((d, rank)))[0]
    means = (rng.standard_normal((n_components, rank)) * (8.0 / np.sqrt(1 + np.arange(rank)))) @ basis.T
    means[:, :4] += rng.normal(0, 6, (n_components, 4))
    weights = 1.0 / (1 + np.arange(n_components)) ** 0.8
    component = rng.choice(n_components, size=n, p=weights / weights.sum())
    scale = rng.uniform(0.5, 1.5, n_components)[component, None] * 0.35
    X = means[component].astype(np.float32)
    X += rng.standard_normal((n, d), dtype=np.float32) * scale.astype(np.float32)
    return X


def inertia(X: np.ndarray, centers: np.ndarray) -> float:
    return float(nearest(X, centers)[1].sum())


def timed(fn):
    """fn's result, wall seconds and CPU seconds of this process (all threads)."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=20_000, help="rows for the exact-vs-fast comparison")
    ap.add_argument("--full", type=int, default=100_000, help="rows for the fast-mode timing (0 skips it)")
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--dim", type=int, default=576)
    ap.add_argument("--quick", action="store_true", help="smoke run: 4k sample, 20k full")
    args = ap.parse_args()
    if args.quick:
        args.sample, args.full = 4_000, 20_000

    X = make_steps(args.sample, args.dim, seed=1)
    quarter = args.sample // 4
    exact, *t_exact = timed(lambda: KMeans(args.k, n_init=10, random_state=0).fit(X))
    fast, *t_fast = timed(lambda: StepClusterer(k=args.k, algorithm="fast").fit(X))
    ref = inertia(X, exact.cluster_centers_)
    size = f"{args.sample // 1000}k x {args.dim}"
    rows = [(size, "sklearn KMeans n_init=10 (= exact)", *t_exact, "1 (reference)"),
            (size, "StepClusterer fast", *t_fast, f"{inertia(X, fast.cluster_centers_) / ref:.4f}")]
    if quarter >= 25 * args.k:  # restarts on a quarter of the rows, as on 100k (there with 100 rows per cluster)
        sub, *t_sub = timed(lambda: StepClusterer(k=args.k, algorithm="fast", sketch_size=quarter).fit(X))
        rows.append((size, f"  restarts on {quarter // 1000}k rows (as on 100k)", *t_sub,
                     f"{inertia(X, sub.cluster_centers_) / ref:.4f}"))
    if args.full:
        Y = make_steps(args.full, args.dim, seed=2)
        full, *t_full = timed(lambda: StepClusterer(k=args.k, algorithm="fast").fit(Y))
        rows.append((f"{args.full // 1000}k x {args.dim}", f"StepClusterer fast ({full.n_iter_} final Lloyd iter)",
                     *t_full, "-"))

    print(f"K = {args.k}, float32; fast is {t_exact[0] / t_fast[0]:.1f}x faster than exact on "
          f"{args.sample // 1000}k (wall; {t_exact[1] / t_fast[1]:.1f}x in CPU time)")
    print(f"{'data':<12} {'fit':<42} {'wall s':>7} {'cpu s':>7}  inertia / exact")
    for data, name, wall, cpu, ratio in rows:
        print(f"{data:<12} {name:<42} {wall:7.1f} {cpu:7.1f}  {ratio}")


if __name__ == "__main__":
    main()
