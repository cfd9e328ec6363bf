"""How the test server breaks connections: one small frozen value object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Faults"]


@dataclass(frozen=True, kw_only=True)
class Faults:
    """How :class:`~sessionpool.testing.LocalServer` breaks each connection, after ``after`` responses on it.

    :param after: the responses a connection serves before it is broken (0:
        it is broken before its first response).
    :param on: ``"request"``: when the next request arrives, the server reads
        it in full, records it as not answered, and breaks the connection
        without a byte of response. With ``after=1`` every reused connection
        dies under the request sent on it: the race a server's idle timeout
        causes now and then, made certain. ``"idle"``: once the connection
        has been quiet for ``idle_delay`` seconds (0: at once, as a server
        with a limit of ``after`` requests per connection does); a request
        that arrives sooner is answered, and the wait starts again.
    :param how: ``"fin"``: close the connection (over TLS without a
        close_notify, as servers drop idle connections); ``"rst"``: reset it
        (``SO_LINGER`` 0), as a crashed server or a load balancer does.
    :param idle_delay: seconds of quiet before an ``on="idle"`` break.
    """

    after: int = 1
    on: Literal["request", "idle"] = "request"
    how: Literal["fin", "rst"] = "fin"
    idle_delay: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.after, bool) or not isinstance(self.after, int) or self.after < 0:
            raise ValueError(f"Faults.after must be a whole number >= 0, got {self.after!r}")
        if self.on not in ("request", "idle"):
            raise ValueError(f"Faults.on must be 'request' or 'idle', got {self.on!r}")
        if self.how not in ("fin", "rst"):
            raise ValueError(f"Faults.how must be 'fin' or 'rst', got {self.how!r}")
        if isinstance(self.idle_delay, bool) or not isinstance(self.idle_delay, (int, float)) or self.idle_delay < 0:
            raise ValueError(f"Faults.idle_delay must be seconds >= 0, got {self.idle_delay!r}")
        if self.idle_delay and self.on != "idle":
            raise ValueError("Faults.idle_delay applies to on='idle' only")
