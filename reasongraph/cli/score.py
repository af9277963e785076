"""``reasongraph score FILE --out DIR``: score a dataset of traces into a resumable run folder."""
from __future__ import annotations

import argparse
import json
import sys

from reasongraph.cli.shared import (add_alignment_options, add_embed_option, add_model_options, add_quiet_option,
                                    model_map)
from reasongraph.analysis.groups.caveats import caveat_notes
from reasongraph.core.checks import check_path_writable
from reasongraph.core.display import fmt, text_table
from reasongraph.core.errors import InputError
from reasongraph.graph.cluster.options import ClusterOptions
from reasongraph.runs.records.options import ReadOptions
from reasongraph.runs.scoring.options import EngineOptions, RunOptions, ScoreOptions

EPILOG = """\
The run folder DIR gets rows.jsonl and rows.parquet (one row per scored record), errors.jsonl (one line per
record that could not be scored), summary.json (per group: n, mean, median, bootstrap 95% CI of each metric,
detection ratio, pooled alignment statistics), clusterer.npz, fit.json, models.json and traces/ (the extraction
cache). Run the same command again after Ctrl-C or a crash to resume; a rerun with other options into the same DIR
is refused, and so is a second process writing DIR at the same time.

Each group scored by its own model (the faithful comparison of token entropy):
  reasongraph score traces.jsonl --group-by model --model base=Qwen/Qwen2.5-Math-7B --model rl=./my-rl-model ...
Models load one at a time. --model tiny-random[-SEED] loads a tiny random-initialized Llama (for smoke tests).

On a Ray cluster (pip install 'reasongraph[ray]'), the trace cache on a filesystem that every node mounts:
  reasongraph score traces.jsonl --out /shared/runs/a --engine ray --ray-address auto
"""


def add_parser(sub: argparse._SubParsersAction, parents: tuple = (),
               formatter: type = argparse.HelpFormatter) -> argparse.ArgumentParser:
    p = sub.add_parser("score", help="score a dataset of traces (resumable)", epilog=EPILOG, parents=list(parents),
                       formatter_class=formatter,
                       description="Extract every trace of a dataset (JSONL, CSV, Parquet or a saved HF dataset), "
                                   "fit one clustering per model over all steps, then compute each trace's "
                                   "reasoning-graph metrics, token signals and alignment statistics.")
    p.add_argument("file", help="the input: .jsonl, .csv, .tsv, .parquet, or a folder saved by datasets")
    p.add_argument("--out", required=True, metavar="DIR", help="the run folder (created; rerun to resume)")
    ReadOptions.add_arguments(p.add_argument_group("fields"), exclude=("model_field",))
    add_model_options(p, per_group=True)
    g = p.add_argument_group("clustering and analysis")
    g.add_argument("--clusterer", metavar="FILE",
                   help="reuse a saved clusterer instead of fitting one (default: none, fit one)")
    ClusterOptions.add_arguments(g)
    add_alignment_options(g)
    r = p.add_argument_group("run")
    RunOptions.add_arguments(r, only=("batch_size", "cache_dir", "keep_hidden", "on_error"))
    EngineOptions.add_arguments(r)
    o = p.add_argument_group("output")
    add_quiet_option(o)
    o.add_argument("--json", action="store_true", help="print summary.json instead of a table")
    o.add_argument("--html", metavar="FILE", help="also write the HTML report of the run to FILE (default: none)")
    add_embed_option(o)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from reasongraph.runs.folder.reader import ScoredRun  # these load numpy
    from reasongraph.runs.folder.report import write_run_report
    from reasongraph.runs.scoring.score import score_dataset

    if args.html:
        check_path_writable("html", args.html)
    rows = score_dataset(args.file, out=args.out, model=model_map(args.model), options=ScoreOptions.from_args(args),
                         read=ReadOptions.from_args(args), engine=EngineOptions.from_args(args), device=args.device,
                         dtype=args.dtype, clusterer=args.clusterer, progress=not args.quiet)
    run_ = ScoredRun(args.out)
    summary = run_.summary
    if not rows and summary["n_errors"]:
        first = next(run_.errors())
        raise InputError(f"no record could be scored ({summary['n_errors']} errors in {args.out}/errors.jsonl); "
                         f"the first, line {first['line']}: {first['reason']}")
    if args.html:
        path = write_run_report(run_, args.html, embed=args.embed)
        print(f"wrote {path}", file=sys.stderr)
    if args.json:
        json.dump(summary, sys.stdout, indent=1)
        print()
    else:
        print(format_summary(summary, args.out))
        for note in caveat_notes(rows):
            print(note)
    return 0


def format_summary(summary: dict, out: str) -> str:
    """The run's summary as a short table: per group, n, detection ratio and the means of headline metrics."""
    sampled = (summary.get("extraction") or {}).get("sampled", 0)
    lines = [f"scored {summary['n_rows']} of {summary['n_records']} records into {out} ({summary['mode']})"
             + (f"; {summary['n_errors']} could not be scored (see {out}/errors.jsonl)" if summary["n_errors"] else "")
             + (f"; {sampled} from traces recorded while sampling" if sampled else "")
             + (f"; {summary['n_empty']} empty responses (traces of no step)" if summary.get("n_empty") else "")]
    lines += _k_lines(summary)
    groups = dict(summary["groups"]) or ({"all": summary["overall"]} if summary["overall"] else {})
    if not groups:
        return "\n".join(lines)
    from reasongraph.analysis.catalogue import summary_keys  # gathers the metric families, which load numpy

    head = ["group", "n", "detection"] + [label for _, label in summary_keys()]
    body = [[name, str(g["n"]), fmt(g["detection_ratio"])]
            + [fmt(g["metrics"].get(key, {}).get("mean")) for key, _ in summary_keys()] for name, g in groups.items()]
    lines += ["", text_table(head, body),
              "(means per record; detection = share of records with a loop; summary.json has medians, 95% CIs and "
              "the pooled alignment statistics)"]
    return "\n".join(lines)


def _k_lines(summary: dict) -> list[str]:
    """The K of each clustering and why, then the run's notes (a K above a third of the fitted steps...)."""
    units = {name: u for name, u in ((summary.get("fit") or {}).get("units") or {}).items() if u.get("k")}
    lines = [f"K = {u['k']} for {name} ({_k_reason(u)})" for name, u in units.items()]
    return lines + [f"note: {note}" for note in summary.get("notes") or []]


def _k_reason(unit: dict) -> str:
    rule = unit.get("k_rule") or "chosen before k_rule was recorded"
    return rule if "fitted steps" in rule else f"{rule}; {unit['n_fit_steps']} fitted steps"
