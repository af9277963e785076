"""The ``reasongraph`` command line: ``analyze``, ``score``, ``compare`` and ``html``.

Each subcommand lives in ``reasongraph/commands/<name>.py`` with ``add_parser(subparsers)`` and ``run(args)``.
Building the parser imports nothing heavy, so ``reasongraph --help`` answers at once; a command imports torch or
transformers only when it runs. Errors are one line on stderr (a traceback only with ``--debug``); exit codes:
0 success, 2 bad usage or input, 1 internal failure.
"""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

COMMANDS = ("analyze", "score", "compare", "html", "generate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reasongraph",
        description="Analyze reasoning traces through a language model's hidden states: reasoning graphs, "
        "cycles (revisits), token entropy, and where they disagree.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        import_module(f"reasongraph.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from reasongraph.errors import InputError, ModelNotAvailableError

    try:
        return int(args.run(args) or 0)
    except (InputError, ModelNotAvailableError, FileNotFoundError) as e:
        if args.debug:
            raise
        print(f"reasongraph {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"reasongraph {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI's last line of defence: one line, exit 1
        if args.debug:
            raise
        print(f"reasongraph {args.command}: internal error: {type(e).__name__}: {e} (rerun with --debug)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
