"""Where things are, and how a benchmark module is started as a process of its own.

Every benchmark module is run as a module from the repository's root
(``python -m benchmarks.peers.client_run ...``, with ``cwd=ROOT``), whichever
python runs it: the dev venv's, or a client venv's (niquests', Scrapy's),
which has neither sessionpool nor this package installed. Standard library
only, for that reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: The repository's root: the working directory of every benchmark process.
ROOT = Path(__file__).resolve().parents[2]
#: Where the suites write their result files (the README links to them).
RESULTS = ROOT / "benchmarks" / "results"


def module_command(module: str, *args: str, python: str | Path = sys.executable) -> list[str]:
    """The command that runs ``module`` with ``python``: to be started with ``cwd=ROOT``."""
    return [str(python), "-m", module, *args]
