"""The ``sessionpool`` command: ``sessionpool fetch`` and ``sessionpool demo``.

The applications built on the library. They reach the core only through its
public API, and ``import sessionpool`` never imports them.
"""

from sessionpool.cli.command import main

__all__ = ["main"]
