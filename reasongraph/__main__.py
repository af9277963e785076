import sys

from reasongraph.cli.app import main

sys.exit(main())
