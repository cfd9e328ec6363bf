"""The total deadline of a request (``PoolConfig.deadline``): one clock for every hop and replay, kept on the wire.

requests' ``timeout`` bounds each wait for a byte, not the request: a
server that sends one byte every few seconds holds a thread for as long as
it likes. A deadline bounds the whole call instead:

- :func:`within` opens a :class:`Deadline` for a call on a pooled session
  (:func:`bind_deadline` puts it around the session's ``send``, the fast
  path around its own). Redirect hops and replays run inside the same call,
  so they share its clock; a call nested in another joins the open deadline.
- Every attempt's connect and read timeouts are cut to the time left
  (:func:`clamp_timeout`), and an attempt that would start after the
  deadline is not sent.
- While a request holds a connection, the :class:`Watchdog` watches it, and
  when the deadline passes it shuts the socket down: a ``recv`` blocked on a
  trickling server returns at once, whatever the read timeout.
- Whatever fails once the deadline has passed (a broken read, a body cut
  short, a timeout) is raised as :class:`~sessionpool.DeadlineExceeded`, from
  the call or from reading a streamed body (:func:`guard_stream`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import requests

from sessionpool._attempts import mark_attempts
from sessionpool._errors import DeadlineExceeded

__all__ = [
    "WATCHDOG",
    "Deadline",
    "Watchdog",
    "bind_deadline",
    "clamp_timeout",
    "current",
    "deadline_of",
    "guard_stream",
    "within",
]


class Deadline:
    """The deadline of one call: when it ends, and whether the watchdog had to cut a connection for it.

    :param seconds: how long the call may take, from now.
    """

    __slots__ = ("attempts", "cut", "expires", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        #: Set by the watchdog when it shut a connection down for this deadline.
        self.cut = False
        #: The attempts sent under it so far (redirect hops and replays each count).
        self.attempts = 0

    def remaining(self) -> float:
        """Seconds left, 0 once it has passed."""
        return max(0.0, self.expires - time.monotonic())

    def passed(self) -> bool:
        """Whether the deadline has passed (or a connection was cut for it)."""
        return self.cut or time.monotonic() >= self.expires

    def error(self) -> DeadlineExceeded:
        """The error a call that outlived this deadline raises; :func:`sessionpool.attempts` counts what was sent."""
        error = DeadlineExceeded(
            f"the request took longer than its deadline of {self.seconds:g} s (PoolConfig.deadline:"
            " connecting, sending, the answer and its whole body, redirects and replays included);"
            " its connection was closed",
            deadline=self.seconds,
        )
        mark_attempts(error, self.attempts)
        return error


log = logging.getLogger("sessionpool")

_CURRENT: ContextVar[Deadline | None] = ContextVar("sessionpool_deadline", default=None)


def current() -> Deadline | None:
    """The deadline of the call under way in this thread (or greenlet, or task), if it has one."""
    return _CURRENT.get()


@contextlib.contextmanager
def within(seconds: float | None) -> Iterator[Deadline | None]:
    """Run the block under a deadline of ``seconds`` (None: none), or under the one already open here.

    An error raised in the block after the deadline passed is raised as
    :class:`~sessionpool.DeadlineExceeded`, with the error as its cause.
    """
    if seconds is None:
        yield None
        return
    open_deadline = _CURRENT.get()
    if open_deadline is not None:  # a redirect hop, or a call made inside another: one clock
        yield open_deadline
        return
    deadline = Deadline(seconds)
    token = _CURRENT.set(deadline)
    try:
        with _failures_of(deadline):
            yield deadline
    finally:
        _CURRENT.reset(token)


@contextlib.contextmanager
def _failures_of(deadline: Deadline) -> Iterator[None]:
    """Raise what fails in the block once ``deadline`` passed as its error, with the failure as the cause.

    A block that ends well after the watchdog cut its connection ended
    early, as a body sent until the connection closes seems whole when it
    is cut: that is the deadline's error too.
    """
    try:
        yield
    except DeadlineExceeded:
        raise
    except Exception as error:
        if deadline.passed():
            raise deadline.error() from error
        raise
    if deadline.cut:
        raise deadline.error()


def bind_deadline(session: requests.Session, seconds: float) -> None:
    """Put every call of ``session`` under a deadline of ``seconds``: its ``send`` opens one.

    The class's own ``send`` (requests', or a subclass's) does the work; the
    redirect hops it makes call ``session.send`` again and join the deadline.
    """
    session.send = functools.partial(_send_within, seconds, session)  # type: ignore[method-assign]


def _send_within(seconds: float, session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
    with within(seconds):
        return type(session).send(session, request, **kwargs)


def deadline_of(session: requests.Session) -> float | None:
    """The deadline :func:`bind_deadline` gave ``session``, or None."""
    send = vars(session).get("send")
    if isinstance(send, functools.partial) and send.func is _send_within:
        seconds: float = send.args[0]
        return seconds
    return None


def clamp_timeout(timeout: Any, deadline: Deadline) -> Any:
    """``timeout`` (as requests takes it) with each part cut to the time ``deadline`` leaves.

    Raises :class:`~sessionpool.DeadlineExceeded` when no time is left: the
    attempt is not sent. A urllib3 ``Timeout`` object is cut the same way.
    """
    left = deadline.remaining()
    if left <= 0:
        raise deadline.error()
    if isinstance(timeout, tuple):
        connect, read = timeout
        return (_cut(connect, left), _cut(read, left))
    if timeout is None or isinstance(timeout, (int, float)):
        part = _cut(timeout, left)
        return (part, part)
    connect_timeout = getattr(timeout, "connect_timeout", None)
    read_timeout = getattr(timeout, "read_timeout", None)
    if isinstance(connect_timeout, (int, float, type(None))) and isinstance(read_timeout, (int, float, type(None))):
        return (_cut(connect_timeout, left), _cut(read_timeout, left))
    return timeout


def _cut(part: float | None, left: float) -> float:
    return left if part is None else min(float(part), left)


def guard_stream(response: requests.Response, deadline: Deadline) -> None:
    """Have a streamed body's ``iter_content`` raise :class:`~sessionpool.DeadlineExceeded` once ``deadline`` passed.

    The body is read after the call returned, outside :func:`within`: a
    connection the watchdog cut ends that read with a broken-connection
    error, or with a body that simply stops (one sent until the connection
    closes); both become the deadline's error. ``content``, ``iter_lines``
    and ``text`` read through ``iter_content``.
    """
    own = response.iter_content
    response.iter_content = functools.partial(_iter_within, own, deadline)  # type: ignore[method-assign]


def _iter_within(own: Callable[..., Iterator[Any]], deadline: Deadline, *args: Any, **kwargs: Any) -> Iterator[Any]:
    with _failures_of(deadline):
        yield from own(*args, **kwargs)


class Watchdog:
    """Shuts down the sockets of requests whose deadline passed; one thread for the whole process.

    :meth:`watch` and :meth:`unwatch` are called by the transport as a
    request takes and gives back a connection, so only connections in use
    are watched. The thread sleeps until the earliest deadline among them
    (or until a new, earlier one comes), shuts down the socket of each
    whose deadline has passed, and sleeps again; with nothing watched, it
    waits without waking. The socket is shut down, not closed: the thread
    that reads it still owns it, and finds it at its end.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._watched: dict[Any, Deadline] = {}
        self._wake_at = float("inf")
        self._thread: threading.Thread | None = None

    def watch(self, conn: Any, deadline: Deadline) -> None:
        """Watch ``conn`` (a urllib3 connection a request just took) until :meth:`unwatch`, for ``deadline``."""
        with self._lock:
            self._watched[conn] = deadline
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sessionpool-deadlines", daemon=True)
                self._thread.start()
            if deadline.expires < self._wake_at:
                self._changed.notify()

    def unwatch(self, conn: Any) -> None:
        """Stop watching ``conn``: its request gave it back (or lost it)."""
        with self._lock:
            self._watched.pop(conn, None)

    def watching(self) -> int:
        """How many connections are watched now."""
        with self._lock:
            return len(self._watched)

    def _run(self) -> None:
        while True:  # for the life of the process: it only waits when nothing is watched
            with self._lock:
                doomed = self._take_passed(time.monotonic())
                if not doomed:
                    wait = self._wake_at - time.monotonic() if self._watched else None
                    self._changed.wait(wait)
                    continue
            for conn in doomed:
                try:
                    _shut_down(conn)
                except Exception:  # pragma: no cover - a connection of a kind not foreseen: the others are still cut
                    log.debug("could not cut a connection at its deadline", exc_info=True)

    def _take_passed(self, now: float) -> list[Any]:
        """Under the lock: the watched connections whose deadline passed, no longer watched; the next wake set."""
        doomed = []
        earliest = float("inf")
        for conn, deadline in list(self._watched.items()):
            if deadline.expires <= now:
                deadline.cut = True
                doomed.append(conn)
                del self._watched[conn]
            elif deadline.expires < earliest:
                earliest = deadline.expires
        self._wake_at = earliest
        return doomed

    def _after_fork(self) -> None:
        """In a forked child: no thread, nothing watched (the parent's requests are not the child's)."""
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._watched = {}
        self._wake_at = float("inf")
        self._thread = None


def _shut_down(conn: Any) -> None:
    """Shut down the socket ``conn`` reads from, if it has one; a closed one is left alone."""
    # The socket it reads from: its own, or the one its answer is read from
    # once http.client let go of it (the server said it closes after the answer).
    sock = getattr(conn, "sock", None) or getattr(conn, "sessionpool_socket", None)
    # TLS inside a proxy's TLS is urllib3's SSLTransport, which holds the socket underneath.
    for _ in range(3):
        if sock is None or isinstance(sock, socket.socket):
            break
        sock = getattr(sock, "socket", None)
    if not isinstance(sock, socket.socket):
        return  # still connecting: the connect timeout, cut to the deadline, ends it
    with contextlib.suppress(OSError, ValueError):
        # The plain socket's shutdown, also for a TLS socket: the TLS layer's
        # own would drop its state under the thread still reading it.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


#: The watchdog of this process.
WATCHDOG = Watchdog()

if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=WATCHDOG._after_fork)
