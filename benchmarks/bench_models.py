"""Benchmark a two-model run against two single-model runs on the same data: same rows, load time, peak memory.

Group A ("base" traces of fixtures/skythought_math500_24x3.jsonl) is scored by model A, group B ("longcot_sft")
by model B, first in one two-model run (``model={"base": A, "longcot_sft": B}``), then each group alone in its
own single-model run, with the K its clustering unit got in the two-model run. Each run is a fresh subprocess, so
its peak resident memory (VmHWM) is its own. Checks:

- the rows of the two-model run equal those of the single runs on every field not pooled over the run (all but
  ``line``, ``forking_share_pooled`` and ``forking_share_by_group``; a group's own entry of the latter must match);
- the two-model run's peak RSS is at most that of the larger single run plus 300 MiB: models load one at a time
  and the first is freed before the second loads.

Default models: A = SmolLM2-135M-Instruct, B = the same weights saved to a temporary folder (another name, so a
second model of the same size: a model kept in memory would add ~520 MiB). Run by hand::

    python benchmarks/bench_models.py                 # 6 problems x 2 groups (a few minutes on a 2-core CPU)
    python benchmarks/bench_models.py --problems 2 --model-b tiny-random   # a quick smoke run

Prints a table: seconds of model loading, extraction and the whole score_dataset call per run, wall seconds of
each subprocess, peak RSS; then the two-model run against the sum of the single runs as differences and ratios.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

from harness import FIXTURE, first_problems, peak_rss_mib, run_child

POOLED = {"line", "forking_share_pooled", "forking_share_by_group"}
RSS_SLACK_MIB = 300
GROUPS = ("base", "longcot_sft")


def child(spec: dict) -> None:
    """One scoring run (in a fresh process): print its timing and peak RSS as one JSON line."""
    from reasongraph.runs.scoring.score import score_dataset

    t0 = time.perf_counter()
    score_dataset(spec["input"], out=spec["out"], model=spec["model"], prompt_field="problem",
                  group_field="model_type", pair_field="pair_key", k=spec["k"], progress=False)
    score_s = time.perf_counter() - t0
    timing = json.loads((Path(spec["out"]) / "summary.json").read_text())["timing"]
    print(json.dumps({"score_s": score_s, "load_s": timing["load_s"], "extract_s": timing["extract_s"],
                      "n_models_loaded": timing["n_models_loaded"], "peak_rss_mib": peak_rss_mib()}))


def write_input(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def copy_default_model(folder: Path) -> str:
    """The default model's weights saved to ``folder`` (a second model of the same size, by another name)."""
    from reasongraph.models.sources import load_model

    lm = load_model("smollm2-135m", device="cpu", dtype="float32")
    lm.model.save_pretrained(folder)
    lm.tokenizer.save_pretrained(folder)
    return str(folder)


def differing(two: list[dict], single: list[dict], group: str) -> list[str]:
    """Where the rows of one group differ between the runs (empty when they agree), by id and field."""
    out = []
    by_id = {r["id"]: r for r in two}
    for s in single:
        t = by_id[s["id"]]
        fields = sorted(k for k in set(t) | set(s) if k not in POOLED and not _same(t.get(k), s.get(k)))
        if t["forking_share_by_group"][group] != s["forking_share_by_group"][group]:
            fields.append(f"forking_share_by_group[{group}]")
        if fields:
            out.append(f"{s['id']}: {', '.join(fields)}")
    return out


def _same(a, b) -> bool:
    return a == b or all(isinstance(x, float) and math.isnan(x) for x in (a, b))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", type=Path, default=FIXTURE)
    p.add_argument("--problems", type=int, default=6, help="the first N problems of the input (x 2 groups)")
    p.add_argument("--model-a", default="smollm2-135m", help="model of group A (base)")
    p.add_argument("--model-b", default=None,
                   help="model of group B (longcot_sft); default: the default model's weights in a temporary folder")
    p.add_argument("--k", type=int, default=30)
    p.add_argument("--json", action="store_true", help="print the numbers as JSON too")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="bench_models-"))
    records = [r for r in first_problems(args.input, args.problems) if r["model_type"] in GROUPS]
    model_b = args.model_b or copy_default_model(tmp / "smollm2-copy")
    models = dict(zip(GROUPS, (args.model_a, model_b)))

    both = run_child(__file__, {"input": str(write_input(tmp / "both.jsonl", records)),
                                "out": str(tmp / "both"), "model": models, "k": args.k})
    fit = json.loads((tmp / "both" / "fit.json").read_text())
    scored_by = json.loads((tmp / "both" / "summary.json").read_text())["scored_by"]
    two_rows = [json.loads(line) for line in (tmp / "both" / "rows.jsonl").read_text().splitlines()]
    single, problems = {}, []
    for group in GROUPS:
        path = write_input(tmp / f"{group}.jsonl", [r for r in records if r["model_type"] == group])
        k = fit["units"][scored_by[group]]["k"]
        spec = {"input": str(path), "out": str(tmp / group), "model": models[group], "k": k}
        single[group] = run_child(__file__, spec)
        rows = [json.loads(line) for line in (tmp / group / "rows.jsonl").read_text().splitlines()]
        problems += differing([r for r in two_rows if r["group"] == group], rows, group)

    result = {"records": len(records), "models": {g: scored_by[g] for g in GROUPS}, "two_model": both,
              "single": single, "rows_equal": not problems, "differences": problems,
              "rss_limit_mib": max(s["peak_rss_mib"] for s in single.values()) + RSS_SLACK_MIB,
              "run_dir": str(tmp)}
    result["rss_ok"] = both["peak_rss_mib"] <= result["rss_limit_mib"]
    print(table(result))
    if args.json:
        print(json.dumps(result, indent=1))
    return 0 if result["rows_equal"] and result["rss_ok"] else 1


def table(r: dict) -> str:
    both, single = r["two_model"], r["single"]
    total = {k: sum(s[k] for s in single.values()) for k in ("load_s", "extract_s", "score_s", "wall_s")}
    models = ", ".join(f"{g} by {m}" for g, m in r["models"].items())
    lines = [f"two-model run vs two single-model runs: {r['records']} records ({models})", "",
             f"{'run':<26}{'load s':>9}{'extract s':>11}{'score s':>10}{'wall s':>9}{'peak RSS MiB':>14}"]

    def line(name: str, x: dict) -> str:
        rss = f"{x['peak_rss_mib']:>14.0f}" if "peak_rss_mib" in x else f"{'':>14}"
        return f"{name:<26}{x['load_s']:>9.1f}{x['extract_s']:>11.1f}{x['score_s']:>10.1f}{x['wall_s']:>9.1f}{rss}"

    lines += [line("two models, one run", both)] + [line(f"{g} alone", s) for g, s in single.items()]
    lines.append(line("single runs, summed", total))
    def ratio(key: str) -> str:
        return f"{both[key] / total[key]:.2f}x" if total[key] else "n/a"

    rows = "equal" if r["rows_equal"] else "DIFFER: " + "; ".join(r["differences"][:5])
    lines += ["",
              (f"two-model / summed singles: load {ratio('load_s')}, score_dataset {ratio('score_s')} "
               f"({both['score_s'] - total['score_s']:+.1f} s), wall {ratio('wall_s')} (one process start instead "
               "of two)"),
              (f"peak RSS: two-model {both['peak_rss_mib']:.0f} MiB, limit (larger single + {RSS_SLACK_MIB}) "
               f"{r['rss_limit_mib']:.0f} MiB: {'ok' if r['rss_ok'] else 'EXCEEDED'}"),
              f"rows (non-pooled fields): {rows}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
