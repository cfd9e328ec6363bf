"""``python -m sessionpool``: the same as the ``sessionpool`` command."""

import sys

from sessionpool.cli import main

sys.exit(main())
