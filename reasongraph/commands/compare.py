"""``reasongraph compare DIR --a X --b Y``: two groups of a scored run, side by side on the same problems."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reasongraph.commands.options import add_embed_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare two groups of a scored run (paired by problem)",
                       description="Compare group B against group A of a `reasongraph score` run: token entropy, "
                                   "forking share, effective rank, ERV/ERA, loop metrics, diameter, small-world "
                                   "index and hidden-only events, as paired differences B - A with bootstrap 95% "
                                   "CIs and a Wilcoxon signed-rank test (Mann-Whitney U when unpaired).")
    p.add_argument("run_dir", metavar="DIR", help="the --out folder of reasongraph score")
    p.add_argument("--group-by", default=None, metavar="FIELD",
                   help="the grouping field (default: the run's --group-by); 'group' or the input field name")
    p.add_argument("--a", default=None, help="the reference group A (e.g. the base model)")
    p.add_argument("--b", default=None, help="the group B compared with A (e.g. the RL-trained model)")
    p.add_argument("--pair-key", default=None, metavar="FIELD",
                   help="the pairing field (default: the run's --pair-key); without one the groups are "
                        "compared unpaired")
    p.add_argument("--unpaired", action="store_true", help="compare unpaired even if the run has a pair key")
    p.add_argument("--metric", action="append", default=None,
                   help="a row field to compare (repeatable; default: the standard set)")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--html", metavar="OUT", help="write the run's HTML report with this comparison to OUT")
    add_embed_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from reasongraph.compare import compare_groups
    from reasongraph.errors import InputError
    from reasongraph.runstore import read_jsonl

    run_dir = Path(args.run_dir)
    rows_path = run_dir / "rows.jsonl"
    if not rows_path.is_file():
        raise InputError(f"{run_dir} holds no rows.jsonl: is it the --out folder of reasongraph score?")
    fields = _run_fields(run_dir)
    rows = list(read_jsonl(rows_path))
    group_key = _column(args.group_by, fields.get("group"), "group", rows, "--group-by")
    if group_key is None:
        raise InputError("the run has no group field: pass --group-by FIELD")
    pair_key = None if args.unpaired else _column(args.pair_key, fields.get("pair"), "pair", rows, "--pair-key")
    groups = sorted({str(r.get(group_key)) for r in rows})
    if args.a is None or args.b is None:
        raise InputError(f"name the two groups with --a and --b; {group_key} values in the run: {', '.join(groups)}")
    cmp = compare_groups(rows, args.a, args.b, group_key=group_key, pair_key=pair_key, metrics=args.metric,
                         n_boot=args.n_boot, seed=args.seed)
    if args.html:
        from reasongraph.html import write_report_html

        write_report_html(run_dir, args.html, compare=cmp.as_dict(), embed=args.embed)
    if args.json:
        json.dump(cmp.as_dict(), sys.stdout, indent=1)
        print()
    else:
        print(cmp.to_table())
    return 0


def _run_fields(run_dir: Path) -> dict:
    """The input field names the run was scored with (from its manifest), or {}."""
    try:
        return json.loads((run_dir / "manifest.json").read_text())["options"]["fields"] or {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _column(asked: str | None, run_field: str | None, canonical: str, rows: list[dict], option: str) -> str | None:
    """The row column for a grouping or pairing option: the run's own field maps to its canonical column."""
    from reasongraph.errors import InputError

    if asked is None:
        return canonical if run_field else None
    if asked in (canonical, run_field):
        return canonical
    if rows and not any(asked in r for r in rows):
        raise InputError(f"{option} {asked!r}: the rows have no such field (the run's {canonical} field was "
                         f"{run_field!r}, in column {canonical!r})")
    return asked
