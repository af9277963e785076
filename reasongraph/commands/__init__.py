"""One module per CLI subcommand, each with ``add_parser(subparsers)``; see :mod:`reasongraph.cli`."""
