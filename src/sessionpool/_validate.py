"""Checks shared by the value objects: each names the field and what it allows.

Every public constructor validates its arguments with these at construction
time, so a wrong value fails where it was written rather than at the first
request.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any


def describe(value: object) -> str:
    """A short description of ``value`` for error messages: its repr and type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_int(where: str, value: object, *, minimum: int) -> int:
    """Return ``value`` if it is an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where} must be an int >= {minimum}, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{where} must be an int >= {minimum}, got {value}")
    return value


def check_bool(where: str, value: object) -> bool:
    """Return ``value`` if it is a bool."""
    if not isinstance(value, bool):
        raise TypeError(f"{where} must be True or False, got {describe(value)}")
    return value


def check_seconds(where: str, value: object, *, allow_zero: bool) -> float:
    """Return ``value`` as a float if it is a finite, non-negative number of seconds.

    ``allow_zero`` says whether 0 is allowed (it means "do not wait" for a
    checkout, but "fail at once" for a request timeout, which nobody wants).
    """
    return check_number(where, value, allow_zero=allow_zero, what="number of seconds")


def check_number(where: str, value: object, *, allow_zero: bool, what: str = "number") -> float:
    """Return ``value`` as a float if it is a finite number, > 0 (or >= 0 with ``allow_zero``).

    ``what`` names the quantity in the error (``"number of seconds"``, ``"number of requests a second"``).
    """
    bound = ">= 0" if allow_zero else "> 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where} must be a {what} {bound}, got {describe(value)}")
    number = float(value)
    if math.isnan(number) or math.isinf(number) or number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{where} must be a finite {what} {bound}, got {value!r}")
    return number


def check_callable(where: str, value: object) -> Callable[..., Any]:
    """Return ``value`` if it can be called."""
    if not callable(value):
        raise TypeError(f"{where} must be callable, got {describe(value)}")
    return value


def check_str_mapping(where: str, value: object, *, values: tuple[type, ...] = (str,)) -> dict[str, Any]:
    """Return a copy of ``value`` if it maps str keys to values of the given types."""
    allowed = " or ".join(t.__name__ for t in values)
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} must be a mapping of str to {allowed}, got {describe(value)}")
    copy: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"{where} keys must be str, got {describe(key)}")
        if not isinstance(item, values):
            raise TypeError(f"{where}[{key!r}] must be {allowed}, got {describe(item)}")
        copy[key] = item
    return copy


def check_existing_path(where: str, value: object, *, directory_allowed: bool) -> str:
    """Return ``value`` if it is a str naming an existing file (or directory, if allowed)."""
    what = "file or directory" if directory_allowed else "file"
    if not isinstance(value, str):
        raise TypeError(f"{where} must be the path (str) of a {what}, got {describe(value)}")
    if not (os.path.isfile(value) or (directory_allowed and os.path.isdir(value))):
        raise ValueError(f"{where} must name an existing {what}: {value!r}")
    return value
