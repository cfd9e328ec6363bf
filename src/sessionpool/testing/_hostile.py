"""The hostile HTTP test server on loopback: answers that trickle, lie and bomb, written on a raw socket.

A client that is safe in production survives servers that send too slowly,
too much, or not what they announced. :class:`HostileServer` is such a
server, on purpose: it writes its answers byte by byte on a plain socket,
so it can send what no well-behaved server library sends (a ``Retry-After``
of the one byte 0xB2, a status line that is not HTTP, a head that never
ends). The paths it answers are listed on the class.

This module is its public face: listening, accepting, counting and
stopping. Each connection is read, bounded and closed by
:mod:`~sessionpool.testing._hostile_handler`, and answered by the routes of
:mod:`~sessionpool.testing._hostile_routes`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import quote_from_bytes

from sessionpool.testing._hostile_handler import Connection, State
from sessionpool.testing._hostile_routes import Routes

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["HostileServer"]

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")

#: Connections served at once: one more is closed as soon as accepted, so a runaway client cannot exhaust threads.
_MAX_OPEN = 256
#: Seconds stop() waits for all the server's threads together.
_STOP_SECONDS = 5.0
#: How often the accepting thread looks whether stop() was called.
_ACCEPT_POLL = 0.05


class HostileServer:
    """The server, started by :meth:`start` (or ``with``) and stopped by :meth:`stop`.

    It runs in daemon threads of the calling process: one accepts, and one
    serves each connection. It reads one request per connection (its head
    at most 64 KiB, else a 431; a body of a given ``Content-Length`` at most
    16 MiB, read and discarded, else a 413), answers as its path says, and
    closes the connection; every head it writes itself says
    ``Connection: close``. It records the target of every request
    (:attr:`paths`), counts connections, and counts the body bytes it
    managed to write per request (:meth:`sent_bytes`), so a test can prove
    that a client stopped reading early.

    Sizes in the query are byte counts, intervals seconds (a float), read
    with :func:`urllib.parse.parse_qs`; a value it cannot follow is answered
    400 with the reason. Paths it answers (any method, ``HEAD`` too, with a
    body), defaults in brackets:

    - ``/trickle?size=N&chunk=K&interval=S`` (1 MiB, 1 byte, 0.5 s): ``200``
      with ``Content-Length: N``, then K bytes at once and every S seconds
      until N are sent (K at most 64 KiB);
    - ``/trickle-chunked?chunk=K&interval=S`` (1 byte, 0.5 s): the same with
      ``Transfer-Encoding: chunked``, a chunk of K bytes every S seconds,
      never the last chunk;
    - ``/slowloris?interval=S`` (1.0 s): ``HTTP/1.1 200 OK``, then a header
      line ``X-Slow-<i>: x`` at once and every S seconds, never the blank
      line that ends the head;
    - ``/silent-head``: nothing at all, until the client goes away;
    - ``/huge?size=N`` (256 MiB): ``Content-Length: N`` and N bytes as fast
      as the client takes them (one 64 KiB block written over and over: the
      server never holds N bytes); ``&chunked=1``: chunked instead, in 64 KiB
      chunks;
    - ``/close-delimited?size=N`` (1 MiB): N bytes with neither
      ``Content-Length`` nor chunking, ended by closing the connection;
    - ``/gzip-bomb?size=N&encoding=E`` (256 MiB, ``gzip``): ``Content-Encoding: E``
      and the ``Content-Length`` of a body that decompresses to N zero bytes,
      about a thousandth of N; ``encoding=deflate`` for zlib's format (what
      HTTP calls deflate). Each size is compressed once, a MiB at a time,
      and kept while the server lives: the first request for it waits the
      1.5 s or so that 256 MiB take;
    - ``/lying-length?size=N&actual=M`` (1 MiB, N // 2): ``Content-Length: N``,
      then M bytes and the close;
    - ``/raw?head=H&body=B``: the bytes of H (status line, headers and the
      blank line, as the caller wrote them), then those of B, then the
      close; both percent-encoded, as :meth:`raw_url` writes them;
    - ``/redirect?to=L&status=C`` (302): a redirect whose ``Location`` is the
      percent-encoded bytes L, exactly, with ``Content-Length: 0``;
    - anything else (``/robots.txt`` too): ``200`` and the body ``ok``.

    :param host: the loopback address to listen on (127.0.0.0/8); any other
        raises :class:`ValueError`.
    :param port: the port; 0 picks a free one.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            loopback = ipaddress.ip_address(host) in _LOOPBACK
        except ValueError:  # a name, not an address: "localhost" may resolve to anything
            loopback = False
        if not loopback:
            raise ValueError(f"HostileServer listens on loopback only (127.0.0.0/8), not {host!r}")
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, port))  # connections are refused until start() listens
        except BaseException:
            self._listener.close()
            raise
        self._port = int(self._listener.getsockname()[1])
        self._state = State()
        self._routes = Routes()
        self._acceptor = threading.Thread(target=self._accept, name=self.thread_name, daemon=True)
        self.host = host
        self.url = f"http://{host}:{self.port}"

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._port

    @property
    def thread_name(self) -> str:
        """The name of its accepting thread, and the start of each connection thread's name."""
        return f"sessionpool-hostileserver-{self._port}"

    @property
    def paths(self) -> list[str]:
        """The target of every request read since the start, in order, as sent (with the query)."""
        with self._state.lock:
            return list(self._state.paths)

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since the start."""
        with self._state.lock:
            return self._state.connections_accepted

    @property
    def open_connections(self) -> int:
        """Client connections open now."""
        with self._state.lock:
            return len(self._state.open)

    def sent_bytes(self, path_prefix: str) -> int:
        """The body bytes written so far for the requests whose target starts with ``path_prefix``.

        Written means handed to the kernel: a client that stopped reading
        early leaves this at its own count plus what the sockets' buffers
        held (a few MiB on loopback), far below a huge body's size.
        """
        with self._state.lock:
            pairs = zip(self._state.paths, self._state.sent, strict=True)
            return sum(sent for path, sent in pairs if path.startswith(path_prefix))

    def raw_url(self, head: bytes, body: bytes = b"") -> str:
        """The URL of ``/raw`` that makes the server write exactly ``head`` then ``body``, then close."""
        return f"{self.url}/raw?head={quote_from_bytes(head, safe='')}&body={quote_from_bytes(body, safe='')}"

    def start(self) -> Self:
        """Listen, and answer in background threads; until then, connections to :attr:`url` are refused."""
        self._listener.listen(128)
        self._listener.settimeout(_ACCEPT_POLL)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting, shut every open connection down, and wait for all threads to end (5 s at most).

        Answers in a pause end at once, and sends blocked on a client that
        does not read fail at once. It may be called more than once.
        """
        state = self._state
        state.stopping.set()
        deadline = time.monotonic() + _STOP_SECONDS
        if self._acceptor.is_alive():
            self._acceptor.join(_STOP_SECONDS)
        self._listener.close()
        # The acceptor has ended, so no connection can be added after this snapshot.
        with state.lock:
            sockets, threads = list(state.open), list(state.threads)
        for sock in sockets:
            with contextlib.suppress(OSError):  # the connection's own thread closed it meanwhile
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _accept(self) -> None:
        """Accept connections, each served by a thread of its own, until stop() is called."""
        state = self._state
        while not state.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener is closed
                return
            with state.lock:
                state.connections_accepted += 1
                if state.stopping.is_set() or len(state.open) >= _MAX_OPEN:
                    sock.close()
                    continue
                state.open.add(sock)
                name = f"{self.thread_name}-{state.connections_accepted}"
                thread = threading.Thread(target=Connection(state, sock, self._routes).serve, name=name, daemon=True)
                # Started under the lock, so that stop() never sees a thread it cannot join yet.
                state.threads = [t for t in state.threads if t.is_alive()]
                state.threads.append(thread)
                thread.start()
