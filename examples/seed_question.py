"""The seed question, faithful and on-policy: when GRPO collapses a policy's token entropy, do its hidden states follow?

The base model (SmolLM2-135M-Instruct) and the GRPO policy shipped in fixtures/smollm2-grpo-lora (the base plus a
rank-8 LoRA, 24 steps; examples/grpo_policy.md) each sample 8 replies to every held-out problem of
fixtures/grpo_problems/test.jsonl (24 word problems never used in training or tuning), with the prompt format and
length of training: chat format, at most 96 new tokens, T = 1. Each model records its own token entropy and hidden
states while it samples (``rg.generate(..., score=True)``), so every trace is scored by the model and the
temperature that sampled it, with no second forward pass. Two controls of known collapse come from the base:
- ``base T=0.3``: the base cooled to T = 0.3 (the sampler's collapse: the token level's control);
- ``one template``: 8 copies of the base's first free reply to each problem with its first number changed
  (+0..+7), teacher-forced by the base: hidden diversity truly collapses (the hidden rows' positive control).
One scoring run reads all four groups (each group by its own model; the prompt's samples form a sample group, so
the cross-sample spread averages the same first M tokens in every group; each group has its own clustering, K in
proportion to its steps, so that adding the controls does not change the base's nodes), then ``reasongraph compare``
puts RL (B) against base (A), paired by problem, once with each control (the collapse table, the diversity, each
collapse as a share of the control's range), and writes the HTML report. Last, two tables this script computes from the run: the
within-trajectory window measures at W = 16 (the replies are shorter than the run's 128-token window), and the
controls' dynamic range (each hidden row on the base's free samples against the controls and the policy).

    python examples/seed_question.py [--out out/seed_question]      # or: make seed-question
    python examples/seed_question.py --smoke --out /tmp/seedq       # 3 problems x 2 samples (CI)

Every stage resumes: rerun the same command after an interruption (a finished run reruns in seconds). The README's
first worked example is this script's output; ``make locus-question`` then asks where along depth the collapse
appears, on the first ``--locus-samples`` samples of each problem from each model (locus_base.jsonl, locus_rl.jsonl).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from cli_call import reasongraph_cli
from seed_tables import alignment_table, dynamic_range, same_tokens_table, window_table

ROOT = Path(__file__).resolve().parents[1]
TEST = ROOT / "fixtures" / "grpo_problems" / "test.jsonl"
POLICY = f"smollm2-135m+{ROOT / 'fixtures' / 'smollm2-grpo-lora'}"
A, B, COLD, TEMPLATE = "base", "rl", "base T=0.3", "one template"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "out" / "seed_question", help="output folder")
    p.add_argument("--problems", type=int, default=24, help="the first N held-out problems of test.jsonl")
    p.add_argument("--samples", type=int, default=8, help="samples per problem and group")
    p.add_argument("--max-new-tokens", type=int, default=96, help="as in training")
    p.add_argument("--cold", type=float, default=0.3, help="the temperature of the base's control group")
    p.add_argument("--k", type=int, default=50,
                   help="clusters (graph nodes) of the group with the most steps; the others get K in proportion")
    p.add_argument("--window", type=int, default=16, help="W of the within-trajectory window table")
    p.add_argument("--batch-size", type=int, default=64, help="samples per generate call, across prompts")
    p.add_argument("--locus-samples", type=int, default=1,
                   help="samples per problem of each model written to locus_base.jsonl and locus_rl.jsonl, the "
                        "texts of make locus-question (the first ones: chosen before any result)")
    p.add_argument("--policy", default=POLICY, help="the RL policy's model spec (default: the shipped adapter)")
    p.add_argument("--smoke", action="store_true", help="3 problems x 2 samples: the CI version")
    p.add_argument("--quiet", action="store_true", help="no progress")
    args = p.parse_args(argv)
    if args.smoke:
        args.problems, args.samples = 3, 2
    return args


def write_prompts(n: int, path: Path) -> Path:
    lines = TEST.read_text(encoding="utf-8").splitlines()[:n]
    path.write_text("".join(json.dumps({k: json.loads(x)[k] for k in ("id", "prompt", "answer")}) + "\n"
                            for x in lines), encoding="utf-8")
    return path


def sample(args: argparse.Namespace, models: dict) -> list[dict]:
    """The base and the policy at T = 1 and the base at ``--cold``, each recorded for scoring while it samples."""
    import reasongraph as rg

    prompts = write_prompts(args.problems, args.out / "prompts.jsonl")
    records = []
    for group, temperature in ((A, 1.0), (B, 1.0), (COLD, args.cold)):
        drawn = rg.generate(prompts, model=models[group], out=args.out / f"samples_{group.replace(' ', '_')}.jsonl",
                            samples=args.samples, temperature=temperature, max_new_tokens=args.max_new_tokens,
                            seed=0, prompt_format="chat", batch_size=args.batch_size, score=True,
                            cache_dir=args.out / "traces", progress=not args.quiet)
        records += [{**r, "group": group} for r in drawn]
    for group in (A, B):
        chosen = [r for r in records if r["group"] == group and r["sample"] < args.locus_samples]
        (args.out / f"locus_{group}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chosen), encoding="utf-8")
    return records + template_records([r for r in records if r["group"] == A], args.samples)


def template_records(free: list[dict], n: int) -> list[dict]:
    """Per problem, ``n`` copies of the base's first free reply that holds a number, its first number changed
    (``rg.template_texts``); they name no policy, so they are teacher-forced by the base, not on-policy."""
    import reasongraph as rg

    out, done = [], set()
    for r in free:
        texts = rg.template_texts(r["trace"], n) if r["prompt_id"] not in done else None
        if texts:
            done.add(r["prompt_id"])
            out += [{**r, "id": f"{r['prompt_id']}/t{k}", "sample": k, "trace": t, "model": "template",
                     "group": TEMPLATE, "recorded": False} for k, t in enumerate(texts)]
    return out


def compare(run_dir: Path, out: Path) -> str:
    """RL (B) against base (A) with each control: the tables as text, compare_<control>.json, the report."""
    texts = []
    for control, name in ((COLD, "compare.json"), (TEMPLATE, "compare_template.json")):
        common = [str(run_dir), "--a", A, "--b", B, "--control", control]
        (out / name).write_text(reasongraph_cli("compare", *common, "--json"), encoding="utf-8")
        html = ["--html", str(out / "report.html")] if control == COLD else []
        texts.append(f"== control C = {control} ==\n" + reasongraph_cli("compare", *common, *html))
    return "\n".join(texts)


def cpu_seconds() -> float:
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import reasongraph as rg

    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    base, policy = rg.load_model("smollm2-135m"), rg.load_model(args.policy)
    models = {A: base, B: policy, COLD: base, TEMPLATE: base}
    records = sample(args, models)
    data = args.out / "samples.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    sampled = time.perf_counter()
    rg.score_dataset(data, out=args.out / "run", model=models, prompt_field="prompt", prompt_format="chat",
                     group_field="group", pair_field="prompt_id", sample_group_field="prompt_id",
                     temperature_field="temperature", policy_field="model", cache_dir=args.out / "traces",
                     k=args.k, cluster_by="group", progress=not args.quiet)
    scored = time.perf_counter()
    run = rg.ScoredRun(args.out / "run")
    tables = compare(args.out / "run", args.out)
    windows, window_text = window_table(run, A, B, args.window, controls=(COLD, TEMPLATE))
    ranges, range_text = dynamic_range(run, [A, B, COLD, TEMPLATE], windows)
    alignment, alignment_text = alignment_table(run, [A, B, COLD, TEMPLATE])
    same, same_text = same_tokens_table(run, A, B)
    times = {"sampling_s": sampled - start, "scoring_s": scored - sampled, "wall_s": time.perf_counter() - start,
             "cpu_s": cpu_seconds(), "recorded": sum(bool(r.get("recorded")) for r in records),
             "samples": len(records)}
    tables_json = {"window": windows["summary"], "dynamic_range": ranges, "alignment": alignment, "same_tokens": same,
                   "times": times}
    (args.out / "tables.json").write_text(json.dumps(tables_json, indent=1), encoding="utf-8")
    print(tables)
    print(same_text, window_text, range_text, alignment_text, sep="\n\n")
    print(f"\nsampling {times['sampling_s']:.0f} s, scoring {times['scoring_s']:.0f} s, in all {times['wall_s']:.0f} s "
          f"wall and {times['cpu_s']:.0f} s of CPU (user + sys, this process and its children); "
          f"{times['recorded']} of {len(records)} traces scored from their sampling pass; report: "
          f"{args.out / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
