"""``sessionpool fetch``: fetch a list of URLs concurrently through a pool, as JSON Lines.

A thin shell over :func:`sessionpool.fetch_all`. This module runs the
command: it checks the arguments before anything is changed, writes each
result as one JSON line (see :mod:`sessionpool.cli.output`) and the
summary, turns Ctrl-C into :meth:`sessionpool.Fetch.cancel` (see
:mod:`sessionpool.cli.interrupts`), and exits with the status the run
earned. The options and the settings they become are
:mod:`sessionpool.cli.fetch_arguments`'; reading the URLs, one per line,
lazily, and opening the output are :mod:`sessionpool.cli.fetch_files`'.
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
import os
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import BinaryIO, TextIO

from sessionpool import Fetch, fetch_all
from sessionpool.cli.cluster import open_client
from sessionpool.cli.fetch_arguments import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BYTES,
    add_arguments,
    fetch_options,
    misused,
    pool_config,
)
from sessionpool.cli.fetch_files import (
    close_output,
    close_quietly,
    count_urls,
    destroyed_input,
    open_input,
    open_output,
    read_urls,
    silence_stdout,
)
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

#: The subcommand's name, one-line help and description, for the ``sessionpool`` command.
COMMAND = "fetch"
HELP = "fetch URLs concurrently through a pool and write one JSON line per URL"
DESCRIPTION = (
    "Read URLs one per line from FILE or standard input (blank lines and # comments are skipped), fetch them"
    " concurrently through a pool, and write one JSON object per URL (url, final_url, status, bytes,"
    " elapsed_ms, attempts, error, saved) to standard output, then a summary to standard error."
)


def _usage_error(argument: str, message: str) -> int:
    print(f"sessionpool fetch: error: argument {argument}: {message}", file=sys.stderr)
    return 2


def run_command(args: argparse.Namespace) -> int:
    """Run the fetch command as parsed; the exit status (0, 1, 2, 130 or 143).

    Nothing is changed before every argument has been checked: the files
    are checked, the input opened and the save directory made before the
    output file is compacted (``--resume``) or emptied.
    """
    problem = misused(args)
    if problem is not None:
        return _usage_error(*problem)
    destroyed = destroyed_input(args)
    if destroyed is not None:
        return _usage_error("--output", destroyed)
    with ExitStack() as files:
        try:
            source = open_input(args.file)
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
            out = open_output(args.output, append=resume is not None)  # resuming appends to the compacted file
        except OSError as error:
            return _usage_error("--output", f"cannot write {args.output!r}: {error.strerror or error}")
        files.callback(close_quietly, out)  # closed by the run already, unless it ended early
        urls = read_urls(source) if resume is None else resume.skip_done(read_urls(source))
        if args.dask is not None:
            return _run_on_cluster(args, urls, out, resume)
        try:
            fetch = fetch_all(urls, config=pool_config(args), options=fetch_options(args))
        except OSError as error:
            return _save_dir_error(args.save_dir, error)
        return _run(args, fetch, out, resume)


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
    sink = ResultSink(out, progress=make_progress(sys.stderr, count_urls(args.file) if show else None))
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
    close_output(out, sink)
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
            silence_stdout()
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
