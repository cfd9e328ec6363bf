"""The ``sessionpool`` command: one subcommand per module, each adding its own options."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sessionpool.cli import demo, fetch

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sessionpool",
        description="Thread-safe pools of requests sessions.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (demo, fetch):
        sub = commands.add_parser(module.COMMAND, help=module.HELP, description=module.DESCRIPTION)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
