"""A PROXY of the seed question on real traces: one small model reads three other models' answers.

This is the second worked example; the first, examples/seed_question.py, is the faithful on-policy comparison
(each trace scored by the policy that sampled it).

Three models answered the same 24 MATH500 problems (fixtures/skythought_math500_24x3.jsonl, from NovaSky-AI's
SkyThought): a base model (Qwen2.5-Math-7B), a long-CoT model distilled from QwQ-style traces
(Sky-T1-math-correct-5K-27B) and an instruct model (Qwen2.5-14B-Instruct). This example scores all 72 traces
with the default model, SmolLM2-135M-Instruct, and compares base (A) against long-CoT (B): first the
level-collapse table (token-level and hidden-level measures as ratios B/A over the 24 problems), then every
metric as a paired difference, then an HTML report with the collapse figure first.

Read the result as a PROXY (the run says ``mode: proxy: all groups scored by SmolLM2-135M-Instruct``): the token
entropies are SmolLM2's surprise at text other models wrote, and the hidden states are SmolLM2's, not the
policies' own. The faithful comparison runs each group through the model that wrote it
(``model={"base": "Qwen/Qwen2.5-Math-7B", "longcot_sft": ...}``, or ``--model GROUP=SPEC`` on the command line),
which needs those models' weights and far more than a CPU.

Run it (10-12 minutes of CPU time, ~53k tokens through SmolLM2; 20-45 minutes wall on a busy 2-core machine;
rerun to resume after an interruption)::

    python examples/proxy_skythought.py              # or: make proxy-question
    python examples/proxy_skythought.py --b instruct # base vs instruct instead

The same with the command line::

    reasongraph score fixtures/skythought_math500_24x3.jsonl --out out/proxy_question/run --prompt-field problem \\
        --group-by model_type --pair-by pair_key --k 50 --truncate
    reasongraph compare out/proxy_question/run --a base --b longcot_sft --html out/proxy_question/report.html

Outputs under ``--out`` (default out/proxy_question/): run/ (the resumable run folder: rows, summary, clusterer,
trace cache), compare.json (the comparison and the collapse table) and report.html.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "fixtures" / "skythought_math500_24x3.jsonl"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", type=Path, default=FIXTURE, help="matched traces (JSONL with model_type, pair_key)")
    p.add_argument("--out", type=Path, default=REPO / "out" / "proxy_question", help="output folder")
    p.add_argument("--a", default="base", help="the reference group A (a model_type)")
    p.add_argument("--b", default="longcot_sft", help="the group B compared with A")
    p.add_argument("--k", type=int, default=50,
                   help="clusters (graph nodes); 50 gives ~30 steps per cluster on the fixture's ~1.6k steps")
    p.add_argument("--model", default=None, help="the scoring model (default: SmolLM2-135M-Instruct)")
    p.add_argument("--quiet", action="store_true", help="no progress")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import reasongraph as rg
    from cli_call import reasongraph_cli

    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_dir = args.out / "run"
    t0 = time.perf_counter()
    # A fresh run scores all records; a rerun into the same folder resumes where the last one stopped.
    rg.score_dataset(args.input, out=run_dir, model=args.model, prompt_field="problem", group_field="model_type",
                     pair_field="pair_key", k=args.k, truncate=True, progress=not args.quiet)
    score_s = time.perf_counter() - t0
    summary = rg.ScoredRun(run_dir).summary
    print(f"scored {summary['n_rows']} of {summary['n_records']} traces into {run_dir} in {score_s:.0f} s "
          f"(this invocation); {summary['mode']}")

    t0 = time.perf_counter()
    common = ["compare", str(run_dir), "--a", args.a, "--b", args.b]
    (args.out / "compare.json").write_text(reasongraph_cli(*common, "--json"), encoding="utf-8")
    print()
    print(reasongraph_cli(*common, "--html", str(args.out / "report.html")))
    if str(summary["mode"]).startswith("proxy"):
        print("This is a PROXY: one model scored every group, so the token entropies are its surprise at other "
              "models' text, not each policy's own entropy.")
    print(f"wrote {args.out / 'compare.json'} and {args.out / 'report.html'} (compare and report: "
          f"{time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
