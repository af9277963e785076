"""Which hidden measures can fall? Each hidden row of the default model on free samples and on collapsed controls.

SmolLM2-135M-Instruct answers 6 addition problems 8 times each at T = 1.0 (two seeds: a second draw of the same
policy, the "stays" control), at T = 0.3 (a collapse of the sampler), and one-template samples are made from each
problem's first free answer by changing only its first number (a collapse of everything but one token). One scoring
run (layer 0.9, one clustering) reads all of them with a sample group, so each prompt's cross-sample spread
averages the same M tokens in every condition. The table gives each row's mean over prompts (per-trace rows:
over traces) per condition, and its ratio to free T = 1.0: a row whose template ratio stays near 1 could not have
shown a collapse of the policy's options.

    python examples/hidden_controls.py [--out out/hidden_controls] [--max-new-tokens 96]

Resumable (rerun the same command). The README's "dynamic range" table is this script's output.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = [(47, 38), (125, 67), (19, 84), (256, 149), (73, 58), (312, 89)]
PROMPT = "What is {} + {}? Think step by step, one step per line."
WINDOW = 16  # the answers are short: erank_window over 16-token windows, as the prototype
CONDITIONS = (("free T=1.0", 1.0, 0), ("free T=1.0, seed 1", 1.0, 1), ("T=0.3", 0.3, 0))


def template_samples(free: list[dict], n: int) -> list[dict]:
    """For each prompt, ``n`` copies of its first free answer that holds a number, its first number changed
    (:func:`reasongraph.analysis.samples.template_texts`)."""
    from reasongraph.analysis.samples import template_texts

    out, done = [], set()
    for s in free:
        texts = template_texts(s["trace"], n)
        if s["prompt_id"] not in done and texts:
            done.add(s["prompt_id"])
            out += [{**s, "id": f"{s['prompt_id']}/t{k}", "sample": k, "trace": t, "model": "template"}
                    for k, t in enumerate(texts)]
    return out


def window_rows(run, rows: list[dict]) -> dict[int, dict]:
    """Per row line: the W = 16 window measures and the sample's mean hidden state, from the cached prefix."""
    from reasongraph.trace.hidden import window_measures

    out = {}
    for r in rows:
        prefix = run.trace(r).prefix_hidden()
        out[r["line"]] = window_measures(np.asarray(prefix, dtype=np.float64), WINDOW)
    return out


def cross_sample_spectral(run, rows: list[dict], prompt_rows: list[dict]) -> dict[tuple, float]:
    """Spectral entropy of a prompt's samples' mean hidden states (over M tokens): not a spread (scale-invariant)."""
    from reasongraph.analysis.samples import prefix_means
    from reasongraph.trace.hidden import spectral_entropy

    by_line = {r["line"]: r for r in rows}
    out = {}
    for p in prompt_rows:
        m = p["spread_tokens"]
        prefixes = [run.trace(by_line[ln]).prefix_hidden() for ln in p["lines"] if ln in by_line]
        kept = [x for x in prefixes if m is not None and len(x) >= m]
        out[p["group"], p["sample_group"]] = spectral_entropy(prefix_means(kept, m)) if len(kept) > 1 else np.nan
    return out


def _num(x: float, digits: int) -> str:
    return f"{x:.{digits}g}" if np.isfinite(x) else "n/a"


def table(run) -> str:
    rows, prompts = list(run.rows()), run.diversity()
    windows = window_rows(run, rows)
    xspec = cross_sample_spectral(run, rows, prompts)
    groups = [c[0] for c in CONDITIONS] + ["one template"]

    def trace_mean(g: str, key: str, source=None) -> float:
        vals = np.array([(source[r["line"]] if source else r)[key] for r in rows if r["group"] == g], dtype=float)
        return float(vals[np.isfinite(vals)].mean()) if np.isfinite(vals).any() else float("nan")

    def prompt_mean(g: str, key: str) -> float:
        return float(np.nanmean([p[key] for p in prompts if p["group"] == g and p[key] is not None]))

    measures = [("token H (nats)", lambda g: trace_mean(g, "mean_entropy")),
                (f"erank_window W={WINDOW}", lambda g: trace_mean(g, "erank_window", windows)),
                (f"erank / bound W={WINDOW}", lambda g: trace_mean(g, "erank_window_norm", windows)),
                (f"spectral entropy W={WINDOW} (nats)", lambda g: trace_mean(g, "spectral_entropy_window", windows)),
                ("cross-sample spectral entropy", lambda g: float(np.nanmean([v for (pg, _), v in xspec.items()
                                                                              if pg == g]))),
                ("cross-sample cosine spread", lambda g: prompt_mean(g, "cosine_spread")),
                ("cross-sample variance", lambda g: prompt_mean(g, "spread_variance")),
                ("node entropy (nats)", lambda g: prompt_mean(g, "node_entropy")),
                ("node entropy cap", lambda g: prompt_mean(g, "node_entropy_cap")),
                ("node information (nats)", lambda g: prompt_mean(g, "node_information")),
                ("visit Gini", lambda g: trace_mean(g, "visit_gini")),
                ("visit decay", lambda g: trace_mean(g, "visit_decay"))]
    head = ["measure", *groups, *(f"{g} / free" for g in groups[1:])]
    body = []
    for label, f in measures:
        v = [f(g) for g in groups]
        body.append([label, *(_num(x, 4) for x in v), *(_num(x / v[0], 3) if v[0] else "n/a" for x in v[1:])])
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in [head] + body]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "out" / "hidden_controls"))
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--model", default="smollm2-135m")
    args = parser.parse_args(argv)

    import reasongraph as rg

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    prompts = out / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"add{i}", "prompt": PROMPT.format(a, b)}) + "\n"
                               for i, (a, b) in enumerate(PROBLEMS)))
    start = time.perf_counter()
    model = rg.load_model(args.model)
    records = []
    for group, t, seed in CONDITIONS:
        drawn = rg.generate(prompts, model=model, out=out / f"samples_{group.replace(' ', '_').replace(',', '')}.jsonl",
                            samples=args.samples, temperature=t, max_new_tokens=args.max_new_tokens, seed=seed,
                            prompt_format="chat", batch_size=6 * args.samples, progress=False)
        records += [{**s, "group": group} for s in drawn]
    records += [{**s, "group": "one template"}
                for s in template_samples([r for r in records if r["group"] == CONDITIONS[0][0]], args.samples)]
    data = out / "samples.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    sampled = time.perf_counter()
    rg.score_dataset(data, out=out / "run", model=model, prompt_field="prompt", prompt_format="chat",
                     group_field="group", pair_field="prompt_id", sample_group_field="prompt_id",
                     temperature_field="temperature", policy_field="model", k=50, progress=False)
    print(table(rg.ScoredRun(out / "run")))
    print(f"\nsampling {sampled - start:.0f} s, scoring {time.perf_counter() - sampled:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
