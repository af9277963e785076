"""The seed question on real traces: does entropy collapse in the tokens only, or inside the model too?

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

    python examples/seed_question.py              # or: make seed-question
    python examples/seed_question.py --b instruct # base vs instruct instead

The same with the command line::

    reasongraph score fixtures/skythought_math500_24x3.jsonl --out out/seed_question/run --prompt-field problem \\
        --group-by model_type --pair-key pair_key --k 50 --truncate
    reasongraph compare out/seed_question/run --a base --b longcot_sft --html out/seed_question/report.html

Outputs under ``--out`` (default out/seed_question/): run/ (the resumable run folder: rows, summary, clusterer,
trace cache), compare.json (the comparison and the collapse table) and report.html.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "fixtures" / "skythought_math500_24x3.jsonl"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", type=Path, default=FIXTURE, help="matched traces (JSONL with model_type, pair_key)")
    p.add_argument("--out", type=Path, default=REPO / "out" / "seed_question", help="output folder")
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
    from reasongraph.collapse import collapse_table
    from reasongraph.compare import comparison_mode, with_reference_share

    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_dir = args.out / "run"
    t0 = time.perf_counter()
    # A fresh run scores all records; a rerun into the same folder resumes where the last one stopped.
    rows = rg.score_dataset(args.input, out=run_dir, model=args.model, prompt_field="problem",
                            group_field="model_type", pair_field="pair_key", k=args.k, truncate=True,
                            progress=not args.quiet)
    score_s = time.perf_counter() - t0
    run = rg.ScoredRun(run_dir)
    summary = run.summary
    print(f"scored {summary['n_rows']} of {summary['n_records']} traces into {run_dir} in {score_s:.0f} s "
          f"(this invocation); {summary['mode']}")

    t0 = time.perf_counter()
    cmp = rg.compare_groups(rows, args.a, args.b, group_field="group", pair_field="pair")
    cmp.group_name, cmp.pair_name = "model_type", "pair_key"
    cmp.mode = comparison_mode(rows, args.a, args.b)
    collapse = collapse_table(with_reference_share(rows, args.a), args.a, args.b, mode=cmp.mode)
    result = {**cmp.as_dict(), "collapse": collapse.as_dict()}
    (args.out / "compare.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    report = rg.write_run_report(run, args.out / "report.html", compare=result)
    compare_s = time.perf_counter() - t0

    print()
    print(collapse.to_table())
    print()
    print(cmp.to_table())
    print()
    if cmp.mode and cmp.mode.startswith("proxy"):
        print("This is a PROXY: one model scored every group, so the token entropies are its surprise at other "
              "models' text, not each policy's own entropy.")
    print(f"wrote {args.out / 'compare.json'} and {report} (compare and report: {compare_s:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
