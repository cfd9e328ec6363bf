"""When a failed request is sent again: the :class:`RetryPolicy` value object.

The policy follows the rule Go's net/http uses for replaying requests: only a
request that is safe to send twice (an idempotent method, or one carrying an
idempotency key) is ever sent again after a failure on a connection the
server had already closed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sessionpool._validate import check_bool, check_int, describe

__all__ = ["DEFAULT_REPLAY_METHODS", "DEFAULT_STALE_ATTEMPTS", "RetryPolicy"]

#: Methods that RFC 9110 defines as idempotent: sending one twice has the
#: effect of sending it once, so a replay is safe.
DEFAULT_REPLAY_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})

#: How many times one request may be replayed after stale-connection failures.
DEFAULT_STALE_ATTEMPTS = 3


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """When and how a request that failed is sent again.

    :param replay_stale: replay a replay-safe request whose reused keep-alive
        connection turned out to have been closed by the server. On by
        default: such a failure says nothing about the request or the server.
    :param stale_attempts: at most this many replays of one request for that
        reason; the last error is raised when they run out.
    :param replay_methods: the methods that are safe to send twice. Widen it
        only for an API whose other methods are idempotent too.

    Change a policy by copying it: ``dataclasses.replace(policy, replay_stale=False)``.
    """

    replay_stale: bool = True
    stale_attempts: int = DEFAULT_STALE_ATTEMPTS
    replay_methods: Collection[str] = field(default=DEFAULT_REPLAY_METHODS)

    def __post_init__(self) -> None:
        check_bool("RetryPolicy.replay_stale", self.replay_stale)
        check_int("RetryPolicy.stale_attempts", self.stale_attempts, minimum=0)
        object.__setattr__(self, "replay_methods", _method_set(self.replay_methods))


def _method_set(methods: object) -> frozenset[str]:
    where = "RetryPolicy.replay_methods"
    if isinstance(methods, (str, bytes)) or not isinstance(methods, Collection):
        allowed = "a collection of method names such as {'GET', 'PUT'}"
        raise TypeError(f"{where} must be {allowed}, got {describe(methods)}")
    names: set[str] = set()
    for method in methods:
        if not isinstance(method, str):
            raise TypeError(f"{where} must hold method names (str), got {describe(method)}")
        if not method.isalpha():
            raise ValueError(f"{where} must hold method names made of letters, such as 'GET', got {describe(method)}")
        names.add(method.upper())
    return frozenset(names)
