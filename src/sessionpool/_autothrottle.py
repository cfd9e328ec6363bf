"""Adaptive per-host delay: the :class:`AutoThrottle` value object and its rule.

In the spirit of Scrapy's AutoThrottle: a host that answers in ``latency``
seconds can serve ``target_concurrency`` requests at once if they start
``latency / target_concurrency`` apart. Each response moves the host's delay
halfway toward that figure (at once, if the figure is higher), never below
the delay the user configured (``per_host_delay``, or a site's
``Crawl-delay``) and never above ``max_delay``. A failure (an error, a
``429`` or a ``5xx``) doubles the delay instead: a struggling server is given
room, not pressed harder. Any other answer that is not a success (a redirect,
a ``404``) may raise the delay but never lowers it, since such answers are
small and fast and would make the server look quicker than it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sessionpool._validate import check_number, check_seconds

__all__ = ["AutoThrottle", "next_delay"]


@dataclass(frozen=True, kw_only=True)
class AutoThrottle:
    """Adjust each host's delay toward a target concurrency, from the latencies the pool observes.

    Give it as ``PoolConfig(autothrottle=AutoThrottle())``; the configured
    ``per_host_delay`` is the floor it never goes below.

    :param target_concurrency: how many requests the pool aims to have in
        flight to one host on average (> 0); 1.0 sends to each host about one
        request at a time.
    :param start_delay: seconds between requests to a host before its first
        answer (>= 0).
    :param max_delay: the longest delay a host is given (> 0), however slow
        it answers.
    """

    target_concurrency: float = 1.0
    start_delay: float = 1.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        check_number("AutoThrottle.target_concurrency", self.target_concurrency, allow_zero=False)
        check_seconds("AutoThrottle.start_delay", self.start_delay, allow_zero=True)
        check_seconds("AutoThrottle.max_delay", self.max_delay, allow_zero=False)
        if self.start_delay > self.max_delay:
            raise ValueError(
                f"AutoThrottle.start_delay ({self.start_delay:g} s) must not exceed"
                f" AutoThrottle.max_delay ({self.max_delay:g} s)"
            )


def next_delay(throttle: AutoThrottle, delay: float, latency: float, outcome: str, floor: float) -> float:
    """A host's new delay after an answer that took ``latency`` seconds.

    ``outcome`` is ``"ok"`` (a 2xx), ``"failed"`` (an error, a 429 or a 5xx)
    or ``"other"`` (any other status); ``floor`` is the least delay allowed.
    """
    target = latency / throttle.target_concurrency
    if outcome == "failed":
        new = max(2 * delay, target)
    else:
        new = max(target, (delay + target) / 2)
        if outcome != "ok":
            new = max(new, delay)
    return min(max(new, floor), throttle.max_delay)
