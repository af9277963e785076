"""Benchmark the layer columns: a 5-layer run (0.1, 0.3, 0.5, 0.7, 0.9) against a 1-layer run (0.9) of the same data.

Each run is a fresh subprocess (its peak resident memory, VmHWM, is its own) scoring the same traces with the same
model and a fresh trace cache. The sweep extracts the five layers in the one forward pass and fits one clusterer
per layer; the lean cache keeps only each layer's step vectors, so the cache and the memory should grow by far
less than 5x. Checks, before any number is printed: the sweep's unsuffixed metrics (its first layer, 0.9) equal the
1-layer run's, and every row has the ``@0.1`` .. ``@0.7`` metrics.

    python benchmarks/bench_layers.py                      # 6 problems x 3 groups with the default model
    python benchmarks/bench_layers.py --model tiny-random  # a quick smoke run

Prints, per run: seconds of model loading, of extraction, of clustering fits and of pass 2, the whole
score_dataset call, the subprocess's wall time, its peak RSS and the trace cache's size on disk; then the sweep
over the single run as ratios.
"""
from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

from harness import FIXTURE, first_problems, peak_rss_mib, run_child

SWEEP = (0.9, 0.1, 0.3, 0.5, 0.7)  # the first layer gives the unsuffixed metrics, as in the 1-layer run


def child(spec: dict) -> None:
    """One scoring run (in a fresh process): print its timing, peak RSS and cache size as one JSON line."""
    from reasongraph.runs.scoring.score import score_dataset

    t0 = time.perf_counter()
    score_dataset(spec["input"], out=spec["out"], model=spec["model"], layers=tuple(spec["layers"]),
                  prompt_field="problem", group_field="model_type", pair_field="pair_key", k=spec["k"],
                  truncate=True, progress=False)
    score_s = time.perf_counter() - t0
    timing = json.loads((Path(spec["out"]) / "summary.json").read_text())["timing"]
    cache = sum(f.stat().st_size for f in (Path(spec["out"]) / "traces").rglob("*") if f.is_file())
    print(json.dumps({"score_s": score_s, "load_s": timing["load_s"], "extract_s": timing["extract_s"],
                      "fit_s": timing["fit_s"],
                      "analyze_s": timing["analyze_s"], "tokens": timing["n_extracted_tokens"],
                      "peak_rss_mib": peak_rss_mib(), "cache_kib": cache / 1024}))


def check_rows(single: Path, sweep: Path) -> int:
    """The sweep's unsuffixed metrics equal the single run's, and each row has every other layer's metrics."""
    one = [json.loads(line) for line in (single / "rows.jsonl").read_text().splitlines()]
    many = [json.loads(line) for line in (sweep / "rows.jsonl").read_text().splitlines()]
    assert [r["id"] for r in one] == [r["id"] for r in many], "the runs scored other records"
    for a, b in zip(one, many):
        for key in ("n_nodes", "loop_exists", "loop_count", "n_revisits", "revisits_per_step", "erank_window"):
            same = a[key] == b[key] or (isinstance(a[key], float) and math.isnan(a[key]) and math.isnan(b[key]))
            assert same, f"{a['id']}: {key} is {a[key]} alone but {b[key]} in the sweep"
        missing = [f"loop_exists@{x}" for x in SWEEP[1:] if f"loop_exists@{x}" not in b]
        assert not missing, f"{b['id']} lacks {missing}"
    return len(one)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", type=Path, default=FIXTURE)
    p.add_argument("--problems", type=int, default=6, help="the first N problems of the input (x 3 groups)")
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="bench_layers-"))
    data = tmp / "in.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in first_problems(args.input, args.problems)), encoding="utf-8")
    runs = {}
    for name, layers in (("1 layer", SWEEP[:1]), ("5 layers", SWEEP)):
        spec = {"input": str(data), "out": str(tmp / name.replace(" ", "_")), "model": args.model, "layers": layers,
                "k": args.k}
        runs[name] = run_child(__file__, spec)
    n = check_rows(tmp / "1_layer", tmp / "5_layers")

    print(f"layer columns: {n} traces ({runs['1 layer']['tokens']:,} tokens), {args.model}, k = {args.k}; "
          "rows checked: the sweep's first layer equals the 1-layer run")
    columns = [("load_s", "load s"), ("extract_s", "extract s"), ("fit_s", "fit s"), ("analyze_s", "pass 2 s"),
               ("score_s", "score s"),
               ("wall_s", "wall s"), ("peak_rss_mib", "peak RSS MiB"), ("cache_kib", "cache KiB")]
    print(f"{'run':<12}" + "".join(f"{label:>14}" for _, label in columns))
    for name, r in runs.items():
        print(f"{name:<12}" + "".join(f"{r[key]:>14.1f}" for key, _ in columns))
    one, five = runs["1 layer"], runs["5 layers"]
    print(f"{'5 / 1':<12}" + "".join(f"{five[key] / one[key]:>13.2f}x" if one[key] else f"{'n/a':>14}"
                                     for key, _ in columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
