"""The ``reasongraph`` command line: ``analyze``, ``score``, ``compare``, ``html``, ``generate``, ``sweep`` and
``locus``.

Each subcommand lives in ``reasongraph/cli/<name>.py`` with ``add_parser(subparsers)`` and ``run(args)``.
Building the parser imports nothing heavy, so ``reasongraph --help`` answers at once; a command imports torch or
transformers only when it runs. Errors are one line on stderr (a traceback only with ``--debug``), worded in the
command's own flags; exit codes: 0 success, 2 bad usage or input, 1 internal failure.

Layer 9, the top: one module per subcommand; :mod:`.app` builds the parser and dispatches.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "build_parser": "reasongraph.cli.app",
    "COMMANDS": "reasongraph.cli.app",
    "main": "reasongraph.cli.app",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
