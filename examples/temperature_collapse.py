"""A collapse whose cause we control: the same policy sampled at T = 1.0 and at T = 0.6, each scored on-policy.

Lowering the sampling temperature collapses the policy's token entropy by construction, the way RL training is
said to. Does the inside of the model follow? The default model (SmolLM2-135M-Instruct) samples 8 traces for each
of 20 math problems (MATH500, from fixtures/) at both temperatures, with its own token entropy and hidden states
recorded while sampling (generate's ``score=True``); one scoring run reads all 320 samples, each at the
temperature it was sampled at (on-policy), from that record (a sample whose text re-tokenizes otherwise is
teacher-forced), with one clustering of the model's hidden states; then ``compare`` gives the level-collapse table
of T = 0.6 against T = 1.0 and the diversity of each prompt's samples, and the run's report draws them.

    python examples/temperature_collapse.py [--out out/temperature_collapse] [--problems 20] [--samples 8]
                                            [--batch-size 80]

Every stage resumes: rerun the same command after an interruption. The README gives the numbers of a run.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "skythought_math500_24x3.jsonl"
TEMPERATURES = (1.0, 0.6)
INSTRUCTION = "Solve the problem. Think step by step, one step per line.\n\nProblem: "


def problems(n: int) -> list[dict]:
    """The first ``n`` distinct MATH500 problems of the fixture, as generate's prompt records."""
    seen: dict[str, dict] = {}
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        seen.setdefault(rec["pair_key"], {"id": rec["pair_key"], "prompt": INSTRUCTION + rec["problem"]})
    return list(seen.values())[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "out" / "temperature_collapse"))
    parser.add_argument("--problems", type=int, default=20)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--batch-size", type=int, default=80,
                        help="samples per generate call, across prompts (80: ten problems' samples at once)")
    args = parser.parse_args(argv)

    import reasongraph as rg
    from reasongraph.cli import main as cli

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    prompts = out / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(p) + "\n" for p in problems(args.problems)))
    start = time.perf_counter()
    model = rg.load_model(args.model)
    samples = []
    traces = out / "traces"  # the trace cache: written while sampling, read by the scoring run
    for t in TEMPERATURES:  # chat format: the instruct model answers as it was trained to
        samples += rg.generate(prompts, model=model, out=out / f"samples_T{t}.jsonl", samples=args.samples,
                               temperature=t, max_new_tokens=args.max_new_tokens, seed=0, prompt_format="chat",
                               batch_size=args.batch_size, score=True, cache_dir=traces)
    both = out / "samples.jsonl"
    both.write_text("".join(json.dumps({**s, "group": f"T={s['temperature']}"}) + "\n" for s in samples))
    sampled = time.perf_counter()
    rg.score_dataset(both, out=out / "run", model=model, prompt_field="prompt", prompt_format="chat",
                     group_field="group", pair_field="prompt_id", sample_group_field="prompt_id",
                     temperature_field="temperature", policy_field="model", cache_dir=traces,
                     k=200)  # the paper's K, as the README's numbers were made (the default is auto)
    scored = time.perf_counter()
    code = cli(["compare", str(out / "run"), "--a", "T=1.0", "--b", "T=0.6", "--html", str(out / "report.html")])
    with open(out / "compare.json", "w") as f, contextlib.redirect_stdout(f):
        cli(["compare", str(out / "run"), "--a", "T=1.0", "--b", "T=0.6", "--json"])
    recorded = sum(s["recorded"] for s in samples)
    print(f"\nsampling {sampled - start:.0f} s, scoring {scored - sampled:.0f} s, in all "
          f"{time.perf_counter() - start:.0f} s; {recorded} of {len(samples)} samples scored from their sampling "
          f"pass (the others teacher-forced); report: {out / 'report.html'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
