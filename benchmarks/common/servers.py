"""The servers clients are measured against: one nginx (or the Python test server as a fallback), or N nginx hosts.

The peers suite's server (:func:`start_server`) serves two bodies on
127.0.0.1, over plain HTTP and over TLS (a certificate from a throwaway
``trustme`` CA, whose bundle is written to a file for the clients), and
counts the connections it accepted, so that each client run can be charged
with the connections it opened. It is one of two, both from
:mod:`sessionpool.testing`, which the tests share:

- nginx (Debian's nginx-light, :class:`~sessionpool.testing.Nginx`):
  ``worker_processes 1`` (the machine has two cores: one for nginx, one for
  the client), keep-alive for 75 s and a million requests, no access log;
  the count is stub_status' ``accepts``, less the reads of it.
- the fallback, when nginx is absent: two :class:`~sessionpool.testing.LocalServer`
  (HTTP and HTTPS) in threads of the runner, which only waits while a client
  runs. Its numbers are bounded by a Python server.

The scale-out suite's hosts (:func:`start_hosts`) are N such nginx, plain
HTTP, each on a loopback address of its own (127.0.0.2, 127.0.0.3, ...), so
that a URL list spans several hosts; there is no fallback for them.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil
import trustme

from benchmarks.common.processes import die_with_parent
from sessionpool.testing import LocalServer, Nginx, nginx_binary

#: What each path serves: 2 bytes, and a 16 KiB static file.
BODIES: dict[str, bytes] = {"/tiny": b"ok", "/16k": bytes(range(256)) * 64}
#: The bodies both servers are given; every other path, /tiny included, answers "ok".
STATIC = {"/16k": BODIES["/16k"]}
KEEPALIVE_SECONDS = 75
KEEPALIVE_REQUESTS = 1_000_000


@dataclass(frozen=True)
class TLSFiles:
    """The test CA's bundle (for clients) and the server's certificate chain and key."""

    ca_bundle: Path
    server_cert: Path
    server_key: Path


class BenchServer(Protocol):
    """What the runner needs from a server."""

    kind: str  # "nginx" or "python"
    fallback: bool
    version: str
    description: str
    http_url: str
    https_url: str
    ca_bundle: Path

    def accepted(self) -> int:
        """Client connections accepted so far (reads of the count itself excluded)."""
        ...

    def stop(self) -> None:
        """Stop the server and wait for it."""
        ...


def bench_nginx(
    directory: Path,
    bodies: Mapping[str, bytes],
    *,
    host: str = "127.0.0.1",
    tls: TLSFiles | None = None,
) -> Nginx:
    """nginx as every suite runs it: keep-alive for 75 s and a million requests, no access log, tied to the runner."""
    return Nginx(
        directory,
        keepalive_timeout=KEEPALIVE_SECONDS,
        keepalive_requests=KEEPALIVE_REQUESTS,
        access_log=False,
        tls=None if tls is None else (tls.server_cert, tls.server_key),
        bodies=bodies,
        host=host,
        preexec_fn=die_with_parent,  # the runner has no other thread when it starts nginx
    )


def make_tls_files(directory: Path) -> TLSFiles:
    """A throwaway CA and a certificate it signed for 127.0.0.1, written to ``directory``."""
    ca = trustme.CA()
    files = TLSFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_bundle))
    issued = ca.issue_cert("127.0.0.1", "localhost")
    issued.private_key_pem.write_to_path(str(files.server_key))
    with files.server_cert.open("wb") as chain:
        for pem in issued.cert_chain_pems:
            chain.write(pem.bytes())
    return files


class NginxServer:
    """nginx with a generated config in ``directory``; stop() always stops it."""

    kind = "nginx"
    fallback = False

    def __init__(self, directory: Path, tls: TLSFiles) -> None:
        self._nginx = bench_nginx(directory, STATIC, tls=tls)
        self.version = self._nginx.version
        self.description = f"{self.version}, worker_processes 1, keepalive_timeout {KEEPALIVE_SECONDS}s"
        self.ca_bundle = tls.ca_bundle
        self.http_url = self._nginx.url
        assert self._nginx.https_url is not None
        self.https_url = self._nginx.https_url

    def accepted(self) -> int:
        """stub_status' ``accepts``, less the connections of every read so far (this one included)."""
        return self._nginx.connections_accepted()

    def stop(self) -> None:
        """A fast shutdown (SIGTERM), waited for; SIGKILL if it hangs."""
        self._nginx.stop()


class PythonServer:
    """The fallback: the test server of sessionpool.testing, once for HTTP and once for HTTPS, in this process."""

    kind = "python"
    fallback = True

    def __init__(self, tls: TLSFiles, reason: str) -> None:
        self.version = "sessionpool.testing.LocalServer (Python http.server)"
        self.description = (
            f"FALLBACK: Python ThreadingHTTPServer (sessionpool.testing.LocalServer), not nginx ({reason});"
            " every client's throughput is bounded by this Python server"
        )
        self.ca_bundle = tls.ca_bundle
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls.server_cert), str(tls.server_key))
        self._servers = [LocalServer(bodies=STATIC).start()]
        try:
            self._servers.append(LocalServer(tls=context, bodies=STATIC).start())
        except BaseException:
            self.stop()
            raise
        self.http_url, self.https_url = (server.url for server in self._servers)

    def accepted(self) -> int:
        """Connections both servers accepted so far (counted in this process: no connection needed)."""
        return sum(server.connections_accepted for server in self._servers)

    def stop(self) -> None:
        """Stop both servers and wait for their threads."""
        for server in self._servers:
            server.stop()


@contextlib.contextmanager
def start_server(directory: Path, prefer: str = "auto") -> Iterator[BenchServer]:
    """nginx if it is installed (``prefer="nginx"`` insists on it), else the Python fallback; always stopped."""
    tls = make_tls_files(directory)
    binary = nginx_binary() if prefer != "python" else None
    if prefer == "nginx" and binary is None:
        raise RuntimeError("nginx is not installed (Debian package nginx-light)")
    if binary is not None:
        server: BenchServer = NginxServer(directory, tls)
    else:
        server = PythonServer(tls, "asked for" if prefer == "python" else "nginx is not installed")
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Host:
    """One nginx on its own loopback address, and the PID of its master process."""

    nginx: Nginx
    pid: int


@contextlib.contextmanager
def start_hosts(directory: Path, count: int, bodies: Mapping[str, bytes]) -> Iterator[list[Host]]:
    """``count`` nginx serving ``bodies`` on 127.0.0.2, 127.0.0.3, ...; every one stopped on the way out."""
    runner = psutil.Process()
    with contextlib.ExitStack() as stack:
        hosts = []
        for index in range(count):
            before = {child.pid for child in runner.children()}
            nginx = stack.enter_context(bench_nginx(directory / f"host{index}", bodies, host=f"127.0.0.{index + 2}"))
            (pid,) = {child.pid for child in runner.children()} - before
            hosts.append(Host(nginx, pid))
        yield hosts
