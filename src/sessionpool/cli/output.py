"""What ``sessionpool fetch`` writes: JSON Lines results, a progress display, and the summary.

Results come in from the worker threads in completion order; a
:class:`ResultSink` writes each as one JSON line and flushes it, either at
once or (``ordered``) as soon as every result before it in the input has
been written. It also counts what the summary reports, and feeds the
progress display, which goes to standard error only when that is a terminal.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from sessionpool._stats import PoolStats

__all__ = [
    "ErrorInfo",
    "FetchResult",
    "PlainProgress",
    "Progress",
    "ResultSink",
    "Tally",
    "format_summary",
    "make_progress",
]

#: Seconds between two lines of the plain progress display.
PLAIN_PROGRESS_INTERVAL = 5.0


@dataclass(frozen=True)
class ErrorInfo:
    """Why a URL has no usable result: the exception's class name and message."""

    type: str
    message: str

    @classmethod
    def of(cls, error: BaseException) -> ErrorInfo:
        """The error info of an exception."""
        return cls(type(error).__name__, str(error))


@dataclass(frozen=True)
class FetchResult:
    """What became of one URL of the input.

    :param url: the URL as read from the input.
    :param final_url: the URL of the final response, after redirects; None without a response.
    :param status: the final response's HTTP status; None without a response.
    :param size: the length of the body in bytes; None if it could not be read.
    :param elapsed_ms: milliseconds from sending the request to having read the body.
    :param attempts: how many times the request was sent (0 for a URL never sent).
    :param error: what went wrong, or None.
    """

    url: str
    final_url: str | None
    status: int | None
    size: int | None
    elapsed_ms: float
    attempts: int
    error: ErrorInfo | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as the JSON object written for it."""
        error = None if self.error is None else {"type": self.error.type, "message": self.error.message}
        return {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "bytes": self.size,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "attempts": self.attempts,
            "error": error,
        }


@dataclass
class Tally:
    """The counts behind the summary."""

    results: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # "2xx" ... "5xx"
    errors: Counter[str] = field(default_factory=Counter)  # by exception class name
    not_sent: int = 0  # URLs taken from the input but never sent (interrupted)

    def add(self, result: FetchResult) -> None:
        """Count one result."""
        self.results += 1
        if result.status is not None:
            self.statuses[f"{result.status // 100}xx"] += 1
        if result.error is not None:
            self.errors[result.error.type] += 1

    @property
    def failed(self) -> int:
        """Results that carry an error."""
        return sum(self.errors.values())


class Progress(Protocol):
    """A progress display: told of each result, closed before the summary."""

    def update(self, tally: Tally) -> None:
        """One more result has been counted in ``tally``."""

    def close(self) -> None:
        """Stop displaying."""


class _NoProgress:
    def update(self, tally: Tally) -> None:
        pass

    def close(self) -> None:
        pass


class _TqdmProgress:
    """A tqdm bar counting URLs, with the errors so far beside it."""

    def __init__(self, tqdm_class: Any, stream: TextIO, total: int | None) -> None:
        self._bar = tqdm_class(total=total, unit="url", file=stream, dynamic_ncols=True, leave=False)

    def update(self, tally: Tally) -> None:
        self._bar.set_postfix_str(f"errors={tally.failed}", refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


class PlainProgress:
    """A line every few seconds, for a terminal without tqdm installed."""

    def __init__(self, stream: TextIO, total: int | None, interval: float = PLAIN_PROGRESS_INTERVAL) -> None:
        self._stream = stream
        self._total = total
        self._interval = interval
        self._started = self._last = time.monotonic()

    def update(self, tally: Tally) -> None:
        """Print a line if the last one is a few seconds old."""
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        of = f"/{self._total}" if self._total is not None else ""
        rate = tally.results / (now - self._started)
        self._stream.write(f"fetch: {tally.results}{of} URLs, {tally.failed} errors, {rate:.1f}/s\n")
        self._stream.flush()

    def close(self) -> None:
        """Nothing to take down: each line stands alone."""


def make_progress(stream: TextIO, total: int | None) -> Progress:
    """A tqdm bar on ``stream`` if it is a terminal, plain lines if tqdm is missing, else nothing."""
    if not stream.isatty():
        return _NoProgress()
    try:
        tqdm_module = importlib.import_module("tqdm")
    except ImportError:
        return PlainProgress(stream, total)
    return _TqdmProgress(tqdm_module.tqdm, stream, total)


class ResultSink:
    """Writes results as JSON Lines, one flushed line each, from any thread.

    :param out: where the lines go.
    :param ordered: write in input order (by each result's index), holding
        back results that arrive before an earlier one.
    :param progress: told of every result written.
    """

    def __init__(self, out: TextIO, *, ordered: bool, progress: Progress) -> None:
        self._out = out
        self._ordered = ordered
        self._progress = progress
        self._lock = threading.Lock()
        self._held: dict[int, FetchResult] = {}
        self._next = 0  # the index to write next, when ordered
        self._closed = False
        self.tally = Tally()
        #: The error that stopped the output (a closed pipe, a full disk), if any.
        self.write_error: OSError | None = None

    def add(self, index: int, result: FetchResult) -> None:
        """Take the result of the ``index``-th URL of the input (from 0)."""
        with self._lock:
            if self._closed:
                return
            if not self._ordered:
                self._write(result)
                return
            self._held[index] = result
            while self._next in self._held:
                self._write(self._held.pop(self._next))
                self._next += 1

    def skipped(self, index: int) -> None:
        """The ``index``-th URL will have no result (it was never sent): stop waiting for it."""
        with self._lock:
            self.tally.not_sent += 1
            if self._ordered and not self._closed:
                self._held.setdefault(index, _NOT_SENT)
                while self._next in self._held:
                    result = self._held.pop(self._next)
                    if result is not _NOT_SENT:
                        self._write(result)
                    self._next += 1

    def close(self) -> None:
        """Write every result still held back, in input order; later results are dropped."""
        with self._lock:
            if self._closed:
                return
            for index in sorted(self._held):
                if self._held[index] is not _NOT_SENT:
                    self._write(self._held[index])
            self._held.clear()
            self._closed = True
        self._progress.close()

    def _write(self, result: FetchResult) -> None:
        self.tally.add(result)
        if self.write_error is None:
            try:
                self._out.write(json.dumps(result.to_json()) + "\n")
                self._out.flush()
            except OSError as error:
                self.write_error = error
        self._progress.update(self.tally)


_NOT_SENT = FetchResult(url="", final_url=None, status=None, size=None, elapsed_ms=0.0, attempts=0)


def format_summary(tally: Tally, stats: PoolStats, seconds: float, *, interrupted: bool, abandoned: int = 0) -> str:
    """The summary printed on standard error at the end of a run (``abandoned``: requests given up on)."""
    rate = tally.results / seconds if seconds > 0 else 0.0
    classes = ", ".join(f"{name} {tally.statuses[name]}" for name in ("2xx", "3xx", "4xx", "5xx"))
    others = sorted(set(tally.statuses) - {"2xx", "3xx", "4xx", "5xx"})
    if others:
        classes += "".join(f", {name} {tally.statuses[name]}" for name in others)
    errors = ", ".join(f"{name} {count}" for name, count in tally.errors.most_common())
    lines = [
        f"fetched {_count(tally.results, 'URL')} in {seconds:.2f} s ({rate:.1f} requests/s)",
        f"  responses: {classes}",
        f"  errors: {tally.failed}" + (f" ({errors})" if errors else ""),
        f"  pool: {_count(stats.requests, 'HTTP request')} on {_count(stats.connections_opened, 'connection')} opened"
        f" (reuse ratio {stats.reuse_ratio:.3f}); replays: {stats.stale_retries} stale,"
        f" {stats.transient_retries} transient, {stats.read_retries} read",
    ]
    if interrupted:
        lines.append(
            f"  interrupted: {_count(tally.not_sent, 'URL')} taken but not sent; the rest of the input was not read"
        )
    if abandoned:
        lines.append(f"  gave up on {_count(abandoned, 'request')} still in flight")
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
