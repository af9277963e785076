"""The ``reasongraph`` command line: ``analyze``, ``score``, ``compare``, ``html``, ``generate``, ``sweep`` and
``locus``.

Each subcommand lives in ``reasongraph/cli/<name>.py`` with ``add_parser(subparsers)`` and ``run(args)``.
Building the parser imports nothing heavy, so ``reasongraph --help`` answers at once; a command imports torch or
transformers only when it runs. Errors are one line on stderr (a traceback only with ``--debug``), worded in the
command's own flags; exit codes: 0 success, 2 bad usage or input, 1 internal failure.
"""
from __future__ import annotations

import argparse
import logging
import shlex
import sys
import warnings
from importlib import import_module

from reasongraph import __version__
from reasongraph.cli.formatting import HelpFormatter, flag_spelling
from reasongraph.core.errors import InputError, spelled

COMMANDS = ("analyze", "score", "compare", "html", "generate", "sweep", "locus")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, like every other error of the command line."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show full tracebacks on errors")
    parser = _Parser(
        prog="reasongraph", formatter_class=HelpFormatter,
        description="Analyze reasoning traces through a language model's hidden states: reasoning graphs, "
        "cycles (revisits), token entropy, and where they disagree.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"reasongraph {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        command = import_module(f"reasongraph.cli.{name}").add_parser(sub, parents=[common],
                                                                           formatter=HelpFormatter)
        command.set_defaults(command_parser=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # worded by the command's own parser: "reasongraph CMD: error: ..."
        args.command_parser.error(f"unrecognized arguments: {' '.join(extra)}")
    handler = _LogToStderr(args.command, quiet=getattr(args, "quiet", False))
    spell = flag_spelling(args.command_parser)
    try:
        with spelled(spell), warnings.catch_warnings():  # messages in flags: errors, logs, errors.jsonl reasons
            warnings.showwarning = _warning_line(args.command)
            return int(args.run(args) or 0)
    except (InputError, FileNotFoundError) as e:
        if args.debug:
            raise
        text = e.render(spell) if isinstance(e, InputError) else str(e)
        print(f"reasongraph {args.command}: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted(args.command, sys.argv[1:] if argv is None else argv), file=sys.stderr, flush=True)
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI's last line of defence: one line, exit 1
        if args.debug:
            raise
        print(f"reasongraph {args.command}: internal error: {type(e).__name__}: {e} (rerun with --debug)",
              file=sys.stderr)
        return 1
    finally:
        handler.close()


#: Commands whose output folder or file resumes where an interrupted run stopped.
RESUMABLE = ("score", "generate")


def _interrupted(command: str, argv: list[str]) -> str:
    """The one line after Ctrl-C: for a command that resumes, the command line that resumes it."""
    if command not in RESUMABLE:
        return f"reasongraph {command}: interrupted"
    return (f"reasongraph {command}: interrupted; what was done is kept: to resume, run the same command again: "
            f"{shlex.join(['reasongraph', *argv])}")


def _warning_line(command: str):
    """The library's warnings as one "reasongraph CMD: warning: ..." line each, not Python's two-line form."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"reasongraph {command}: warning: {message}", file=sys.stderr, flush=True)

    return show


class _LogToStderr(logging.Handler):
    """While a command runs, the library's log messages (model loading, skipped records, fits) go to stderr as
    "reasongraph CMD: ..." lines: INFO and up, or WARNING and up with --quiet."""

    def __init__(self, command: str, quiet: bool) -> None:
        super().__init__(logging.WARNING if quiet else logging.INFO)
        self.setFormatter(logging.Formatter(f"reasongraph {command}: %(message)s"))
        self.logger = logging.getLogger("reasongraph")
        self.saved = (self.logger.level, self.logger.propagate)
        self.logger.addHandler(self)
        self.logger.setLevel(self.level)
        self.logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr, flush=True)  # whatever sys.stderr is now

    def close(self) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.saved[0])
        self.logger.propagate = self.saved[1]
        super().close()


if __name__ == "__main__":
    sys.exit(main())
