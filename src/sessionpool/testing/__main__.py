"""``python -m sessionpool.testing``: the test server in a process of its own (see ``--help``)."""

from sessionpool.testing._process import main

main()
