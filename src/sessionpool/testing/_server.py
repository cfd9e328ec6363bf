"""The keep-alive HTTP/1.1 test server on loopback: plain or TLS, counting, breaking connections on a script.

It runs in background threads of the calling process, answers on an
ephemeral port of 127.0.0.1 (or another 127.0.0.0/8 address), and records
every request it receives (method, path, headers, body size, the connection
it came on, and whether it was answered), so a test can prove what was sent
twice and what never was. It counts the TCP connections it accepted, those
open now, and those it broke by a fault (see :class:`Faults`), and the most
requests it was answering at once.

Paths it answers (any method):

- ``/echo``: a JSON object with the request's method, path, headers and body size;
- ``/sleep/<seconds>``: answers after that many seconds (at most 10);
- ``/status/<code>``: an empty response with that status;
- ``/redirect/<n>``: a 302 to ``/redirect/<n - 1>``, and to ``/`` from 1;
- ``/respond?status=<code>&header=<Name: value>&body=<text>``: the response
  its query describes, each part optional and ``header`` repeatable (a
  redirect with any status and ``Location``, several ``Set-Cookie``, a
  ``Content-Type`` in place of ``text/plain``, a digest challenge), header
  values and body sent as UTF-8; the body is ``ok`` unless given, and empty
  for a 204 or 304;
- ``/_counters``: a JSON object with the connections accepted, the requests
  received (this one and its connection included) and the connections
  broken so far, for a client in another process;
- a path given in ``bodies``: that body;
- anything else: ``200 ok``, two bytes.

A path given in ``statuses`` first answers the statuses listed for it, one
per request, with the body ``ok`` (a 429 or 503 with ``Retry-After``).
Requests sent to it as a proxy (``GET http://host/path``) are answered as
the path of that URL, and recorded with the absolute URL as their path. A ``silent`` server reads
each request and never answers, until the client gives up.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sessionpool.testing._faults import Faults
from sessionpool.testing._handler import RecordedRequest, Server

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["LocalServer"]

_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class LocalServer:
    """The server, started by :meth:`start` (or ``with``) and stopped by :meth:`stop`.

    :param faults: how to break connections (none: every request is answered).
        The :attr:`faults` attribute may be changed while the server runs.
    :param tls: a server-side TLS context, to serve HTTPS instead of HTTP.
    :param silent: read every request and never answer it.
    :param statuses: for each path (without the query), the statuses its
        first requests get, one per request, in order; then it is routed as usual.
    :param retry_after: the ``Retry-After`` of a scripted 429 or 503.
    :param bodies: for each path, the body a GET of it returns.
    :param host: the loopback address to listen on (127.0.0.0/8).
    :param port: the port; 0 picks a free one.
    """

    def __init__(
        self,
        *,
        faults: Faults | None = None,
        tls: ssl.SSLContext | None = None,
        silent: bool = False,
        statuses: Mapping[str, Sequence[int]] | None = None,
        retry_after: str = "0",
        bodies: Mapping[str, bytes] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if ipaddress.ip_address(host) not in _LOOPBACK:
            raise ValueError(f"LocalServer listens on loopback only (127.0.0.0/8), not {host!r}")
        self._server = Server(
            (host, port),
            tls=tls,
            faults=faults,
            silent=silent,
            statuses=statuses or {},
            retry_after=retry_after,
            bodies=bodies or {},
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="sessionpool-localserver", daemon=True)
        self.host = host
        self.url = f"{'https' if tls is not None else 'http'}://{host}:{self.port}"

    @property
    def faults(self) -> Faults | None:
        """How connections are broken; setting it applies to the next request or wait of every connection."""
        return self._server.faults

    @faults.setter
    def faults(self, faults: Faults | None) -> None:
        self._server.faults = faults

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the start, in order (answered or not)."""
        with self._server.lock:
            return list(self._server.requests)

    def count(self, method: str, path: str) -> int:
        """How many ``method path`` requests arrived, answered or not (``path`` as sent, with any query)."""
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since the start (TLS handshakes that failed included)."""
        return self._server.counters()["connections_accepted"]

    @property
    def connections_broken(self) -> int:
        """Connections a fault closed or reset since the start."""
        return self._server.counters()["connections_broken"]

    @property
    def peak_in_flight(self) -> int:
        """The most requests the server was answering at once (``/sleep/<seconds>`` holds one in flight)."""
        with self._server.lock:
            return self._server.answering_peak

    @property
    def open_connections(self) -> int:
        """Client connections open now."""
        with self._server.lock:
            return len(self._server.open_connections)

    def start(self) -> Self:
        """Listen, and answer in background threads; until then, connections to :attr:`url` are refused."""
        self._server.server_activate()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, drop every open connection, and wait for all threads to end."""
        self._server.stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        with self._server.lock:
            open_connections = list(self._server.open_connections)
        for sock in open_connections:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
