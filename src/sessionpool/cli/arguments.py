"""Argument types shared by the ``sessionpool`` subcommands.

Each turns one command-line string into a value, or raises
:class:`argparse.ArgumentTypeError` with a message saying what was expected,
which argparse prints after the option's name before exiting with status 2.
"""

from __future__ import annotations

import argparse
import math

from requests.exceptions import InvalidHeader
from requests.utils import check_header_validity

__all__ = ["header", "http_method", "positive_int", "positive_rate", "positive_seconds"]


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    return _positive_number(text, "seconds")


def positive_rate(text: str) -> float:
    """A finite number of requests a second above 0."""
    return _positive_number(text, "requests a second")


def _positive_number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected {what} (a number > 0), got {text!r}")
    return value


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
