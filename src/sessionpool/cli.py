"""The ``sessionpool`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sessionpool import demo

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sessionpool",
        description="Thread-safe pools of requests sessions.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo_parser = commands.add_parser(
        "demo",
        help="compare plain requests with both pools against a local server",
        description=(
            "Start an HTTP server on 127.0.0.1 and send the same workload through plain requests.get,"
            " one shared requests.Session, a ThreadLocalPool and a QueuePool; print requests/s,"
            " connections opened and errors for each."
        ),
    )
    demo_parser.add_argument("--threads", type=_positive_int, default=16, help="worker threads (default: 16)")
    demo_parser.add_argument("--requests", type=_positive_int, default=2000, help="GETs in all (default: 2000)")
    demo_parser.add_argument(
        "--size", type=_positive_int, default=None, help="QueuePool size (default: threads / 2, at least 1)"
    )
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        size = args.size if args.size is not None else max(1, args.threads // 2)
        results = demo.run(threads=args.threads, total_requests=args.requests, queue_size=size)
        print(demo.format_table(results, threads=args.threads, total_requests=args.requests))
        return 0 if all(result.errors == 0 for result in results if result.is_pool) else 1
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
