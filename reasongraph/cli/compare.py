"""``reasongraph compare DIR --a X --b Y``: two groups of a scored run on the same problems, and the level-collapse
table of the seed question (did entropy collapse in the tokens only, or inside the model too?)."""
from __future__ import annotations

import argparse
import json
import sys

from reasongraph.analysis.groups.caveats import caveat_notes
from reasongraph.analysis.groups.options import CompareOptions
from reasongraph.cli.shared import add_embed_option
from reasongraph.core.checks import check_path_writable
from reasongraph.core.display import fmt, fmt_ci, text_table
from reasongraph.core.errors import InputError


def add_parser(sub: argparse._SubParsersAction, parents: tuple = (),
               formatter: type = argparse.HelpFormatter) -> argparse.ArgumentParser:
    p = sub.add_parser("compare", help="compare two groups of a scored run (paired by problem)", parents=list(parents),
                       formatter_class=formatter,
                       description="Compare group B against group A of a `reasongraph score` run. First the "
                                   "level-collapse table: token-level and hidden-level measures as ratios B/A with "
                                   "paired bootstrap CIs and Wilcoxon tests (the cross-sample spread of each prompt's "
                                   "samples too, in a run with --sample-group), token_collapse against "
                                   "hidden_collapse_erank and hidden_collapse_spread with sign-flip tests, each as a "
                                   "share of a control group's range with --control, the near-saturated alignment "
                                   "flag, and the level coupling. Then every metric as a paired difference B - A "
                                   "(Mann-Whitney U when unpaired). The output states whether each group was scored "
                                   "by its own model (faithful) or both by one model (proxy).")
    p.add_argument("run_dir", metavar="DIR", help="the --out folder of reasongraph score")
    p.add_argument("--a", required=True, metavar="GROUP", help="the reference group A (e.g. the base model)")
    p.add_argument("--b", required=True, metavar="GROUP", help="the group B compared with A (e.g. the RL model)")
    CompareOptions.add_arguments(p, only=("control", "group_field", "pair_field"))
    p.add_argument("--unpaired", action="store_true", help="compare unpaired even if the run has a pair field")
    CompareOptions.add_arguments(p, only=("metrics", "n_boot", "seed"))
    p.add_argument("--json", action="store_true", help="print the comparison (and the collapse table) as JSON")
    p.add_argument("--html", metavar="FILE",
                   help="write the run's HTML report with this comparison to FILE (default: none)")
    add_embed_option(p)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from reasongraph.analysis.groups.comparison import compare_groups, comparison_mode, with_reference_share
    from reasongraph.analysis.groups.level_collapse import collapse_table  # these load numpy
    from reasongraph.runs.folder.reader import ScoredRun
    from reasongraph.runs.folder.report import write_run_report

    if args.html:
        check_path_writable("html", args.html)
    run_ = ScoredRun(args.run_dir)
    rows = list(run_.rows())
    group_field = run_.column(args.group_field, "group", rows=rows)
    if group_field is None:
        raise InputError("the run has no group field: name one with --group-by FIELD")
    pair_field = None if args.unpaired else run_.column(args.pair_field, "pair", rows=rows)
    options = CompareOptions.from_args(args, group_field=group_field, pair_field=pair_field)
    cmp = compare_groups(rows, args.a, args.b, options=options)
    cmp.group_name = run_.fields.get("group") if group_field == "group" else group_field
    cmp.pair_name = run_.fields.get("pair") if pair_field == "pair" else pair_field
    cmp.mode = comparison_mode(rows, args.a, args.b, group_field=group_field)
    collapse = None
    if pair_field is not None:
        collapse = collapse_table(with_reference_share(rows, args.a), args.a, args.b, prompt_rows=run_.diversity(),
                                  mode=cmp.mode, options=options)
    diversity = _diversity(run_, args.a, args.b)
    out = {**cmp.as_dict(), "collapse": collapse.as_dict() if collapse is not None else None, "diversity": diversity}
    if args.html:
        path = write_run_report(run_, args.html, compare=out, embed=args.embed)
        print(f"wrote {path}", file=sys.stderr)
    if args.json:
        json.dump(out, sys.stdout, indent=1)
        print()
    else:
        tables = (collapse.to_table() if collapse is not None else None, cmp.to_table(),
                  _diversity_table(diversity, args.a, args.b) if diversity else None)
        print("\n\n".join(t for t in tables if t))
        for group in (args.a, args.b):
            for note in caveat_notes(r for r in rows if str(r.get(group_field)) == group):
                print(f"{group}: {note}")
    return 0


def _diversity(run, a: str, b: str) -> dict | None:
    """The diversity of each prompt's samples, per group (summary.json's means with CIs), for A and B."""
    by_group = (run.summary or {}).get("diversity")
    return {g: by_group[g] for g in (a, b) if g in by_group} if by_group else None


def _diversity_table(diversity: dict, a: str, b: str) -> str:
    from reasongraph.analysis.samples.diversity import METRICS
    from reasongraph.analysis.samples.spread import SPREAD_METRICS

    def cell(g: str, m: str) -> str:
        s = diversity.get(g, {}).get("metrics", {}).get(m)
        return "n/a" if s is None else f"{fmt(s['mean'])} {fmt_ci(s['ci_low'], s['ci_high'])}"

    head = ["diversity of each prompt's samples", f"{a} (A), mean [95% CI]", f"{b} (B), mean [95% CI]"]
    return text_table(head, [[m, cell(a, m), cell(b, m)] for m in METRICS + SPREAD_METRICS])
