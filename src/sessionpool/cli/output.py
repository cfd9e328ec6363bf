"""What ``sessionpool fetch`` writes: JSON Lines results, a progress display, and the summary.

The results come from :func:`sessionpool.fetch_all`, in the order it yields
them; a :class:`ResultSink` writes each as one JSON line
(:meth:`sessionpool.FetchResult.to_json`) straight to the file, with no
buffer in between, so that it knows which lines reached it whole. It also
counts what the summary reports, and feeds the progress display, which goes
to standard error only when that is a terminal.

When the output fails (a full disk, a file size limit, a closed pipe), the
line being written may have reached it in part, and nothing more is written:
the summary counts the complete lines written, and says how many results
could not be, so that its figures always match the file's.
"""

from __future__ import annotations

import errno
import importlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from sessionpool import FetchResult, PoolStats

__all__ = [
    "Output",
    "PlainProgress",
    "Progress",
    "ResultSink",
    "Tally",
    "format_summary",
    "make_progress",
]

#: Seconds between two lines of the plain progress display.
PLAIN_PROGRESS_INTERVAL = 5.0


@dataclass
class Tally:
    """The counts behind the summary: of the results written, and of those that could not be."""

    results: int = 0  # written: complete lines in the output
    statuses: Counter[str] = field(default_factory=Counter)  # "2xx" ... "5xx"
    errors: Counter[str] = field(default_factory=Counter)  # by exception class name
    not_sent: int = 0  # URLs taken from the input but never sent (interrupted)
    not_written: int = 0  # results received after the output failed, or whose line it failed on

    def add(self, result: FetchResult) -> None:
        """Count one result written."""
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


class Output(Protocol):
    """Where the lines go: a binary file, ideally unbuffered (``open(path, "wb", buffering=0)``).

    ``write`` may take only part of the bytes, and says how many it took, as
    :class:`io.FileIO` does; a buffered file takes them all.
    """

    def write(self, data: bytes, /) -> int | None:
        """Write some of ``data``; how many bytes were taken."""

    def flush(self) -> None:
        """Push anything buffered to the file."""


class ResultSink:
    """Writes results as JSON Lines, one line each, straight to ``out``, and counts them.

    :param out: where the lines go; written unbuffered, the sink knows
        which lines reached it whole.
    :param progress: told of every result.
    """

    def __init__(self, out: Output, *, progress: Progress) -> None:
        self._out = out
        self._progress = progress
        self._closed = False
        self.tally = Tally()
        #: The error that stopped the output (a closed pipe, a full disk), if any.
        self.write_error: OSError | None = None

    def add(self, result: FetchResult) -> None:
        """Write and count one result; after the output failed, count it as not written."""
        if self._closed:
            return
        if self.write_error is None:
            # ensure_ascii (json's default) escapes every other character, a lone surrogate from an undecodable
            # input line included: the line is ASCII, and valid JSON
            line = (json.dumps(result.to_json()) + "\n").encode("ascii")
            try:
                _write_whole(self._out, line)
            except OSError as error:
                self.write_error = error
        if self.write_error is None:
            self.tally.add(result)
        else:
            self.tally.not_written += 1
        self._progress.update(self.tally)

    def fail(self, error: OSError) -> None:
        """Record that the output failed after the last line (closing it did), if nothing failed before."""
        if self.write_error is None:
            self.write_error = error

    def close(self) -> None:
        """Take no more results, and take the progress display down."""
        if not self._closed:
            self._closed = True
            self._progress.close()


def _write_whole(out: Output, data: bytes) -> None:
    """Write all of ``data``, however many writes it takes; raises OSError if the output fails first."""
    while data:  # each pass writes at least a byte, or raises
        written = out.write(data)
        if not written:  # None: a non-blocking file that is full; 0: one that took nothing
            raise OSError(errno.EAGAIN, "the output took none of a line")
        data = data[written:]
    out.flush()


def format_summary(
    tally: Tally, stats: PoolStats, seconds: float, *, interrupted_by: str | None = None, abandoned: int = 0
) -> str:
    """The summary printed on standard error at the end of a run.

    :param interrupted_by: the name of the signal that stopped the run (``SIGINT``, ``SIGTERM``), if one did.
    :param abandoned: requests still in flight that were given up on.
    """
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
        f" (reuse ratio {stats.reuse_ratio:.3f}); retries: {stats.stale_retries} stale,"
        f" {stats.transient_retries} transient, {stats.read_retries} read",
    ]
    if interrupted_by is not None:
        lines.append(
            f"  interrupted by {interrupted_by}: {_count(tally.not_sent, 'URL')} taken but not sent;"
            " the rest of the input was not read"
        )
    if abandoned:
        lines.append(f"  gave up on {_count(abandoned, 'request')} still in flight")
    if tally.not_written:
        lines.append(f"  not written: {_count(tally.not_written, 'more result')}, after the output failed")
    return "\n".join(lines)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
