"""``reasongraph html INPUT``: a self-contained interactive HTML page from saved results, without a model.

INPUT is one of
- a ``reasongraph score --out`` folder (``rows.jsonl``): the dataset report;
- a folder written by ``reasongraph analyze --save`` (``analysis.json`` + ``trace.npz``), or that
  ``analysis.json``: the trace view;
- a Trace ``.npz`` file: analyzed on the spot (KMeans on its own steps), then the trace view;
- a view payload ``.json`` (``"format": "reasongraph.view"``): rendered as it is.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reasongraph.commands.options import add_embed_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("html", help="write an interactive HTML page from saved results",
                       description="Write one self-contained HTML file (no network access needed) from a score "
                                   "run folder (dataset report), a saved analysis or trace (trace view), or a "
                                   "saved view payload.")
    p.add_argument("input", help="a score --out folder, an analyze --save folder or its analysis.json, a Trace "
                                 ".npz, or a view payload .json")
    p.add_argument("-o", "--out", help="the HTML file to write (default: report.html or trace.html in the input "
                                       "folder, or the input file with .html)")
    p.add_argument("--compare", metavar="JSON", help="report: the output of `reasongraph compare --json` to include")
    p.add_argument("--top", type=int, default=10, help="report: how many of the most cyclic traces to list")
    add_embed_option(p)
    p.add_argument("--title", help="page title")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from reasongraph.errors import InputError

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
    from reasongraph.errors import InputError
    from reasongraph.html import write_report_html, write_trace_html

    if src.is_file() and src.name == "analysis.json":
        src = src.parent
    if src.is_dir():
        if (src / "rows.jsonl").is_file():
            out = _out(args, src / "report.html")
            return "report", _input_errors(
                lambda: write_report_html(src, out, compare=args.compare, top=args.top, title=args.title,
                                          embed=args.embed), src)
        if (src / "analysis.json").is_file():
            from reasongraph.analysis import load_analysis

            analysis = _input_errors(lambda: load_analysis(src), src)
            return "trace", write_trace_html(analysis, _out(args, src / "trace.html"), title=args.title)
        raise InputError(f"{src}: neither a score run folder (rows.jsonl) nor a saved analysis (analysis.json)")
    if args.compare:
        raise InputError("--compare applies to a score run folder only")
    out = _out(args, src.with_suffix(".html"))
    if src.suffix == ".npz":
        from reasongraph.analysis import analyze_trace
        from reasongraph.trace import Trace

        trace = _input_errors(lambda: Trace.load(src), src)
        return "trace", write_trace_html(analyze_trace(trace), out, title=args.title)
    if src.suffix == ".json":
        payload = _input_errors(lambda: json.loads(src.read_text(encoding="utf-8")), src)
        if not isinstance(payload, dict) or payload.get("format") != "reasongraph.view":
            raise InputError(f"{src}: not a reasongraph view payload (or pass the folder of an analysis.json)")
        if payload.get("kind") == "report":
            from reasongraph.html import report_html

            return "report", _write(report_html(payload), out)
        return "trace", write_trace_html(payload, out, title=args.title)
    raise InputError(f"{src}: expected a folder, a .npz Trace or a .json file")


def _out(args: argparse.Namespace, default: Path) -> Path:
    return Path(args.out) if args.out else default


def _input_errors(load, src: Path):
    """Run ``load``; a file that is not what it claims becomes an InputError naming it."""
    from reasongraph.errors import InputError

    try:
        return load()
    except (FileNotFoundError, InputError):
        raise
    except (ValueError, KeyError, OSError) as e:
        raise InputError(f"{src}: {e}") from None


def _write(text: str, path: Path) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
