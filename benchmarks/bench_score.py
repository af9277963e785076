"""Benchmark `score_dataset` end to end: records/s, tokens/s and where the time goes.

Default: the 41 thought-anchors traces in ../shared/traces with the default model (SmolLM2-135M) on CPU, with
``truncate=True`` so traces longer than the model's 8192-token context are scored on what fits (without it they
would be counted as errors). Run by hand::

    python benchmarks/bench_score.py                      # all 41 traces (tens of minutes on a 2-core CPU)
    python benchmarks/bench_score.py --limit 4 --json     # a quick smoke run
    python benchmarks/bench_score.py --engine ray --workers 2 --limit 6   # the Ray engine against the local one

Prints a table with the seconds spent extracting (forward passes), fitting the clustering, computing the
metrics (labels, graph, signals, alignment) and in cache and file I/O, plus records/s and tokens/s overall and for
the extraction alone, and the peak resident memory of the process.

``--engine ray`` runs the local engine first, then the Ray engine on a local Ray instance (started before the
clock runs; its start-up time is printed apart) over the same records, each into a fresh run folder and cache, and
prints both tables, whether their rows are identical, and the Ray engine's overhead: its end-to-end seconds over
the local engine's with the model load included (Ray workers load the model inside the run).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_INPUT = Path(__file__).resolve().parents[2] / "shared" / "traces" / "thought_anchors_math_r1distill.jsonl"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    p.add_argument("--model", default="smollm2-135m", help="model spec, or tiny-random for a smoke test")
    p.add_argument("--device", default="cpu")
    p.add_argument("--limit", type=int, default=None, help="only the first N records")
    p.add_argument("--k", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--no-truncate", action="store_true", help="count too-long traces as errors instead")
    p.add_argument("--out", type=Path, default=None,
                   help="where the run folders local/ (and ray/) go (default: a fresh temporary folder)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON too")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="ray: the local engine, then the Ray engine on the same records, compared")
    p.add_argument("--workers", type=int, default=2, help="Ray extraction workers (with --engine ray)")
    args = p.parse_args(argv)
    if not args.input.is_file():
        print(f"bench_score: {args.input} is absent (the shared traces live beside the checkout)", file=sys.stderr)
        return 2

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_score-"))
    local = run_once(args, out / "local", engine="local")
    print(table(local))
    results = {"local": local}
    if args.engine == "ray":
        results["ray"] = ray_ = run_once(args, out / "ray", engine="ray")
        print()
        print(table(ray_))
        print()
        print(compare(local, ray_))
    if args.json:
        print(json.dumps(results if args.engine == "ray" else local, indent=1))
    return 0 if all(r["rows"] or r["records"] == 0 for r in results.values()) else 1


def run_once(args: argparse.Namespace, out: Path, *, engine: str) -> dict:
    """One score_dataset run into a fresh folder (its cache inside); the numbers of the table."""
    import torch

    from reasongraph.runs.scoring.score import score_dataset

    ray_start_s = None
    t0 = time.perf_counter()
    if engine == "ray":  # the workers load the model, inside the run; here a local Ray instance starts
        import ray

        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level=logging.WARNING,
                 log_to_driver=False)
        ray_start_s, load_s = time.perf_counter() - t0, 0.0
        model, name = args.model, args.model
        extra = dict(engine="ray", workers=args.workers)
    else:
        model = _load(args)
        load_s, name, extra = time.perf_counter() - t0, model.name, {}
    t0 = time.perf_counter()
    try:
        score_dataset(args.input, model=model, prompt_field="problem", group_field="model", out=out,
                      k=args.k, batch_size=args.batch_size, truncate=not args.no_truncate, limit=args.limit,
                      **extra)
    finally:
        if engine == "ray":
            ray.shutdown()
    total_s = time.perf_counter() - t0
    summary = json.loads((out / "summary.json").read_text())
    t = summary["timing"]
    units = {name: u for name, u in summary["fit"]["units"].items() if "@" not in name}  # first layer's units
    io_s = total_s - t["extract_s"] - t["fit_s"] - t["analyze_s"]
    return {
        "engine": engine, "workers": t["workers"], "model": name, "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "records": summary["n_records"], "rows": summary["n_rows"], "errors": summary["n_errors"],
        "tokens": t["n_extracted_tokens"], "steps": sum(u["n_steps"] for u in units.values()),
        "k": "/".join(str(u["k"]) for u in units.values()),
        "model_load_s": load_s, "ray_start_s": ray_start_s, "total_s": total_s, "extract_s": t["extract_s"],
        "fit_s": t["fit_s"], "analyze_s": t["analyze_s"], "io_s": io_s,
        "records_per_s": summary["n_records"] / total_s, "tokens_per_s": t["n_extracted_tokens"] / total_s,
        "extract_tokens_per_s": t["n_extracted_tokens"] / t["extract_s"] if t["extract_s"] else None,
        "analyze_records_per_s": t["n_analyzed"] / t["analyze_s"] if t["analyze_s"] else None,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "run_dir": str(out), "rows_sha256": hashlib.sha256((out / "rows.jsonl").read_bytes()).hexdigest(),
    }


def _load(args: argparse.Namespace):
    if args.model.startswith("tiny-random"):
        from reasongraph.models.tiny import tiny_random_model

        return tiny_random_model(device=args.device)
    from reasongraph.models.sources import load_model

    return load_model(args.model, device=args.device)


def compare(local: dict, ray_: dict) -> str:
    """The Ray engine against the local one: end to end with the model load (Ray's workers load it inside the
    run), per stage, and whether the rows are the same."""
    base = local["total_s"] + local["model_load_s"]
    lines = [f"ray ({ray_['workers']} workers) vs local, model load included: {ray_['total_s']:.1f} s vs {base:.1f} s "
             f"= {ray_['total_s'] / base:.2f}x ({ray_['total_s'] - base:+.1f} s overhead); Ray start "
             f"{ray_['ray_start_s']:.1f} s (not in either)"]
    for label, key in (("extraction", "extract_s"), ("metrics", "analyze_s")):
        lines.append(f"  {label}: {ray_[key]:.1f} s vs {local[key]:.1f} s = {ray_[key] / max(local[key], 1e-9):.2f}x")
    lines.append("  rows identical to the local engine's: "
                 + ("yes" if ray_["rows_sha256"] == local["rows_sha256"] else "NO"))
    return "\n".join(lines)


def table(r: dict) -> str:
    lines = [f"score_dataset, {r['engine']} engine: {r['records']} records ({r['rows']} rows, {r['errors']} errors), "
             f"{r['tokens']} tokens, {r['steps']} steps, K={r['k']}; {r['model']} on {r['device']} ({r['torch_threads']} threads)",
             "", f"{'stage':<28}{'seconds':>10}{'share':>8}"]
    for label, key in (("extraction (forward passes)", "extract_s"), ("clustering fit", "fit_s"),
                       ("metrics (label+graph+signals)", "analyze_s"), ("cache and file I/O", "io_s")):
        lines.append(f"{label:<28}{r[key]:>10.1f}{100 * r[key] / r['total_s']:>7.1f}%")
    lines.append(f"{'total':<28}{r['total_s']:>10.1f}")
    lines += ["", f"end to end: {r['records_per_s']:.3f} records/s, {r['tokens_per_s']:.0f} tokens/s; extraction alone "
              f"{r['extract_tokens_per_s'] or 0:.0f} tokens/s; metrics {r['analyze_records_per_s'] or 0:.2f} records/s",
              f"model load {r['model_load_s']:.1f} s (not in total); peak RSS {r['peak_rss_mib']:.0f} MiB (driver)"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
