"""``reasongraph score FILE --out DIR``: score a dataset of traces into a resumable run folder."""
from __future__ import annotations

import argparse
import json
import sys

from reasongraph.cli.formatting import k_or_auto, positive_int, whole_number
from reasongraph.cli.shared import (add_alignment_options, add_embed_option, add_model_options, add_quiet_option,
                                    alignment_options, extract_options, model_map)

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
    f = p.add_argument_group("fields")
    f.add_argument("--text-field", default="trace", metavar="FIELD", help="field holding the trace")
    f.add_argument("--prompt-field", default=None, metavar="FIELD",
                   help="field holding the prompt (default: none, each trace alone)")
    f.add_argument("--id-field", default="id", metavar="FIELD", help="field holding the record id, if present")
    f.add_argument("--group-by", dest="group_field", default=None, metavar="FIELD",
                   help="field naming the group to summarize by, e.g. model (default: none, one group)")
    f.add_argument("--pair-by", "--pair-key", dest="pair_field", default=None, metavar="FIELD",
                   help="field pairing records across groups, e.g. pair_key (the problem; default: none, unpaired)")
    f.add_argument("--sample-group", dest="sample_group_field", default=None, metavar="FIELD",
                   help="field that several samples of one prompt share (e.g. prompt_id of reasongraph generate): "
                        "writes diversity.jsonl, the diversity of each prompt's samples (default: none)")
    f.add_argument("--temperature-field", default=None, metavar="FIELD",
                   help="field with the temperature each trace was sampled at: score it at that temperature "
                        "(on-policy samples of reasongraph generate: temperature; default: none, all at --temperature)")
    f.add_argument("--policy-field", default=None, metavar="FIELD",
                   help="field naming the model that sampled each trace, to mark rows scored on-policy "
                        "(reasongraph generate: model; default: none)")
    f.add_argument("--limit", type=whole_number, default=None, metavar="N",
                   help="score only the first N records (default: all)")
    add_model_options(p, per_group=True)
    g = p.add_argument_group("clustering and analysis")
    g.add_argument("--clusterer", metavar="FILE",
                   help="reuse a saved clusterer instead of fitting one (default: none, fit one)")
    g.add_argument("--k", type=k_or_auto, default="auto", metavar="K|auto",
                   help="clusters (nodes) of the clustering with the most steps, others in proportion; auto: a third "
                        "of its fitted steps, at most 200 (docs/choosing_k.md). A K above a third of the fitted "
                        "steps is warned about: revisits are then rare by construction")
    g.add_argument("--method", choices=("kmeans", "hdbscan"), default="kmeans", help="clustering method")
    g.add_argument("--cluster-by", choices=("model", "group"), default="model",
                   help="one clustering per model (groups of one model share it) or per group")
    g.add_argument("--fit-sample", type=positive_int, default=None, metavar="N",
                   help="fit on a seeded uniform sample of at most N step vectors (bounds memory and time; default: "
                        "all steps)")
    add_alignment_options(g)
    r = p.add_argument_group("run")
    r.add_argument("--batch-size", type=positive_int, default=None, metavar="N",
                   help="records per extraction batch (default: automatic, 16 records, fewer once a batch holds 32k "
                        "characters; the manifest records it as null)")
    r.add_argument("--cache-dir", default=None, metavar="DIR",
                   help="extraction cache folder (default DIR/traces); shareable between runs")
    r.add_argument("--keep-hidden", action="store_true",
                   help="cache every token's hidden states too (float16); by default the cache keeps each layer's "
                        "step vectors and hidden-state summary only")
    r.add_argument("--on-error", choices=("skip", "fail"), default="skip",
                   help="skip bad records (listed in errors.jsonl) or stop at the first (exit 2)")
    r.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process; ray: extraction on an actor pool and the metrics on CPU tasks across "
                        "a Ray cluster (pip install 'reasongraph[ray]'), with the same rows; a run begun on one "
                        "engine resumes on the other")
    r.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="with --engine ray: the cluster to join, host:port or auto (default: RAY_ADDRESS, else the "
                        "cluster this machine joined with 'ray start', else a new local Ray instance). On a cluster "
                        "of several nodes the trace cache (--cache-dir, default DIR/traces) must be an absolute path "
                        "on a filesystem every node mounts (NFS, Lustre...)")
    r.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="with --engine ray: extraction workers, each holding one model (default: one per GPU, one "
                        "per node without GPUs)")
    o = p.add_argument_group("output")
    add_quiet_option(o)
    o.add_argument("--json", action="store_true", help="print summary.json instead of a table")
    o.add_argument("--html", metavar="FILE", help="also write the HTML report of the run to FILE (default: none)")
    add_embed_option(o)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from reasongraph.runs.scoring.score import score_dataset
    from reasongraph.core.errors import InputError
    from reasongraph.core.checks import check_path_writable

    if args.html:
        check_path_writable("html", args.html)
    rows = score_dataset(args.file, out=args.out, model=model_map(args.model), model_field=args.model_field,
                         text_field=args.text_field, prompt_field=args.prompt_field, id_field=args.id_field,
                         group_field=args.group_field, pair_field=args.pair_field,
                         sample_group_field=args.sample_group_field, temperature_field=args.temperature_field,
                         policy_field=args.policy_field, limit=args.limit,
                         device=args.device, dtype=args.dtype, clusterer=args.clusterer, k=args.k,
                         method=args.method, cluster_by=args.cluster_by, fit_sample=args.fit_sample,
                         batch_size=args.batch_size, cache_dir=args.cache_dir, keep_hidden=args.keep_hidden,
                         on_error=args.on_error, engine=args.engine, workers=args.workers,
                         ray_address=args.ray_address,
                         progress=not args.quiet, **extract_options(args), **alignment_options(args))
    from reasongraph.runs.folder.reader import ScoredRun

    run_ = ScoredRun(args.out)
    summary = run_.summary
    if not rows and summary["n_errors"]:
        first = next(run_.errors())
        raise InputError(f"no record could be scored ({summary['n_errors']} errors in {args.out}/errors.jsonl); "
                         f"the first, line {first['line']}: {first['reason']}")
    if args.html:
        from reasongraph.runs.folder.report import write_run_report

        path = write_run_report(run_, args.html, embed=args.embed)
        print(f"wrote {path}", file=sys.stderr)
    if args.json:
        json.dump(summary, sys.stdout, indent=1)
        print()
    else:
        print(format_summary(summary, args.out))
        from reasongraph.analysis.groups.caveats import caveat_notes

        for note in caveat_notes(rows):
            print(note)
    return 0


def format_summary(summary: dict, out: str) -> str:
    """The run's summary as a short table: per group, n, detection ratio and the means of headline metrics."""
    from reasongraph.analysis.catalogue import summary_keys
    from reasongraph.core.display import fmt, text_table

    sampled = (summary.get("extraction") or {}).get("sampled", 0)
    lines = [f"scored {summary['n_rows']} of {summary['n_records']} records into {out} ({summary['mode']})"
             + (f"; {summary['n_errors']} could not be scored (see {out}/errors.jsonl)" if summary["n_errors"] else "")
             + (f"; {sampled} from traces recorded while sampling" if sampled else "")
             + (f"; {summary['n_empty']} empty responses (traces of no step)" if summary.get("n_empty") else "")]
    lines += _k_lines(summary)
    groups = dict(summary["groups"]) or ({"all": summary["overall"]} if summary["overall"] else {})
    if not groups:
        return "\n".join(lines)
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
