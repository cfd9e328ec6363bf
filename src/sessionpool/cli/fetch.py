"""``sessionpool fetch``: fetch a list of URLs concurrently through a pool, as JSON Lines.

URLs are read one per line, lazily, and sent from ``--threads`` worker
threads through a :class:`~sessionpool.ThreadLocalPool` or a
:class:`~sessionpool.QueuePool`; at most twice as many URLs as there are
threads are taken from the input at a time, so a long list is never queued
whole and Ctrl-C stops promptly. Each URL gets one JSON line (see
:mod:`sessionpool.cli.output`), a malformed one included; bodies can be
saved with ``--save-dir`` (see :mod:`sessionpool.cli.save`).

Ctrl-C stops taking URLs and lets the requests in flight finish, for at
most the request timeout and a small margin; a second Ctrl-C gives up on
them at once. Either way every result received is written, the summary is
printed, and the exit status is 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

import requests
from requests.exceptions import InvalidHeader, InvalidSchema, InvalidURL, MissingSchema, URLRequired
from requests.utils import check_header_validity

from sessionpool._base import Pool
from sessionpool._config import PoolConfig, Timeout
from sessionpool._errors import PoolError
from sessionpool._policy import RetryPolicy
from sessionpool._queuepool import QueuePool
from sessionpool._retry import attempts
from sessionpool._threadlocal import ThreadLocalPool
from sessionpool.cli.demo import positive_int
from sessionpool.cli.output import ErrorInfo, FetchResult, ResultSink, format_summary, make_progress
from sessionpool.cli.save import SaveDir, UnsafeSavePath

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "FetchOptions",
    "HostLimiter",
    "add_arguments",
    "fetch_all",
    "fetch_one",
    "header",
    "http_method",
    "make_pool",
    "positive_seconds",
    "read_urls",
    "run_command",
    "url_problem",
]

#: The subcommand's name, one-line help and description, for the ``sessionpool`` command.
COMMAND = "fetch"
HELP = "fetch URLs concurrently through a pool and write one JSON line per URL"
DESCRIPTION = (
    "Read URLs one per line from FILE or standard input (blank lines and # comments are skipped), fetch them"
    " concurrently through a pool, and write one JSON object per URL (url, final_url, status, bytes,"
    " elapsed_ms, attempts, error) to standard output, then a summary to standard error."
)
EPILOG = (
    "Exit status: 0 when every URL got a response (any HTTP status), 1 when some failed, 2 for bad arguments,"
    " 130 when interrupted. Ctrl-C stops taking URLs and lets the requests in flight finish (for at most the"
    " timeout and a few seconds); a second Ctrl-C gives up on them at once."
)

#: Seconds added to the request timeout when waiting for requests in flight after Ctrl-C.
GRACE_MARGIN = 2.0
#: How long the main thread waits at a time before looking at Ctrl-C again.
_POLL = 0.1
#: Errors raised before anything was sent: their request was sent 0 times.
_NEVER_SENT = (InvalidURL, MissingSchema, InvalidSchema, InvalidHeader, URLRequired, PoolError)


# -- arguments --------------------------------------------------------------


def header(text: str) -> tuple[str, str]:
    """An argparse type: a ``Name: value`` header, or a message saying what was wrong."""
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not colon or not name:
        raise argparse.ArgumentTypeError(f"expected 'Name: value', got {text!r}")
    try:
        check_header_validity((name, value))
    except InvalidHeader as error:
        raise argparse.ArgumentTypeError(f"not a valid header {text!r}: {error}") from None
    return name, value


def http_method(text: str) -> str:
    """An argparse type: an HTTP method name such as GET, made of letters, in capitals."""
    if not text.isascii() or not text.isalpha():
        raise argparse.ArgumentTypeError(f"expected a method name such as GET or HEAD, got {text!r}")
    return text.upper()


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (a number > 0), got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected seconds (a number > 0), got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The fetch command's options."""
    parser.epilog = EPILOG
    parser.add_argument("file", metavar="FILE", nargs="?", default="-", help="URLs, one per line ('-' or none: stdin)")
    parser.add_argument("--threads", type=positive_int, default=8, help="worker threads (default: 8)")
    parser.add_argument(
        "--pool", choices=("thread-local", "queue"), default="thread-local", help="pool kind (default: thread-local)"
    )
    parser.add_argument("--size", type=positive_int, default=None, help="QueuePool size (default: --threads)")
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=None,
        help="request timeout in seconds (default: the pool's, 10 to connect and 30 to read)",
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
    parser.add_argument("--ordered", action="store_true", help="write results in input order (default: as they come)")
    parser.add_argument("--output", "-o", metavar="FILE", default=None, help="write the lines to FILE ('-': stdout)")
    parser.add_argument(
        "--save-dir", metavar="DIR", type=Path, default=None, help="save each 2xx body in DIR, named after its URL"
    )


# -- input ------------------------------------------------------------------


def read_urls(lines: Iterable[str]) -> Iterator[str]:
    """The URLs among ``lines``, stripped, skipping blank lines and ``#`` comments; read lazily."""
    for line in lines:
        url = line.strip()
        if url and not url.startswith("#"):
            yield url


def url_problem(url: str) -> Exception | None:
    """Why ``url`` cannot be fetched, as the exception requests would raise for it; None if it looks fine."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as error:
        return InvalidURL(f"cannot parse {url!r}: {error}")
    if not parts.scheme:
        return MissingSchema(f"no scheme in {url!r}: expected http:// or https://")
    if parts.scheme.lower() not in ("http", "https"):
        return InvalidSchema(f"unsupported scheme {parts.scheme!r} in {url!r}: expected http or https")
    if any(char.isspace() or not char.isprintable() for char in url):
        return InvalidURL(f"{url!r} contains white space or control characters")
    if not parts.hostname:
        return InvalidURL(f"no host in {url!r}")
    return None


# -- the pool and one URL ---------------------------------------------------


@dataclass(frozen=True)
class FetchOptions:
    """How each URL is fetched."""

    threads: int = 8
    method: str = "GET"
    per_host: int | None = None
    save_dir: SaveDir | None = None
    grace: float = 30.0 + GRACE_MARGIN  # seconds to wait for requests in flight once stopped


def make_pool(
    kind: str,
    *,
    size: int,
    timeout: float | None = None,
    headers: Iterable[tuple[str, str]] = (),
    retry_transient: bool = False,
) -> Pool:
    """The pool the URLs are fetched through: ``kind`` is ``thread-local`` or ``queue``."""
    config = PoolConfig(headers=dict(headers), retry=RetryPolicy(retry_transient=retry_transient))
    if timeout is not None:
        config = dataclasses.replace(config, timeout=timeout)
    if kind == "queue":
        return QueuePool(config, size=size)
    return ThreadLocalPool(config)


def grace_seconds(timeout: Timeout) -> float:
    """How long requests in flight are waited for after Ctrl-C: the longest part of the timeout, and a margin."""
    if timeout is None:
        return 30.0 + GRACE_MARGIN
    if isinstance(timeout, tuple):
        return max((part for part in timeout if part is not None), default=30.0) + GRACE_MARGIN
    return float(timeout) + GRACE_MARGIN


class HostLimiter:
    """At most ``per_host`` requests in flight to one host (by host name) at any moment."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def turn(self, url: str, stop: threading.Event) -> Iterator[bool]:
        """Hold one of the host's slots for the block; yields False, holding none, if ``stop`` is set first."""
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            semaphore = self._semaphores.setdefault(host, threading.BoundedSemaphore(self._per_host))
        while not semaphore.acquire(timeout=_POLL):
            if stop.is_set():
                yield False
                return
        try:
            yield True
        finally:
            semaphore.release()


def fetch_one(
    pool: Pool, url: str, options: FetchOptions, limiter: HostLimiter | None, stop: threading.Event
) -> FetchResult | None:
    """Fetch ``url`` and read its body; None if ``stop`` was set before it was sent."""
    if stop.is_set():
        return None
    if limiter is None:
        return _fetch(pool, url, options)
    with limiter.turn(url, stop) as allowed:
        return _fetch(pool, url, options) if allowed and not stop.is_set() else None


def _fetch(pool: Pool, url: str, options: FetchOptions) -> FetchResult:
    started = time.perf_counter()
    response: requests.Response | None = None
    try:
        response = pool.request(options.method, url)
        body = response.content
    except Exception as error:  # every failure becomes this URL's result
        elapsed = (time.perf_counter() - started) * 1000
        info = ErrorInfo.of(error)
        if response is not None:  # answered, but the body could not be read
            return FetchResult(url, response.url, response.status_code, None, elapsed, attempts(response), info)
        sent = 0 if isinstance(error, _NEVER_SENT) else attempts(error)
        return FetchResult(url, None, None, None, elapsed, sent, info)
    finally:
        if response is not None:
            response.close()
    elapsed = (time.perf_counter() - started) * 1000
    error_info = None
    if options.save_dir is not None and 200 <= response.status_code < 300:
        try:
            options.save_dir.save(url, body)
        except (OSError, UnsafeSavePath) as error:
            error_info = ErrorInfo.of(error)
    return FetchResult(url, response.url, response.status_code, len(body), elapsed, attempts(response), error_info)


# -- running them all -------------------------------------------------------


class Interrupts:
    """Ctrl-C during a run: the first stops taking URLs, the second gives up on requests in flight.

    Installed as the SIGINT handler for a ``with`` block (from the main thread
    only; elsewhere it stays passive). While the main thread is blocked reading
    the input, Ctrl-C also interrupts that read.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.abandon = threading.Event()
        self.signalled = False
        self.reading = False  # the main thread is blocked in the input
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            self.abandon.set()
        self.signalled = True
        self.stop.set()
        if self.reading:
            raise KeyboardInterrupt


class _Run:
    """One run: submits URLs while there is room, and hands each outcome to the sink."""

    def __init__(self, pool: Pool, sink: ResultSink, options: FetchOptions, interrupts: Interrupts) -> None:
        self.pool = pool
        self.sink = sink
        self.options = options
        self.interrupts = interrupts
        self.limiter = HostLimiter(options.per_host) if options.per_host is not None else None
        self.room = threading.Semaphore(2 * options.threads)  # URLs taken and not yet done
        self.lock = threading.Lock()
        self.pending: set[Future[FetchResult | None]] = set()

    def stopping(self) -> bool:
        return self.interrupts.stop.is_set() or self.sink.write_error is not None

    def run(self, urls: Iterator[str]) -> int:
        executor = ThreadPoolExecutor(max_workers=self.options.threads, thread_name_prefix="sessionpool-fetch")
        abandoned = -1  # unknown, if something went wrong: do not wait for the threads
        try:
            self._submit_all(executor, urls)
            abandoned = self._drain()
        finally:
            executor.shutdown(wait=abandoned == 0, cancel_futures=True)
        return abandoned

    def _submit_all(self, executor: ThreadPoolExecutor, urls: Iterator[str]) -> None:
        for index, url in enumerate(self._take(urls)):
            problem = url_problem(url)
            if problem is not None:
                self.sink.add(index, FetchResult(url, None, None, None, 0.0, 0, ErrorInfo.of(problem)))
                continue
            if not self._wait_for_room():
                self.sink.skipped(index)
                return
            future = executor.submit(fetch_one, self.pool, url, self.options, self.limiter, self.interrupts.stop)
            with self.lock:
                self.pending.add(future)
            future.add_done_callback(partial(self._done, index, url))

    def _take(self, urls: Iterator[str]) -> Iterator[str]:
        """The URLs of the input, until it ends or the run is stopped (also while blocked reading it)."""
        while not self.stopping():
            try:
                self.interrupts.reading = True
                try:
                    url = next(urls)
                finally:
                    self.interrupts.reading = False
            except (StopIteration, KeyboardInterrupt):
                return
            yield url

    def _wait_for_room(self) -> bool:
        while not self.room.acquire(timeout=_POLL):
            if self.stopping():
                return False
        if self.stopping():
            self.room.release()
            return False
        return True

    def _done(self, index: int, url: str, future: Future[FetchResult | None]) -> None:
        with self.lock:
            self.pending.discard(future)
        self.room.release()
        if future.cancelled():
            self.sink.skipped(index)
            return
        error = future.exception()  # fetch_one turns every Exception into a result: this is something worse
        result = future.result() if error is None else FetchResult(url, None, None, None, 0.0, 0, ErrorInfo.of(error))
        if result is None:
            self.sink.skipped(index)
        else:
            self.sink.add(index, result)

    def _drain(self) -> int:
        """Wait for every URL taken; once stopped, only for a grace period. How many were given up on."""
        deadline: float | None = None
        while True:
            with self.lock:
                waiting = set(self.pending)
            if not waiting:
                return 0
            if self.stopping():
                if deadline is None:
                    deadline = time.monotonic() + self.options.grace
                    for future in waiting:
                        future.cancel()  # those not started yet
                elif self.interrupts.abandon.is_set() or time.monotonic() >= deadline:
                    return len(waiting)
            wait(waiting, timeout=_POLL)


def fetch_all(urls: Iterable[str], pool: Pool, sink: ResultSink, options: FetchOptions, interrupts: Interrupts) -> int:
    """Fetch every URL through ``pool``, each result to ``sink``; how many requests in flight were given up on."""
    return _Run(pool, sink, options, interrupts).run(iter(urls))


# -- the command ------------------------------------------------------------


def _usage_error(argument: str, message: str) -> int:
    print(f"sessionpool fetch: error: argument {argument}: {message}", file=sys.stderr)
    return 2


def _open_input(name: str) -> TextIO:
    if name == "-":
        if hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(errors="replace")  # an undecodable line becomes a malformed URL, not a crash
        return sys.stdin
    return open(name, encoding="utf-8", errors="replace")


def _count_urls(name: str) -> int | None:
    """How many URLs a file holds, for the progress bar; None for standard input."""
    if name == "-":
        return None
    with open(name, encoding="utf-8", errors="replace") as file:
        return sum(1 for _ in read_urls(file))


def _silence_stdout() -> None:
    """After stdout's reader went away: send the rest to /dev/null, so exiting does not fail on a flush."""
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run_command(args: argparse.Namespace) -> int:
    """Run the fetch command as parsed; the exit status (0, 1, 2 or 130)."""
    try:
        save_dir = SaveDir(args.save_dir) if args.save_dir is not None else None
    except OSError as error:
        return _usage_error("--save-dir", f"cannot use {str(args.save_dir)!r} as a directory: {error}")
    try:
        source = _open_input(args.file)
    except OSError as error:
        return _usage_error("FILE", f"cannot read {args.file!r}: {error.strerror or error}")
    try:
        out = sys.stdout if args.output in (None, "-") else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as error:
        if source is not sys.stdin:
            source.close()
        return _usage_error("--output", f"cannot write {args.output!r}: {error.strerror or error}")
    try:
        return _run(args, source, out, save_dir)
    finally:
        if source is not sys.stdin:
            source.close()
        if out is not sys.stdout:
            out.close()


def _run(args: argparse.Namespace, source: TextIO, out: TextIO, save_dir: SaveDir | None) -> int:
    pool = make_pool(
        args.pool,
        size=args.size or args.threads,
        timeout=args.timeout,
        headers=args.header,
        retry_transient=args.retry_transient,
    )
    show = sys.stderr.isatty()
    progress = make_progress(sys.stderr, _count_urls(args.file) if show else None)
    sink = ResultSink(out, ordered=args.ordered, progress=progress)
    options = FetchOptions(
        threads=args.threads,
        method=args.method,
        per_host=args.per_host,
        save_dir=save_dir,
        grace=grace_seconds(pool.config.timeout),
    )
    started = time.perf_counter()
    with pool, Interrupts() as interrupts:
        abandoned = fetch_all(read_urls(source), pool, sink, options, interrupts)
        sink.close()
        seconds = time.perf_counter() - started
        stats = pool.stats()
    summary = format_summary(sink.tally, stats, seconds, interrupted=interrupts.signalled, abandoned=abandoned)
    print(summary, file=sys.stderr)
    status = 130 if interrupts.signalled else 1 if sink.tally.failed else 0
    if sink.write_error is not None:
        print(f"sessionpool fetch: cannot write the results: {sink.write_error}", file=sys.stderr)
        if out is sys.stdout:
            _silence_stdout()
        status = status if interrupts.signalled else 1
    if abandoned:
        _exit_now(status, out)
    return status


def _exit_now(status: int, out: TextIO) -> None:
    """Exit without waiting for the worker threads still stuck in requests (the interpreter would join them)."""
    for stream in (out, sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
