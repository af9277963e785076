"""Generate and score in one pass (generate --score) against generate, then score teacher-forced.

    python benchmarks/bench_onepass.py [--problems 10] [--samples 8] [--batch-size 80] [--max-new-tokens 64]
                                       [--memory-tokens 160] [--repeats 2] [--threads 1] [--out out/bench_onepass]

Both methods sample ``--samples`` samples of each of the fixture's first ``--problems`` MATH500 problems with
the temperature example's instruction (chat format, T = 1, calls of ``--batch-size`` rows: the example's 80), then
score them as the example does (one run, layer 0.9, K = 200):

generate, then score : ``generate`` records the entropy only; ``score`` teacher-forces every sample again.
fused                : ``generate(score=True)`` also records log-probs and layer 0.9's hidden states and writes each
                       sample's trace-cache entry; ``score`` reads them (a sample whose text does not re-tokenize to
                       its ids is teacher-forced).

Each method runs in a fresh process (so its peak resident memory is its own; ``harness.run_child``),
``--repeats`` times, alternately, the order reversed every repeat; the table gives medians. Both draw the same
samples (a sample depends only on the seed, the prompt and its index). The table
gives the wall seconds of each stage (``extract s``: score's forward passes, within ``score s``), the ratio fused
/ baseline of the total in wall and in CPU seconds (steadier on a shared machine), and the peak resident memory of
sampling above the loaded model: the difference is what recording the hidden states costs (limit: +300 MiB at the
example's 80 rows on SmolLM2). ``--memory-tokens N`` (0: off) samples once more with each method, up to N tokens
(the example's 160), without scoring, for the peak memory alone. Children run with glibc's
``MALLOC_MMAP_THRESHOLD_=131072`` (large blocks are mapped and unmapped, not kept in the heap): without it the same
sampling run's peak moved by up to 400 MiB from one run to the next.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from harness import FIXTURE, REPO, first_problems, peak_rss_mib, reset_peak_rss, run_child

INSTRUCTION = "Solve the problem. Think step by step, one step per line.\n\nProblem: "


def child(spec: dict) -> dict:
    import torch

    import reasongraph as rg

    torch.set_num_threads(spec["threads"])
    out = Path(spec["out"])
    lm = rg.load_model(spec["model"], device="cpu", dtype="float32")
    loaded = reset_peak_rss()  # the peak of loading (de-quantizing) the model is not sampling's
    t0, c0 = time.perf_counter(), time.process_time()
    cache = out / "traces"
    records = rg.generate(spec["prompts"], model=lm, out=out / "samples.jsonl", samples=spec["samples"],
                          temperature=1.0, max_new_tokens=spec["max_new_tokens"], prompt_format="chat",
                          batch_size=spec["batch_size"], score=spec["fused"], cache_dir=cache, progress=False)
    sampled, c1 = time.perf_counter(), time.process_time()
    peak_sampling = peak_rss_mib()
    if spec.get("sample_only"):
        return {"peak_loaded_mib": loaded, "peak_sampling_mib": peak_sampling, "generate_s": sampled - t0}
    summary_path = out / "run" / "summary.json"
    rg.score_dataset(out / "samples.jsonl", out=out / "run", model=lm, prompt_field="prompt", prompt_format="chat",
                     sample_group_field="prompt_id", temperature_field="temperature", policy_field="model",
                     cache_dir=cache, progress=False)
    done, c2 = time.perf_counter(), time.process_time()
    summary = json.loads(summary_path.read_text())
    return {"generate_s": sampled - t0, "score_s": done - sampled, "generate_cpu_s": c1 - c0, "score_cpu_s": c2 - c1,
            "peak_loaded_mib": loaded,
            "peak_sampling_mib": peak_sampling, "peak_mib": peak_rss_mib(), "n": len(records),
            "tokens": sum(r["n_tokens"] for r in records), "extracted": summary["timing"]["n_extracted"],
            "extract_s": summary["timing"]["extract_s"], "recorded": sum(bool(r.get("recorded")) for r in records)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--problems", type=int, default=10)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=80)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--memory-tokens", type=int, default=160)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(REPO / "out" / "bench_onepass"))
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    problems = list(dict.fromkeys(r["problem"] for r in first_problems(FIXTURE, args.problems)))
    prompts = out / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": str(i), "prompt": INSTRUCTION + p}) + "\n"
                               for i, p in enumerate(problems)))
    spec = {"model": args.model, "prompts": str(prompts), "samples": args.samples, "batch_size": args.batch_size,
            "max_new_tokens": args.max_new_tokens, "threads": args.threads}
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", "131072")  # the children's peak memory, without heap noise
    methods = (("generate, then score", False), ("fused", True))
    runs: dict[str, list[dict]] = {name: [] for name, _ in methods}
    for r in range(args.repeats):  # alternately, the order reversed every repeat: a busy machine hits both alike
        for name, fused in (methods if r % 2 == 0 else methods[::-1]):
            runs[name].append(run_child(__file__, {**spec, "fused": fused,
                                                   "out": str(out / f"{name.replace(', ', '_')}_{r}")}))
    results = {name: {key: type(found[0][key])(statistics.median(x[key] for x in found)) for key in found[0]}
               for name, found in runs.items()}
    memory = {name: run_child(__file__, {**spec, "fused": fused, "max_new_tokens": args.memory_tokens,
                                         "sample_only": True, "out": str(out / f"memory_{int(fused)}")})
              for name, fused in methods} if args.memory_tokens else {}

    base, fused = results["generate, then score"], results["fused"]
    print(f"{args.model} on cpu, {args.threads} thread(s), median of {args.repeats}; {base['n']} samples "
          f"({len(problems)} problems x {args.samples}), <= {args.max_new_tokens} new tokens, calls of {args.batch_size} rows; {base['tokens']} "
          f"sampled tokens; fused recorded {fused['recorded']} of {fused['n']} traces (the rest re-tokenize "
          f"otherwise and are teacher-forced)")
    print(f"{'method':<22}{'generate s':>11}{'score s':>9}{'extract s':>10}{'total s':>9}{'ratio':>8}"
          f"{'total cpu s':>12}{'ratio':>8}{'sampling peak MiB':>19}")
    total = base["generate_s"] + base["score_s"]
    total_cpu = base["generate_cpu_s"] + base["score_cpu_s"]
    for name, r in results.items():
        t, c = r["generate_s"] + r["score_s"], r["generate_cpu_s"] + r["score_cpu_s"]
        print(f"{name:<22}{r['generate_s']:>11.1f}{r['score_s']:>9.1f}{r['extract_s']:>10.1f}{t:>9.1f}"
              f"{t / total:>7.2f}x{c:>12.1f}{c / total_cpu:>7.2f}x{r['peak_sampling_mib']:>19.0f}")
    print(f"ratio: the method's total over generate-then-score. Recording for scoring while sampling: "
          f"{fused['generate_cpu_s'] / base['generate_cpu_s']:.2f}x the sampling CPU time")
    for tokens, runs in ((args.max_new_tokens, results), (args.memory_tokens, memory)):
        if runs:
            grow = {name: r["peak_sampling_mib"] - r["peak_loaded_mib"] for name, r in runs.items()}
            print(f"peak memory of sampling {args.batch_size} rows of <= {tokens} tokens, above the loaded model: "
                  f"{grow['generate, then score']:.0f} MiB without recording, {grow['fused']:.0f} MiB with it: "
                  f"{grow['fused'] - grow['generate, then score']:+.0f} MiB (limit +300 MiB)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
