"""``sessionpool fetch --resume``: go on with an interrupted crawl, fetching nothing again that succeeded.

The output file of the interrupted run (``-o FILE``) says what is done. Each
of its lines is one JSON object written by :meth:`sessionpool.FetchResult.to_json`:

- a *done* record (``error`` null and ``status`` a number) is kept, and its
  URL is not fetched again;
- any other record (one with an ``error``) is dropped, and its URL fetched again;
- a last line with no newline that is not JSON is a write cut short by a run
  that was killed: it is dropped with a warning, and as its URL is unknown,
  that URL is simply fetched again if the input holds it;
- any other line, a bad last line ending in a newline included, means the
  file is not what ``sessionpool fetch`` wrote: :class:`ResumeError` names
  the line, and the file is left untouched.

A record is recognised strictly, as the command would otherwise drop the
lines of any JSON Lines file named by mistake as "error records": it is an
object with exactly the keys of :data:`RECORD_KEYS` (``saved`` may be
missing, from a version that did not write it), each of the type the
command writes. The records' URLs have their credentials redacted
(``http://***@host/``), so an input URL is matched in that form too.

Nothing is changed before the file is known to be usable: it must be a
regular file this process can append to (the run appends to it) in a
directory it can write (for the temporary file of the compaction).

Before the run the file is compacted: rewritten to hold only its done
records, each line byte for byte as it was, through a temporary file in the
same directory that is fsync'd and then moved over it with :func:`os.replace`
(a crash leaves the old file or the new one, never half of one). The run
then appends to it, so that afterwards it holds each URL of the input once.
A file with nothing to drop is left as it is.

Neither file is ever read whole: the output file is streamed, keeping only
the done URLs, counted in a :class:`collections.Counter`, and
:meth:`ResumePlan.skip_done` filters the input lazily, skipping a URL once
per done record of it: an input that lists a URL twice, with one done
record of it, fetches it once more.

A missing output file is not an error: nothing is done yet, so the same
command line starts a crawl and resumes it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TextIO

from sessionpool import FetchResult

__all__ = ["RECORD_KEYS", "ResumeError", "ResumePlan", "compact_output", "prepare_output", "recorded_url"]

#: The keys of a record, as :meth:`sessionpool.FetchResult.to_json` writes it.
RECORD_KEYS = frozenset({"url", "final_url", "status", "bytes", "elapsed_ms", "attempts", "error", "saved"})
#: The keys of a record written before ``saved`` was: such files are resumed too.
_EARLIER_RECORD_KEYS = RECORD_KEYS - {"saved"}
#: The keys of a record's ``error`` object.
_ERROR_KEYS = frozenset({"type", "message"})
#: Key names quoted at most in a message, and the length each is cut to: an alien file's may be anything.
_NAMES_SHOWN, _NAME_LENGTH = 8, 40

#: What a JSON value is, for the message that refuses a line.
_JSON_KINDS: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a whole number",
    float: "a decimal number",
    bool: "a boolean",
    type(None): "null",
}


class ResumeError(ValueError):
    """The output file cannot be resumed from; the message names it, and the line at fault if there is one.

    It is a directory or not a regular file, cannot be read or rewritten, or
    holds a line ``sessionpool fetch`` did not write. The file is left untouched.
    """


@dataclass
class ResumePlan:
    """What an interrupted run left done in its output file, and the filter that skips it in the input.

    :param path: the output file, as named on the command line.
    :param done: for each URL, how many done records of it are not yet
        matched by the input; :meth:`skip_done` counts them down.
    :param kept: the done records kept in the file.
    :param dropped_errors: the records with an error dropped from the file,
        their URLs to be fetched again.
    :param truncated: whether an incomplete last line was dropped.

    Not a frozen value: :meth:`skip_done` counts ``done`` down and
    :attr:`skipped` up as it goes, so one plan filters one pass over the input.
    """

    path: str
    done: Counter[str] = field(default_factory=Counter)
    kept: int = 0
    dropped_errors: int = 0
    truncated: bool = False
    #: The URLs of the input :meth:`skip_done` has skipped so far.
    skipped: int = 0

    def skip_done(self, urls: Iterable[str]) -> Iterator[str]:
        """``urls`` without those already done, read lazily: each done record skips its URL once.

        A URL is matched as its record holds it, credentials redacted (:func:`recorded_url`).
        """
        for url in urls:
            key = recorded_url(url)
            remaining = self.done[key]  # a Counter answers 0 for a URL it lacks, without adding it
            if remaining == 0:
                yield url
                continue
            if remaining == 1:
                del self.done[key]  # forget what the input has matched: millions of URLs add up
            else:
                self.done[key] = remaining - 1
            self.skipped += 1

    def summary_line(self) -> str:
        """The line added to the fetch summary: what was skipped, and what is fetched again."""
        line = (
            f"  resumed: {_count(self.skipped, 'URL')} already done in {self.path} skipped;"
            f" {_count(self.dropped_errors, 'error record')} dropped to fetch again"
        )
        if self.truncated:
            line += "; an incomplete last line dropped"
        return line


def recorded_url(url: str) -> str:
    """``url`` as a record of it holds it: with its credentials redacted (``http://***@host/``).

    The library redacts a URL when it makes a result; this asks it to, so
    that the form matches the records whatever the redaction's rules.
    """
    if "@" not in url:  # no credentials (they end in an @): the common case, without making a result
        return url
    return FetchResult(index=0, url=url, final_url=None, status=None, size=None, elapsed_ms=0.0, attempts=0).url


def prepare_output(path: str, *, warnings: TextIO) -> ResumePlan:
    """Compact ``path`` for resuming (see :func:`compact_output`), warning on ``warnings`` of a dropped last line."""
    plan = compact_output(path)
    if plan.truncated:
        print(
            f"sessionpool fetch: warning: {path}: dropped its last line, cut short by a run that was killed"
            " (its URL, unknown, is fetched again if the input holds it)",
            file=warnings,
        )
    return plan


def compact_output(path: str) -> ResumePlan:
    """Check the output file of an interrupted run, rewrite it with its done records only, and say what is done.

    A missing file gives an empty plan. Raises :class:`ResumeError`, leaving
    the file untouched, when it cannot be read, appended to or rewritten, or
    holds a line ``sessionpool fetch`` did not write. A symbolic link is
    followed: the file it names is rewritten, and keeps its permissions.
    """
    plan = ResumePlan(path)
    real = os.path.realpath(path)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        return plan
    except OSError as error:
        raise ResumeError(f"cannot read {path!r}: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        raise ResumeError(f"cannot read {path!r}: it is a directory")
    if not stat.S_ISREG(mode):
        raise ResumeError(f"cannot resume from {path!r}: it is not a regular file")
    try:  # the run appends to it: found out now, not after the compaction rewrote it
        os.close(os.open(real, os.O_WRONLY | os.O_APPEND))  # no O_CREAT, no O_TRUNC: opening changes nothing
    except OSError as error:
        raise ResumeError(f"cannot append to {path!r}: {error.strerror or error}") from None
    try:
        source = open(real, "rb")  # noqa: SIM115  # closed below; bytes, so that kept lines stay byte-identical
    except OSError as error:
        raise ResumeError(f"cannot read {path!r}: {error.strerror or error}") from None
    with source:
        _rewrite_done_records(source, real, plan)
    return plan


def _rewrite_done_records(source: BinaryIO, real: str, plan: ResumePlan) -> None:
    """Copy the done records of ``source`` to a temporary file, and move it over ``real`` if anything was dropped.

    The temporary file is made before anything is read, so that a directory
    this process cannot write in is found out before anything changed.
    """
    directory, name = os.path.split(real)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".resume", dir=directory)
    except OSError as error:
        raise ResumeError(f"cannot rewrite {plan.path!r}: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "wb") as compacted:
            changed = _copy_done_records(source, compacted, plan)
            if changed:
                compacted.flush()
                os.fsync(compacted.fileno())  # the data is on disk before the name points at it
        if changed:
            shutil.copymode(real, temporary)  # mkstemp made it private (0600)
            os.replace(temporary, real)
            _fsync_directory(directory)
    except OSError as error:
        raise ResumeError(f"cannot rewrite {plan.path!r}: {error.strerror or error}") from None
    finally:
        with suppress(FileNotFoundError):  # already moved over the file when it changed
            os.unlink(temporary)


def _copy_done_records(source: BinaryIO, compacted: BinaryIO, plan: ResumePlan) -> bool:
    """Write the done lines of ``source`` to ``compacted``, counting them in ``plan``; whether anything changed."""
    changed = False
    for number, line in enumerate(source, start=1):
        complete = line.endswith(b"\n")  # only the last line can lack one
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            if complete:
                raise ResumeError(f"{plan.path} line {number}: not JSON ({error})") from None
            plan.truncated = changed = True
            continue
        problem = _record_problem(record)
        if problem is not None:
            raise ResumeError(f"{plan.path} line {number}: {problem}")
        if _is_done(record):
            plan.done[record["url"]] += 1
            plan.kept += 1
            compacted.write(line if complete else line + b"\n")  # the run appends after it
            changed = changed or not complete
        else:
            plan.dropped_errors += 1
            changed = True
    return changed


#: The JSON values each key of a record holds: the Python types :func:`json.loads` gives, and their description.
_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "url": ((str,), "a string"),
    "final_url": ((str, type(None)), "a string or null"),
    "status": ((int, type(None)), "a whole number or null"),
    "bytes": ((int, type(None)), "a whole number or null"),
    "elapsed_ms": ((int, float), "a number"),
    "attempts": ((int,), "a whole number"),
    "error": ((dict, type(None)), "an object or null"),
    "saved": ((str, type(None)), "a string or null"),
}


def _record_problem(record: Any) -> str | None:
    """Why a parsed line is not a record ``sessionpool fetch`` wrote, or None if it is one."""
    if not isinstance(record, dict):
        return f"not a JSON object but {_kind(record)}"
    keys = record.keys()
    if keys != RECORD_KEYS and keys != _EARLIER_RECORD_KEYS:
        missing, unknown = _EARLIER_RECORD_KEYS - keys, keys - RECORD_KEYS
        lacks = [f"lacks {_names(missing)}"] if missing else []
        has = [f"has {_names(unknown)}"] if unknown else []
        return "not a record of sessionpool fetch: it " + " and ".join(lacks + has)
    for key, value in record.items():
        types, expected = _FIELDS[key]
        if isinstance(value, bool) or not isinstance(value, types):  # bool is an int to Python, never to JSON
            return f'not a record of sessionpool fetch: its "{key}" is {_kind(value)}, not {expected}'
    error = record["error"]
    if error is not None and (error.keys() != _ERROR_KEYS or not all(isinstance(part, str) for part in error.values())):
        return 'not a record of sessionpool fetch: its "error" is not an object of a "type" and a "message" string'
    return None


def _kind(value: Any) -> str:
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _names(keys: Iterable[str]) -> str:
    """Some key names, quoted as JSON (an alien file's may hold anything), a few at most, each cut short."""
    names = sorted(keys)
    shown = [json.dumps(name if len(name) <= _NAME_LENGTH else name[:_NAME_LENGTH] + "...") for name in names]
    more = len(names) - _NAMES_SHOWN
    return ", ".join(shown[:_NAMES_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _is_done(record: dict[str, Any]) -> bool:
    """Whether a record (a checked one) says its URL got a response without error: ``error`` null, a ``status``."""
    return record["error"] is None and record["status"] is not None


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; some systems cannot open or sync a directory, and then it is only less durable."""
    with suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"
