"""``reasongraph html INPUT``: a self-contained interactive HTML page from saved results, without a model.

INPUT is one of
- a ``reasongraph score --out`` folder: the dataset report;
- a folder written by ``reasongraph analyze --save`` (``analysis.json`` + ``trace.npz``), or that
  ``analysis.json``: the trace view;
- a Trace ``.npz`` file: analyzed on the spot (KMeans on its own steps), then the trace view;
- a view payload ``.json`` (``"format": "reasongraph.view"``): rendered as it is.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from reasongraph.cli.shared import add_embed_option
from reasongraph.core.checks import check_path_writable
from reasongraph.core.errors import InputError
from reasongraph.core.options import Options, derived
from reasongraph.core.storage import read_json


@dataclass(frozen=True)
class HtmlOptions(Options):
    """The options of ``reasongraph html`` that other commands share (the title of the page)."""

    title: str | None = derived("title", help="page title (default: the run folder's name, or the model and trace "
                                              "size)")


def add_parser(sub: argparse._SubParsersAction, parents: tuple = (),
               formatter: type = argparse.HelpFormatter) -> argparse.ArgumentParser:
    p = sub.add_parser("html", help="write an interactive HTML page from saved results", parents=list(parents),
                       formatter_class=formatter,
                       description="Write one self-contained HTML file (no network access needed) from a score "
                                   "run folder (dataset report), a saved analysis or trace (trace view), or a "
                                   "saved view payload.")
    p.add_argument("input", help="a score --out folder, an analyze --save folder or its analysis.json, a Trace "
                                 ".npz, or a view payload .json")
    p.add_argument("-o", "--out", metavar="FILE",
                   help="the HTML file to write (default: report.html or trace.html in the input folder, or the "
                        "input file with .html)")
    p.add_argument("--compare", metavar="JSON",
                   help="report: the output of `reasongraph compare --json` to include (default: none)")
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="report: how many of the most cyclic traces to list")
    add_embed_option(p)
    HtmlOptions.add_arguments(p)
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    src = Path(args.input)
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist")
    if args.top < 0:
        raise InputError(f"--top must be >= 0, got {args.top}")
    kind, out = _render(src, args)
    size = out.stat().st_size
    if args.json:
        json.dump({"kind": kind, "path": str(out), "bytes": size}, sys.stdout)
        print()
    else:
        print(f"wrote {out} ({kind}, {size / 1024:.0f} KiB)")
    return 0


def _render(src: Path, args: argparse.Namespace) -> tuple[str, Path]:
    from reasongraph.html.write import write_trace_html  # these load numpy
    from reasongraph.runs.folder.reader import ScoredRun
    from reasongraph.runs.folder.report import write_run_report

    if src.is_file() and src.name == "analysis.json":
        src = src.parent
    if src.is_dir() and (src / "analysis.json").is_file():
        from reasongraph.analysis.one_trace import load_analysis

        out = _out(args, src / "trace.html")
        return "trace", write_trace_html(load_analysis(src), out, title=args.title)
    if src.is_dir():
        if not any((src / name).is_file() for name in ("manifest.json", "rows.jsonl")):
            raise InputError(f"{src}: neither a score run folder (manifest.json, rows.jsonl) nor a saved analysis "
                             "(analysis.json)")
        run = ScoredRun(src)
        out = _out(args, src / "report.html")
        return "report", write_run_report(run, out, compare=args.compare, top=args.top, title=args.title,
                                          embed=args.embed)
    if args.compare:
        raise InputError("--compare applies to a score run folder only")
    out = _out(args, src.with_suffix(".html"))
    if src.suffix == ".npz":
        from reasongraph.analysis.one_trace import analyze_trace
        from reasongraph.trace.trace import Trace

        return "trace", write_trace_html(analyze_trace(Trace.load(src)), out, title=args.title)
    if src.suffix == ".json":
        from reasongraph.html.write import write_report_html

        payload = read_json(src, what="view payload")
        if not isinstance(payload, dict) or payload.get("format") != "reasongraph.view":
            raise InputError(f"{src}: not a reasongraph view payload (or pass the folder of an analysis.json)")
        try:
            if payload.get("kind") == "report":
                return "report", write_report_html(payload, out)
            return "trace", write_trace_html(payload, out, title=args.title)
        except InputError as e:
            raise InputError(f"{src}: {e.template}") from None
    raise InputError(f"{src}: expected a folder, a .npz Trace or a .json file")


def _out(args: argparse.Namespace, default: Path) -> Path:
    out = Path(args.out) if args.out else default
    check_path_writable("out", out)
    return out
