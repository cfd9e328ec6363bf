"""Test your code against the idle-reset race: a fault-injecting keep-alive server, nginx, and their helpers.

Servers close idle keep-alive connections, and a request sent on one just
as it closes fails though the server never saw it. :class:`LocalServer`
makes that race certain instead of rare: with ``Faults(on="request")`` it
closes (FIN) or resets (RST) every connection as it is reused, and with
``Faults(on="idle")`` after it has been quiet for a while; it counts every
request by method and path, and every connection, so a test can prove what
was sent twice and what never was::

    from sessionpool import QueuePool
    from sessionpool.testing import Faults, LocalServer

    with LocalServer(faults=Faults(after=1, how="rst")) as server, QueuePool(size=1) as pool:
        pool.get(server.url + "/a")
        pool.get(server.url + "/b")  # its reused connection is reset: retried on a new one
    assert server.count("GET", "/b") == 2

To test a client against servers that misbehave on purpose,
:class:`HostileServer` writes its answers on a raw socket: bodies trickled
a byte at a time, heads that never end, a ``Content-Length`` that lies, gzip
bombs, huge and close-delimited bodies, redirects to any ``Location``, and
any bytes at all through :meth:`~HostileServer.raw_url` (a ``Retry-After``
of the one byte 0xB2, a status line that is not HTTP). It counts the body
bytes it managed to write, to prove that a client stopped reading early,
and its :meth:`~HostileServer.stop` ends every answer at once.

Also here, shared by sessionpool's own tests, demo and benchmarks:
:class:`ServerProcess` (the same server in a child process,
``python -m sessionpool.testing``), :class:`Nginx` (a real nginx with a
generated configuration), :class:`Tinyproxy` and :class:`Dante` (a real
HTTP proxy and a real SOCKS server, the same way),
:class:`HandRolledSessions` (the per-thread
Session users write by hand: the baseline), and :func:`run_threads`
(threads released together by a barrier).

``import sessionpool`` never imports this module, and this module uses only
sessionpool's public API.
"""

from sessionpool.testing._baseline import DEFAULT_TIMEOUT, HandRolledSessions
from sessionpool.testing._faults import Faults
from sessionpool.testing._handler import RecordedRequest
from sessionpool.testing._hostile import HostileServer
from sessionpool.testing._nginx import LoggedRequest, Nginx, nginx_binary
from sessionpool.testing._process import ServerCounters, ServerProcess
from sessionpool.testing._proxies import Dante, Tinyproxy, danted_binary, tinyproxy_binary
from sessionpool.testing._server import LocalServer
from sessionpool.testing._threads import ThreadsRun, run_threads

__all__ = [
    "DEFAULT_TIMEOUT",
    "Dante",
    "Faults",
    "HandRolledSessions",
    "HostileServer",
    "LocalServer",
    "LoggedRequest",
    "Nginx",
    "RecordedRequest",
    "ServerCounters",
    "ServerProcess",
    "ThreadsRun",
    "Tinyproxy",
    "danted_binary",
    "nginx_binary",
    "run_threads",
    "tinyproxy_binary",
]
