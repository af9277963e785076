"""``reasongraph analyze FILE``: one trace, one forward pass, the full analysis."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reasongraph.analysis.options import AlignOptions, AnalysisOptions
from reasongraph.cli.shared import add_model_options, add_quiet_option
from reasongraph.core.checks import check_path_writable
from reasongraph.core.errors import InputError
from reasongraph.models.sources import load_model
from reasongraph.trace.options import ExtractOptions, ForkingOptions


def add_parser(sub: argparse._SubParsersAction, parents: tuple = (),
               formatter: type = argparse.HelpFormatter) -> argparse.ArgumentParser:
    p = sub.add_parser("analyze", help="analyze one reasoning trace", parents=list(parents), formatter_class=formatter,
                       description="Run the model over one trace (teacher-forced), cluster its steps into a "
                                   "reasoning graph, count revisits and align them with token-entropy spikes.")
    p.add_argument("file", help="the trace as a UTF-8 text file, or - for standard input")
    p.add_argument("--prompt-file", metavar="FILE",
                   help="a text file with the prompt the trace answers (default: none, the trace alone)")
    add_model_options(p)
    g = p.add_argument_group("analysis")
    g.add_argument("--clusterer", metavar="FILE", help="a clusterer saved by a score run (default: KMeans on this "
                                                       "trace's own steps)")
    AnalysisOptions.add_arguments(g, only=("k", *ForkingOptions.names(), *AlignOptions.names(), "seed"))
    o = p.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="print metrics and events as JSON instead of a summary")
    o.add_argument("--save", metavar="DIR", help="write trace.npz and analysis.json into DIR (default: not saved)")
    o.add_argument("--html", metavar="FILE", help="write the interactive HTML view to FILE (default: none)")
    add_quiet_option(o)
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from reasongraph.analysis.one_trace import analyze  # loads numpy

    # Everything that can be wrong with the options or the outputs fails now, before the model loads.
    extract, options = ExtractOptions.from_args(args), AnalysisOptions.from_args(args)
    if args.save:
        check_path_writable("save", args.save, folder=True)
    if args.html:
        check_path_writable("html", args.html)
    text = read_text(args.file, "trace")
    prompt = read_text(args.prompt_file, "prompt") if args.prompt_file else None
    clusterer = None
    if args.clusterer:
        from reasongraph.graph.cluster.estimator import load_clusterer

        clusterer = load_clusterer(args.clusterer)
    model = load_model(args.model, device=args.device, dtype=args.dtype)
    analysis = analyze(text, prompt, model=model, clusterer=clusterer, extract=extract, options=options)
    if args.json:
        json.dump(analysis.as_dict(), sys.stdout, indent=1)
        print()
    else:
        print(analysis.summary())
    if args.save:
        analysis.save(args.save)
        print(f"wrote {args.save}/ (trace.npz, analysis.json)", file=sys.stderr)
    if args.html:
        path = analysis.to_html(args.html)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)", file=sys.stderr)
    return 0


def read_text(path: str, what: str) -> str:
    """A text file (or - for stdin) as str: UTF-8, a byte-order mark dropped; InputError naming the file."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError(f"the {what} file {path} is a folder") from None
    except OSError as e:
        raise InputError(f"cannot read the {what} file {path}: {e.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: the {what} is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") \
            from None
