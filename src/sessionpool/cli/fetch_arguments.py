"""The options of ``sessionpool fetch``, and what they become: the pool's settings and the fetch's options.

:func:`add_arguments` declares every option with its help text and the
check of its value (the checks are :mod:`sessionpool.cli.arguments`');
:func:`misused` finds an option used against the others; :func:`pool_config`
and :func:`fetch_options` turn the parsed options into the library's own
settings, a :class:`~sessionpool.PoolConfig` and
:class:`~sessionpool.FetchOptions`, which is all the command hands to
:func:`sessionpool.fetch_all`.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Literal

from sessionpool import AutoThrottle, FetchOptions, PoolConfig, RetryPolicy
from sessionpool.cli.arguments import (
    header,
    http_method,
    non_negative_int,
    non_negative_seconds,
    positive_int,
    positive_rate,
    positive_seconds,
    proxy_file,
    proxy_url,
)
from sessionpool.cli.cluster import cluster_spec

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BYTES",
    "EPILOG",
    "add_arguments",
    "fetch_options",
    "misused",
    "pool_config",
]


#: Seconds one request may take in all (connecting, its host's turn, redirects and the whole body) unless
#: ``--deadline`` says otherwise. 120 s reads a 64 MiB body (the ``--max-bytes`` default) at 4.5 Mbit/s, and a
#: large page of 5 MiB at 0.35 Mbit/s; yet a server that trickles a byte at a time, which the timeout never catches
#: (each byte comes within it), holds a worker thread for two minutes, not for as long as it likes.
DEFAULT_DEADLINE = 120.0
#: The longest body read, in bytes, unless ``--max-bytes`` says otherwise: the fetch engine's own default (64 MiB).
DEFAULT_MAX_BYTES: int | None = FetchOptions().max_bytes
#: The pool's defaults, for the help texts.
_POOL_DEFAULTS = PoolConfig()

#: What ``--help`` says after the options: the exit statuses, and what a signal does.
EPILOG = (
    "Exit status: 0 when every URL got a response (any HTTP status), 1 when some failed or the results could not"
    " all be written, 2 for bad arguments, 130 when interrupted by Ctrl-C (SIGINT), 143 when stopped by SIGTERM."
    " Ctrl-C or SIGTERM (sent by timeout, systemd, docker stop, Kubernetes) stops taking URLs and lets the"
    " requests in flight finish (for at most the timeout and a few seconds); a second signal gives up on them at"
    " once. An interrupted run goes on with the same command and --resume."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The fetch command's options."""
    parser.epilog = EPILOG
    parser.add_argument("file", metavar="FILE", nargs="?", default="-", help="URLs, one per line ('-' or none: stdin)")
    parser.add_argument(
        "--threads", type=positive_int, default=8, help="worker threads (in each worker process; default: 8)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--processes",
        type=positive_int,
        default=1,
        metavar="N",
        help="fetch in N worker processes, each with its own pool and --threads threads; URLs are shared out by"
        " host, so each host is served by one process (default: 1, threads of this process only)",
    )
    where.add_argument(
        "--dask",
        type=cluster_spec,
        default=None,
        metavar="CLUSTER",
        help="fetch on a Dask cluster: a scheduler address (tcp://HOST:8786), or local:N for a local cluster of N"
        " worker processes made and closed by the command (needs sessionpool[dask])",
    )
    parser.add_argument(
        "--pool",
        choices=("thread-local", "queue"),
        default=None,
        help="pool kind (default: thread-local; with --dask, every worker's pool is a QueuePool)",
    )
    parser.add_argument(
        "--size",
        type=positive_int,
        default=None,
        help="QueuePool size, with --pool queue or --dask (default: --threads; with --dask, twice that)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=None,
        help="request timeout in seconds (default: the pool's, 10 to connect and 30 to read)",
    )
    parser.add_argument(
        "--transport",
        choices=("urllib3", "curl"),
        default="urllib3",
        help="what sends the requests: urllib3 (requests' own adapter) or curl (libcurl, through curl_cffi: the"
        " sessionpool[curl] extra); both give the same results (default: urllib3)",
    )
    parser.add_argument(
        "--deadline",
        type=non_negative_seconds,
        default=DEFAULT_DEADLINE,
        metavar="S",
        help="the longest one request may take in all, in seconds: connecting, waiting for its host's turn, every"
        " redirect and the whole body (error type DeadlineExceeded); 0: no deadline"
        f" (default: {DEFAULT_DEADLINE:g})",
    )
    parser.add_argument(
        "--max-bytes",
        type=non_negative_int,
        default=DEFAULT_MAX_BYTES,
        metavar="N",
        help="the longest body read, in bytes (decoded): a longer one is cut off, nothing of it saved, and its"
        f" result has the error type BodyTooLarge; 0: no limit (default: {_size(DEFAULT_MAX_BYTES)})",
    )
    parser.add_argument(
        "--proxy",
        type=proxy_url,
        action="append",
        default=[],
        metavar="URL",
        help="send every request through a proxy (http://, https://, socks5h://..., with USER:PASSWORD@ if"
        " needed); repeatable: each session takes the next proxy in turn, and a proxy whose connections failed"
        f" {_POOL_DEFAULTS.proxy_failure_limit} times in a row gets no requests"
        f" for {_POOL_DEFAULTS.proxy_cooldown:g} s",
    )
    parser.add_argument(
        "--proxy-file",
        type=proxy_file,
        default=None,
        metavar="FILE",
        help="proxy URLs, one per line (blank lines and # comments are skipped), used as --proxy ones (after them)",
    )
    parser.add_argument(
        "-H",
        "--header",
        type=header,
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="a header to send with every request (repeatable)",
    )
    parser.add_argument("--method", type=http_method, default="GET", help="HTTP method (default: GET)")
    parser.add_argument(
        "--retry-transient",
        action="store_true",
        help="retry connect failures and 429/502/503/504 answers with backoff (safe methods only)",
    )
    parser.add_argument(
        "--per-host", type=positive_int, default=None, metavar="N", help="at most N requests in flight to one host"
    )
    parser.add_argument(
        "--per-host-rate",
        type=positive_rate,
        default=None,
        metavar="R",
        help="at most R requests a second to one host, across every thread (scheme://host:port)",
    )
    parser.add_argument(
        "--delay",
        type=positive_seconds,
        default=None,
        metavar="S",
        help="at least S seconds between the starts of two requests to one host",
    )
    parser.add_argument(
        "--autothrottle",
        action="store_true",
        help="adjust each host's delay from its latencies, aiming at one request in flight per host, starting"
        " at 1 s (never below --delay, at most 60 s; slower after errors, 429 and 5xx)",
    )
    parser.add_argument(
        "--robots",
        action="store_true",
        help="read each host's robots.txt once and skip the URLs it disallows (error type DisallowedByRobots);"
        " its Crawl-delay becomes the host's delay",
    )
    parser.add_argument("--ordered", action="store_true", help="write results in input order (default: as they come)")
    parser.add_argument("--output", "-o", metavar="FILE", default=None, help="write the lines to FILE ('-': stdout)")
    parser.add_argument(
        "--save-dir", metavar="DIR", type=Path, default=None, help="save each 2xx body in DIR, named after its URL"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on with an interrupted run whose results are in -o FILE (required): its records with a response"
        " are kept and their URLs skipped, records with an error (and a last line cut off by a killed run) are"
        " dropped and their URLs fetched again, and the new results are appended; a missing FILE starts afresh",
    )


def misused(args: argparse.Namespace) -> tuple[str, str] | None:
    """The first option used against the others, as ``(option, why)``; None if they go together."""
    if args.dask is not None and args.pool == "thread-local":
        return "--pool", "with --dask every worker's pool is a QueuePool (a batch's threads end with the batch)"
    if args.size is not None and args.dask is None and args.pool != "queue":
        return "--size", "sizes a QueuePool: use it with --pool queue (or --dask)"
    if args.resume and args.output in (None, "-"):
        return "--resume", "needs -o/--output FILE, the results of the run to resume"
    if args.transport == "curl":
        try:
            PoolConfig(transport="curl")
        except ImportError as missing:  # the curl extra is not installed
            return "--transport", str(missing)
    return None


def pool_config(args: argparse.Namespace) -> PoolConfig:
    """The settings of the pool the URLs are fetched through, from the parsed options."""
    config = PoolConfig(
        headers=dict(args.header),
        retry=RetryPolicy(retry_transient=args.retry_transient),
        per_host_rate=args.per_host_rate,
        per_host_delay=args.delay or 0.0,
        autothrottle=AutoThrottle() if args.autothrottle else None,
        deadline=args.deadline or None,  # 0: no deadline
        transport=args.transport,
        proxy_rotation=(*args.proxy, *(() if args.proxy_file is None else args.proxy_file.urls)),
    )
    if args.timeout is not None:
        config = dataclasses.replace(config, timeout=args.timeout)
    return config


def fetch_options(args: argparse.Namespace) -> FetchOptions:
    """How each URL is fetched, from the parsed options (on a Dask cluster, the pools are QueuePools)."""
    pool_kind: Literal["thread-local", "queue"] = (
        "queue" if args.dask is not None or args.pool == "queue" else "thread-local"
    )
    return FetchOptions(
        method=args.method,
        threads=args.threads,
        pool_kind=pool_kind,
        pool_size=args.size,
        processes=args.processes,
        per_host=args.per_host,
        ordered=args.ordered,
        save_dir=None if args.save_dir is None else str(args.save_dir),
        robots=args.robots,
        max_bytes=args.max_bytes or None,  # 0: no limit
    )


def _size(size: int | None) -> str:
    """A size in bytes for a help text, with its MiB when it has a whole number of them."""
    if size is None:
        return "no limit"
    mib, rest = divmod(size, 1024 * 1024)
    return f"{size} = {mib} MiB" if mib and not rest else str(size)
