"""``reasongraph analyze FILE``: one trace, one forward pass, the full analysis."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reasongraph.commands.options import add_model_options, extract_options, load_model_from_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="analyze one reasoning trace",
                       description="Run the model over one trace (teacher-forced), cluster its steps into a "
                                   "reasoning graph, count revisits and align them with token-entropy spikes.")
    p.add_argument("file", help="the trace as a text file, or - for standard input")
    p.add_argument("--prompt-file", help="a text file with the prompt the trace answers")
    add_model_options(p)
    g = p.add_argument_group("analysis")
    g.add_argument("--clusterer", help="a clusterer saved by fit_clusterer / score (default: KMeans on this trace)")
    g.add_argument("--k", type=int, default=None, help="K for the single-trace KMeans (default: from step count)")
    g.add_argument("--rho", type=float, default=0.2, help="share of tokens that are forking tokens (default 0.2)")
    g.add_argument("--window", type=int, default=0, help="spike tokens before a step that count for it")
    g.add_argument("--seed", type=int, default=0, help="seed of the permutation test and clustering")
    o = p.add_argument_group("output")
    o.add_argument("--json", action="store_true", help="print metrics and events as JSON instead of a summary")
    o.add_argument("--save", metavar="DIR", help="write trace.npz and analysis.json into DIR")
    o.add_argument("--html", metavar="OUT", help="write the interactive HTML view to OUT")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from reasongraph.analysis import analyze
    from reasongraph.errors import InputError

    text = _read_text(args.file, "trace")
    prompt = _read_text(args.prompt_file, "prompt") if args.prompt_file else None
    clusterer = None
    if args.clusterer:
        from reasongraph.cluster import load_clusterer

        clusterer = load_clusterer(args.clusterer)
    if not 0 < args.rho < 1:
        raise InputError(f"--rho must be between 0 and 1, got {args.rho}")
    analysis = analyze(text, prompt, model=load_model_from_args(args), clusterer=clusterer, k=args.k, rho=args.rho,
                       window=args.window, seed=args.seed, **extract_options(args))
    if args.save:
        analysis.save(args.save)
    if args.html:
        analysis.to_html(args.html)
    if args.json:
        json.dump(analysis.to_dict(), sys.stdout, indent=1)
        print()
    else:
        print(analysis.summary())
    return 0


def _read_text(path: str, what: str) -> str:
    from reasongraph.errors import InputError

    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"cannot read the {what} file {path}: {e.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: the {what} is not UTF-8 (byte {e.start})") from None
