"""``sessionpool fetch``: fetch a list of URLs concurrently through a pool, as JSON Lines.

A thin shell over :func:`sessionpool.fetch_all`: this module parses the
options, reads URLs one per line, lazily, writes each result as one JSON
line (see :mod:`sessionpool.cli.output`) and the summary, and turns Ctrl-C
into :meth:`sessionpool.Fetch.cancel` (see :mod:`sessionpool.cli.interrupts`).
Everything else (threads, the per-host limit, URL checks, saving bodies,
keeping input order) is the library's.

The URLs are fetched by threads of this process, by ``--processes N``
worker processes (each serving the hosts of its share, with its own pool),
or on a Dask cluster (``--dask``, see :mod:`sessionpool.cli.cluster`); the
results come back to this process, whose one writer writes every line.
``--resume`` goes on with an interrupted run (see :mod:`sessionpool.cli.resume`).

Ctrl-C, or SIGTERM (what ``timeout``, systemd, ``docker stop`` and
Kubernetes send), stops taking URLs and lets the requests in flight finish,
for at most the request timeout and a small margin; a second signal of
either kind gives up on them at once. Either way every result received is
written, the summary is printed, and the exit status is 130 after SIGINT,
143 after SIGTERM (128 and the number of the first signal).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import stat
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import BinaryIO, Literal, TextIO

from sessionpool import AutoThrottle, Fetch, FetchOptions, PoolConfig, RetryPolicy, fetch_all
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
from sessionpool.cli.cluster import cluster_spec, open_client
from sessionpool.cli.interrupts import Interrupts
from sessionpool.cli.output import ResultSink, format_summary, make_progress
from sessionpool.cli.resume import ResumeError, ResumePlan, prepare_output

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BYTES",
    "add_arguments",
    "fetch_options",
    "pool_config",
    "read_urls",
    "run_command",
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

#: The subcommand's name, one-line help and description, for the ``sessionpool`` command.
COMMAND = "fetch"
HELP = "fetch URLs concurrently through a pool and write one JSON line per URL"
DESCRIPTION = (
    "Read URLs one per line from FILE or standard input (blank lines and # comments are skipped), fetch them"
    " concurrently through a pool, and write one JSON object per URL (url, final_url, status, bytes,"
    " elapsed_ms, attempts, error, saved) to standard output, then a summary to standard error."
)
EPILOG = (
    "Exit status: 0 when every URL got a response (any HTTP status), 1 when some failed or the results could not"
    " all be written, 2 for bad arguments, 130 when interrupted by Ctrl-C (SIGINT), 143 when stopped by SIGTERM."
    " Ctrl-C or SIGTERM (sent by timeout, systemd, docker stop, Kubernetes) stops taking URLs and lets the"
    " requests in flight finish (for at most the timeout and a few seconds); a second signal gives up on them at"
    " once. An interrupted run goes on with the same command and --resume."
)

# -- arguments --------------------------------------------------------------


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


def pool_config(args: argparse.Namespace) -> PoolConfig:
    """The settings of the pool the URLs are fetched through, from the parsed options."""
    config = PoolConfig(
        headers=dict(args.header),
        retry=RetryPolicy(retry_transient=args.retry_transient),
        per_host_rate=args.per_host_rate,
        per_host_delay=args.delay or 0.0,
        autothrottle=AutoThrottle() if args.autothrottle else None,
        deadline=args.deadline or None,  # 0: no deadline
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


# -- input ------------------------------------------------------------------


def read_urls(lines: Iterable[str]) -> Iterator[str]:
    """The URLs among ``lines``, stripped, skipping blank lines and ``#`` comments; read lazily."""
    for line in lines:
        url = line.strip()
        if url and not url.startswith("#"):
            yield url


# -- the command ------------------------------------------------------------


def _usage_error(argument: str, message: str) -> int:
    print(f"sessionpool fetch: error: argument {argument}: {message}", file=sys.stderr)
    return 2


def _open_input(name: str) -> TextIO:
    # A line that is not UTF-8 keeps its bytes as lone surrogates (never changed into another URL): the
    # engine refuses such a URL, and its error record shows the bytes.
    if name == "-":
        if hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
        return sys.stdin
    return open(name, encoding="utf-8", errors="surrogateescape")


def _count_urls(name: str) -> int | None:
    """How many URLs a file holds, for the progress bar; None for standard input."""
    if name == "-":
        return None
    with open(name, encoding="utf-8", errors="surrogateescape") as file:
        return sum(1 for _ in read_urls(file))


def _open_output(name: str | None, *, append: bool) -> BinaryIO:
    """The output, unbuffered, so that the results' sink knows which lines reached it whole."""
    if name not in (None, "-"):
        return open(name, "ab" if append else "wb", buffering=0)  # the caller closes it
    sys.stdout.flush()
    try:
        return open(sys.stdout.fileno(), "wb", buffering=0, closefd=False)
    except (AttributeError, OSError, ValueError):  # no descriptor (in-process callers): its buffer, flushed each line
        return sys.stdout.buffer


def _close_output(out: BinaryIO, sink: ResultSink) -> None:
    """Close the output (never standard output itself); an error doing so is the sink's write error."""
    try:
        if out is getattr(sys.stdout, "buffer", None):
            out.flush()
        else:
            out.close()
    except OSError as error:
        sink.fail(error)


def _file_identity(name: str, stream: TextIO | None = None) -> tuple[int, int] | None:
    """The device and inode of a regular file, named or open as ``stream`` (for ``-``); None for anything else."""
    try:
        found = os.fstat(stream.fileno()) if stream is not None and name == "-" else os.stat(name)
    except (AttributeError, OSError, ValueError):  # missing, closed, or no descriptor: nothing to destroy
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISREG(found.st_mode) else None


def _destroyed_input(args: argparse.Namespace) -> str | None:
    """Why writing the output would destroy a file the command reads (it is the same file), or None.

    By device and inode, so a hard link or a symbolic link to an input, or
    standard input and output redirected from and to it, are found too.
    Writing would empty the input before it is read (or, appended to it,
    feed the results back in as URLs), and resuming would rewrite it.
    """
    to_stdout = args.output in (None, "-")
    output = _file_identity("-" if to_stdout else args.output, sys.stdout)
    if output is None:
        return None
    inputs = [(_file_identity(args.file, sys.stdin), "the input (standard input)" if args.file == "-" else None)]
    if args.proxy_file is not None:
        inputs.append((_file_identity(args.proxy_file.path), f"the --proxy-file {args.proxy_file.path!r}"))
    for identity, what in inputs:
        if identity == output:
            where = "standard output" if to_stdout else repr(args.output)
            return f"{where} is the same file as {what or f'the input {args.file!r}'}: writing there would destroy it"
    return None


def _silence_stdout() -> None:
    """After stdout's reader went away: send the rest to /dev/null, so exiting does not fail on a flush."""
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run_command(args: argparse.Namespace) -> int:
    """Run the fetch command as parsed; the exit status (0, 1, 2, 130 or 143).

    Nothing is changed before every argument has been checked: the files
    are checked, the input opened and the save directory made before the
    output file is compacted (``--resume``) or emptied.
    """
    if args.dask is not None and args.pool == "thread-local":
        return _usage_error(
            "--pool", "with --dask every worker's pool is a QueuePool (a batch's threads end with the batch)"
        )
    if args.size is not None and args.dask is None and args.pool != "queue":
        return _usage_error("--size", "sizes a QueuePool: use it with --pool queue (or --dask)")
    if args.resume and args.output in (None, "-"):
        return _usage_error("--resume", "needs -o/--output FILE, the results of the run to resume")
    destroyed = _destroyed_input(args)
    if destroyed is not None:
        return _usage_error("--output", destroyed)
    with ExitStack() as files:
        try:
            source = _open_input(args.file)
        except OSError as error:
            return _usage_error("FILE", f"cannot read {args.file!r}: {error.strerror or error}")
        if source is not sys.stdin:
            files.callback(source.close)
        if args.save_dir is not None:
            try:
                args.save_dir.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                return _save_dir_error(args.save_dir, error)
        resume: ResumePlan | None = None
        if args.resume:  # the output file is checked and compacted last, before it is opened for appending
            try:
                resume = prepare_output(args.output, warnings=sys.stderr)
            except ResumeError as error:
                return _usage_error("--resume", str(error))
        try:
            out = _open_output(args.output, append=resume is not None)  # resuming appends to the compacted file
        except OSError as error:
            return _usage_error("--output", f"cannot write {args.output!r}: {error.strerror or error}")
        files.callback(_close_quietly, out)  # closed by the run already, unless it ended early
        urls = read_urls(source) if resume is None else resume.skip_done(read_urls(source))
        if args.dask is not None:
            return _run_on_cluster(args, urls, out, resume)
        try:
            fetch = fetch_all(urls, config=pool_config(args), options=fetch_options(args))
        except OSError as error:
            return _save_dir_error(args.save_dir, error)
        return _run(args, fetch, out, resume)


def _close_quietly(out: BinaryIO) -> None:
    if out is not getattr(sys.stdout, "buffer", None):
        with suppress(OSError):
            out.close()


def _run_on_cluster(args: argparse.Namespace, urls: Iterator[str], out: BinaryIO, resume: ResumePlan | None) -> int:
    """Fetch on the Dask cluster ``--dask`` names (one made for the run with ``local:N``)."""
    with ExitStack() as cluster:
        try:
            client = cluster.enter_context(open_client(args.dask))
        except (ImportError, OSError) as error:  # the dask extra is missing, or the scheduler cannot be reached
            return _usage_error("--dask", str(error))
        except KeyboardInterrupt:
            print("sessionpool fetch: interrupted while the cluster was starting; nothing was fetched", file=sys.stderr)
            return 130
        from sessionpool import dask  # the dask extra, there by now: imported only when asked for

        fetch = dask.fetch_all(client, urls, config=pool_config(args), options=fetch_options(args))
        return _run(args, fetch, out, resume)


def _save_dir_error(path: Path, error: OSError) -> int:
    return _usage_error("--save-dir", f"cannot use {str(path)!r} as a directory: {error}")


def _run(args: argparse.Namespace, fetch: Fetch, out: BinaryIO, resume: ResumePlan | None = None) -> int:
    show = sys.stderr.isatty()
    sink = ResultSink(out, progress=make_progress(sys.stderr, _count_urls(args.file) if show else None))
    started = time.perf_counter()
    # The signal handlers stay until the command has exited or returned: a
    # signal that comes after the give-up must not raise KeyboardInterrupt
    # before _exit_now, or the interpreter would wait for the threads still
    # stuck in requests.
    with Interrupts(fetch) as interrupts:
        return _finish(args, fetch, out, sink, started, interrupts, resume)


def _finish(
    args: argparse.Namespace,
    fetch: Fetch,
    out: BinaryIO,
    sink: ResultSink,
    started: float,
    interrupts: Interrupts,
    resume: ResumePlan | None,
) -> int:
    """Write every result, the summary, and give the exit status (or exit at once if requests were given up on)."""
    with fetch:
        for result in fetch:
            sink.add(result)
            if sink.write_error is not None and not fetch.cancelled:
                fetch.cancel()  # nobody reads the results any more: take no more URLs
        sink.close()
    _close_output(out, sink)
    seconds = time.perf_counter() - started
    sink.tally.not_sent = fetch.not_sent
    summary = format_summary(
        sink.tally,
        fetch.stats(),
        seconds,
        interrupted_by=None if interrupts.first is None else interrupts.first.name,
        abandoned=fetch.abandoned,
    )
    print(summary, file=sys.stderr)
    if resume is not None:
        print(resume.summary_line(), file=sys.stderr)
    signalled = interrupts.exit_status
    status = signalled if signalled is not None else 1 if sink.tally.failed else 0
    if sink.write_error is not None:
        print(f"sessionpool fetch: cannot write the results: {sink.write_error}", file=sys.stderr)
        if args.output in (None, "-"):
            _silence_stdout()
        status = status if signalled is not None else 1
    if fetch.abandoned and args.processes == 1 and args.dask is None:
        _exit_now(status, out)  # worker processes and cluster workers are stopped by the fetch itself
    return status


def _exit_now(status: int, out: BinaryIO) -> None:
    """Exit without waiting for this process's threads still stuck in requests (the interpreter would join them)."""
    streams: tuple[BinaryIO | TextIO, ...] = (out, sys.stdout, sys.stderr)
    for stream in streams:
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
