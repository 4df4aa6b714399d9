"""``python -m spawn.cli``: the ``lineage-sim`` command."""

import sys

from spawn.cli import main

sys.exit(main())
