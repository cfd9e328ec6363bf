"""Rounds: every suite runs each client once a round, in an order rotated from round to round, and keeps medians.

The rotation spreads the machine's drift within a round over every client
alike; a ratio is taken against a reference measured in the same round, so
the drift between rounds cancels; and the median of the per-round figures is
kept.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def rotated(items: Sequence[T], shift: int) -> list[T]:
    """``items`` in round-robin order, starting ``shift`` places further along."""
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


def median(values: Sequence[float]) -> float | None:
    """The median of ``values`` (None when there is none)."""
    return statistics.median(values) if values else None
