import sys

from reasongraph.cli import main

sys.exit(main())
