"""Argument types shared by the ``sessionpool`` subcommands.

Each turns one command-line string into a value, or raises
:class:`argparse.ArgumentTypeError` with a message saying what was expected,
which argparse prints after the option's name before exiting with status 2.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from requests.exceptions import InvalidHeader
from requests.utils import check_header_validity

from sessionpool import PoolConfig

__all__ = [
    "ProxyFile",
    "header",
    "http_method",
    "non_negative_int",
    "non_negative_seconds",
    "positive_int",
    "positive_rate",
    "positive_seconds",
    "proxy_file",
    "proxy_url",
]


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    return _whole_number(text, minimum=1)


def non_negative_int(text: str) -> int:
    """A whole number of at least 0 (0 commonly meaning "no limit")."""
    return _whole_number(text, minimum=0)


def _whole_number(text: str, *, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {value}")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    return _number(text, "seconds")


def non_negative_seconds(text: str) -> float:
    """A finite number of seconds, 0 or more (0 commonly meaning "no limit")."""
    return _number(text, "seconds", allow_zero=True)


def positive_rate(text: str) -> float:
    """A finite number of requests a second above 0."""
    return _number(text, "requests a second")


def _number(text: str, what: str, *, allow_zero: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise argparse.ArgumentTypeError(f"expected {what} (a number {'>=' if allow_zero else '>'} 0), got {text!r}")
    return value


#: What a proxy URL must look like, said instead of the refused URL, which may hold a user name and password.
_PROXY_EXPECTED = (
    "expected a proxy URL with a scheme such as http://, https:// or socks5h://, a host, and a port number if any"
    " (the value is not shown, as it may hold a password)"
)


def proxy_url(text: str) -> str:
    """A proxy URL that :attr:`PoolConfig.proxy_rotation <sessionpool.PoolConfig>` accepts.

    The library decides. A refusal never repeats the URL, nor the library's
    message, which may quote part of it (argparse itself would print the
    value for any error but :class:`argparse.ArgumentTypeError`).
    """
    try:
        PoolConfig(proxy_rotation=(text,))
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(_PROXY_EXPECTED) from None
    return text


@dataclass(frozen=True)
class ProxyFile:
    """The proxy URLs of a ``--proxy-file``, with the file's name (so that the command can tell it from its output).

    :param path: the file, as named on the command line.
    :param urls: its proxy URLs, in the file's order.
    """

    path: str
    urls: tuple[str, ...]


def proxy_file(text: str) -> ProxyFile:
    """A file of proxy URLs, one per line (blank lines and ``#`` comments skipped), each checked as :func:`proxy_url`.

    A file without a single proxy is refused: running without a proxy is not
    what a user who gave a file of them asked for.
    """
    urls: list[str] = []
    try:
        with open(text, "rb") as file:  # bytes, decoded line by line, so that an error names its line
            for number, raw in enumerate(file, start=1):
                try:
                    url = raw.decode("utf-8").strip()
                    if url and not url.startswith("#"):
                        urls.append(proxy_url(url))
                except (UnicodeDecodeError, argparse.ArgumentTypeError) as error:
                    problem = "not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
                    raise argparse.ArgumentTypeError(f"{text} line {number}: {problem}") from None
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {text!r}: {error.strerror or error}") from None
    if not urls:
        raise argparse.ArgumentTypeError(f"{text} holds no proxy URL (only blank lines and comments)")
    return ProxyFile(text, tuple(urls))


def header(text: str) -> tuple[str, str]:
    """A ``Name: value`` header, as a ``(name, value)`` pair."""
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
    """An HTTP method name such as GET, made of letters, in capitals."""
    if not text.isascii() or not text.isalpha():
        raise argparse.ArgumentTypeError(f"expected a method name such as GET or HEAD, got {text!r}")
    return text.upper()
