"""Benchmark `score_dataset` end to end: records/s, tokens/s and where the time goes.

Default: the 41 thought-anchors traces in ../shared/traces with the default model (SmolLM2-135M) on CPU, with
``truncate=True`` so traces longer than the model's 8192-token context are scored on what fits (without it they
would be counted as errors). Run by hand::

    python benchmarks/bench_score.py                      # all 41 traces (tens of minutes on a 2-core CPU)
    python benchmarks/bench_score.py --limit 4 --json     # a quick smoke run

Prints a table with the seconds spent extracting (forward passes), fitting the clustering, computing the
metrics (labels, graph, signals, alignment) and in cache and file I/O, plus records/s and tokens/s overall and for
the extraction alone, and the peak resident memory of the process.
"""
from __future__ import annotations

import argparse
import json
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
    p.add_argument("--out", type=Path, default=None, help="run folder (default: a fresh temporary folder)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON too")
    args = p.parse_args(argv)
    if not args.input.is_file():
        print(f"bench_score: {args.input} is absent (the shared traces live beside the checkout)", file=sys.stderr)
        return 2

    import torch

    from reasongraph.dataset import score_dataset

    t0 = time.perf_counter()
    if args.model.startswith("tiny-random"):
        from reasongraph.models import tiny_random_model

        model = tiny_random_model(device=args.device)
    else:
        from reasongraph.models import load_model

        model = load_model(args.model, device=args.device)
    load_s = time.perf_counter() - t0
    out = args.out or Path(tempfile.mkdtemp(prefix="bench_score-")) / "run"
    t0 = time.perf_counter()
    rows = score_dataset(args.input, model=model, prompt_field="problem", group_field="model", out=out, k=args.k,
                         batch_size=args.batch_size, truncate=not args.no_truncate, limit=args.limit)
    total_s = time.perf_counter() - t0
    summary = json.loads((out / "summary.json").read_text())
    t = summary["timing"]
    io_s = total_s - t["extract_s"] - t["fit_s"] - t["analyze_s"]
    result = {
        "model": model.name, "device": str(model.device), "torch_threads": torch.get_num_threads(),
        "records": summary["n_records"], "rows": summary["n_rows"], "errors": summary["n_errors"],
        "tokens": t["n_extracted_tokens"], "steps": summary["fit"]["n_steps"], "k": summary["fit"]["k"],
        "model_load_s": load_s, "total_s": total_s, "extract_s": t["extract_s"], "fit_s": t["fit_s"],
        "analyze_s": t["analyze_s"], "io_s": io_s,
        "records_per_s": summary["n_records"] / total_s, "tokens_per_s": t["n_extracted_tokens"] / total_s,
        "extract_tokens_per_s": t["n_extracted_tokens"] / t["extract_s"] if t["extract_s"] else None,
        "analyze_records_per_s": t["n_analyzed"] / t["analyze_s"] if t["analyze_s"] else None,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "run_dir": str(out),
    }
    print(table(result))
    if args.json:
        print(json.dumps(result, indent=1))
    return 0 if rows or summary["n_records"] == 0 else 1


def table(r: dict) -> str:
    lines = [f"score_dataset: {r['records']} records ({r['rows']} rows, {r['errors']} errors), {r['tokens']} tokens, "
             f"{r['steps']} steps, K={r['k']}; {r['model']} on {r['device']} ({r['torch_threads']} threads)",
             "", f"{'stage':<28}{'seconds':>10}{'share':>8}"]
    for label, key in (("extraction (forward passes)", "extract_s"), ("clustering fit", "fit_s"),
                       ("metrics (label+graph+signals)", "analyze_s"), ("cache and file I/O", "io_s")):
        lines.append(f"{label:<28}{r[key]:>10.1f}{100 * r[key] / r['total_s']:>7.1f}%")
    lines.append(f"{'total':<28}{r['total_s']:>10.1f}")
    lines += ["", f"end to end: {r['records_per_s']:.3f} records/s, {r['tokens_per_s']:.0f} tokens/s; extraction alone "
              f"{r['extract_tokens_per_s'] or 0:.0f} tokens/s; metrics {r['analyze_records_per_s'] or 0:.2f} records/s",
              f"model load {r['model_load_s']:.1f} s (not in total); peak RSS {r['peak_rss_mib']:.0f} MiB"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
