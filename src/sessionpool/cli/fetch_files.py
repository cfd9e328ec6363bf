"""The files of ``sessionpool fetch``: URLs read lazily, results written unbuffered, and no input overwritten.

The input is read one line at a time (:func:`read_urls`), with bytes that
are not UTF-8 kept as they are; the output is opened unbuffered, so that
the results' sink knows which lines reached it whole. Before anything is
written, :func:`destroyed_input` refuses an output that is the same file as
an input (by device and inode), which writing would destroy.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import BinaryIO, TextIO

from sessionpool.cli.output import ResultSink

__all__ = [
    "close_output",
    "close_quietly",
    "count_urls",
    "destroyed_input",
    "open_input",
    "open_output",
    "read_urls",
    "silence_stdout",
]


def read_urls(lines: Iterable[str]) -> Iterator[str]:
    """The URLs among ``lines``, stripped, skipping blank lines and ``#`` comments; read lazily."""
    for line in lines:
        url = line.strip()
        if url and not url.startswith("#"):
            yield url


def open_input(name: str) -> TextIO:
    """The input named ``name`` (``-``: standard input), read as UTF-8 with surrogate escapes.

    A line that is not UTF-8 keeps its bytes as lone surrogates (never
    changed into another URL): the engine refuses such a URL, and its error
    record shows the bytes.
    """
    if name == "-":
        if hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
        return sys.stdin
    return open(name, encoding="utf-8", errors="surrogateescape")


def count_urls(name: str) -> int | None:
    """How many URLs a file holds, for the progress bar; None for standard input."""
    if name == "-":
        return None
    with open(name, encoding="utf-8", errors="surrogateescape") as file:
        return sum(1 for _ in read_urls(file))


def open_output(name: str | None, *, append: bool) -> BinaryIO:
    """The output, unbuffered, so that the results' sink knows which lines reached it whole."""
    if name not in (None, "-"):
        return open(name, "ab" if append else "wb", buffering=0)  # the caller closes it
    sys.stdout.flush()
    try:
        return open(sys.stdout.fileno(), "wb", buffering=0, closefd=False)
    except (AttributeError, OSError, ValueError):  # no descriptor (in-process callers): its buffer, flushed each line
        return sys.stdout.buffer


def close_output(out: BinaryIO, sink: ResultSink) -> None:
    """Close the output (never standard output itself); an error doing so is the sink's write error."""
    try:
        if out is getattr(sys.stdout, "buffer", None):
            out.flush()
        else:
            out.close()
    except OSError as error:
        sink.fail(error)


def close_quietly(out: BinaryIO) -> None:
    """Close the output if it is still open (never standard output itself), ignoring an error doing so."""
    if out is not getattr(sys.stdout, "buffer", None):
        with suppress(OSError):
            out.close()


def _file_identity(name: str, stream: TextIO | None = None) -> tuple[int, int] | None:
    """The device and inode of a regular file, named or open as ``stream`` (for ``-``); None for anything else."""
    try:
        found = os.fstat(stream.fileno()) if stream is not None and name == "-" else os.stat(name)
    except (AttributeError, OSError, ValueError):  # missing, closed, or no descriptor: nothing to destroy
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISREG(found.st_mode) else None


def destroyed_input(args: argparse.Namespace) -> str | None:
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


def silence_stdout() -> None:
    """After stdout's reader went away: send the rest to /dev/null, so exiting does not fail on a flush."""
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
