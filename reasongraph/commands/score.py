"""``reasongraph score FILE --out DIR``: score a dataset of traces into a resumable run folder."""
from __future__ import annotations

import argparse
import json
import sys

from reasongraph.commands.options import add_embed_option, add_model_options, extract_options, load_model_from_args


EPILOG = """\
The run folder DIR gets rows.jsonl and rows.parquet (one row per scored record), errors.jsonl (one line per
record that could not be scored), summary.json (per group: n, mean, median, bootstrap 95% CI of each metric,
detection ratio), clusterer.npz, fit.json and traces/ (the extraction cache). Run the same command again after
Ctrl-C or a crash to resume; a rerun with other options into the same DIR is refused.
--model tiny-random[-SEED] loads a tiny random-initialized Llama (fast; for smoke tests only).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score a dataset of traces (resumable)", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Extract every trace of a dataset (JSONL, CSV, Parquet or a saved HF dataset), "
                                   "fit one clustering over all steps, then compute each trace's reasoning-graph "
                                   "metrics, token signals and alignment counts.")
    p.add_argument("file", help="the input: .jsonl, .csv, .tsv, .parquet, or a folder saved by datasets")
    p.add_argument("--out", required=True, metavar="DIR", help="the run folder (created; rerun to resume)")
    f = p.add_argument_group("fields")
    f.add_argument("--text-field", default="trace", help="field holding the trace (default: trace)")
    f.add_argument("--prompt-field", default=None, help="field holding the prompt (default: none)")
    f.add_argument("--id-field", default="id", help="field holding the record id (default: id, if present)")
    f.add_argument("--group-by", dest="group_field", default=None, metavar="FIELD",
                   help="field naming the group to summarize by, e.g. model")
    f.add_argument("--pair-key", dest="pair_field", default=None, metavar="FIELD",
                   help="field pairing records across groups, e.g. pair_key (the problem)")
    f.add_argument("--limit", type=int, default=None, metavar="N", help="score only the first N records")
    add_model_options(p)
    g = p.add_argument_group("clustering and analysis")
    g.add_argument("--clusterer", metavar="FILE", help="reuse a saved clusterer instead of fitting one")
    g.add_argument("--k", type=int, default=200, help="clusters (nodes) to fit over all steps (default 200)")
    g.add_argument("--method", default="kmeans", help="clustering method for the fit (default kmeans)")
    g.add_argument("--fit-sample", type=int, default=None, metavar="N",
                   help="fit on a seeded uniform sample of at most N step vectors (bounds memory and time)")
    g.add_argument("--rho", type=float, default=0.2, help="share of tokens that are forking tokens (default 0.2)")
    g.add_argument("--forking-threshold", type=float, default=None, metavar="NATS",
                   help="absolute entropy threshold for forking tokens instead of the top rho share")
    g.add_argument("--window", type=int, default=0, help="spike tokens before a step that count for it")
    g.add_argument("--n-shifts", type=int, default=1000,
                   help="circular shifts for the alignment permutation p-value (default 1000; 0: none)")
    g.add_argument("--seed", type=int, default=0, help="seed of clustering, sampling, bootstrap, permutations")
    r = p.add_argument_group("run")
    r.add_argument("--batch-size", type=int, default=None, help="records per extraction batch (default 16)")
    r.add_argument("--cache-dir", default=None, help="extraction cache folder (default DIR/traces); shareable")
    r.add_argument("--on-error", choices=("skip", "fail"), default="skip",
                   help="skip bad records (default; listed in errors.jsonl) or stop at the first (exit 2)")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    o = p.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="print summary.json instead of a table")
    o.add_argument("--html", metavar="REPORT", help="also write the HTML report of the run to REPORT")
    add_embed_option(o)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from reasongraph.dataset import score_dataset
    from reasongraph.records import RecordReader

    # Bad input fails here, before the model loads.
    RecordReader(args.file, text_field=args.text_field, prompt_field=args.prompt_field, id_field=args.id_field,
                 group_field=args.group_field, pair_field=args.pair_field, limit=args.limit)
    opts = extract_options(args)
    score_dataset(args.file, model=load_model_from_args(args), text_field=args.text_field,
                  prompt_field=args.prompt_field,
                  id_field=args.id_field, group_field=args.group_field, pair_field=args.pair_field, out=args.out,
                  layers=opts["layers"], segment=opts["segment"], prompt_format=opts["prompt_format"],
                  temperature=opts["temperature"], truncate=opts["truncate"], clusterer=args.clusterer, k=args.k,
                  method=args.method, fit_sample=args.fit_sample, batch_size=args.batch_size,
                  on_error=args.on_error, seed=args.seed, limit=args.limit, cache_dir=args.cache_dir,
                  rho=args.rho, forking_threshold=args.forking_threshold, window=args.window, n_shifts=args.n_shifts,
                  progress=not args.quiet)
    from pathlib import Path

    summary = json.loads((Path(args.out) / "summary.json").read_text())
    if args.html:
        from reasongraph.html import write_report_html

        write_report_html(args.out, args.html, embed=args.embed)
    if args.json:
        json.dump(summary, sys.stdout, indent=1)
        print()
    else:
        print(format_summary(summary, args.out))
    return 0


TABLE_METRICS = (("loop_count", "loops"), ("n_revisits", "revisits"), ("align_n_hidden_only", "hidden-only"),
                 ("mean_entropy", "entropy"), ("forking_share_pooled", "forking"), ("effective_rank", "eff.rank"),
                 ("diameter_hops", "diam.hops"))


def format_summary(summary: dict, out: str) -> str:
    """The run's summary as a short table: per group, n, detection ratio and the means of headline metrics."""
    lines = [f"scored {summary['n_rows']} of {summary['n_records']} records into {out}"
             + (f"; {summary['n_errors']} could not be scored (see {out}/errors.jsonl)" if summary["n_errors"] else "")]
    groups = dict(summary["groups"]) or ({"all": summary["overall"]} if summary["overall"] else {})
    if not groups:
        return lines[0]
    head = ["group", "n", "detection"] + [label for _, label in TABLE_METRICS]
    body = []
    for name, g in groups.items():
        cells = [name, str(g["n"]), _fmt(g["detection_ratio"])]
        cells += [_fmt(g["metrics"].get(key, {}).get("mean")) for key, _ in TABLE_METRICS]
        body.append(cells)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines.append("")
    for r in [head] + body:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    lines.append("(means per record; detection = share of records with a loop; summary.json has medians and "
                 "95% CIs)")
    return "\n".join(lines)


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    return f"{x:.3g}"
