"""The server every client is measured against: nginx in its own process, or a Python fallback.

Both serve the same two bodies on 127.0.0.1, over plain HTTP and over TLS
(a certificate from a throwaway ``trustme`` CA, whose bundle is written to a
file for the clients), and both count the connections they accepted, so that
each client run can be charged with the connections it opened:

- nginx (Debian's nginx-light): ``worker_processes 1`` (the machine has two
  cores: one for nginx, one for the client), keep-alive for 75 s and a
  million requests, no access log; the count is stub_status' ``accepts``,
  read on a port of its own. Each read opens a connection, which nginx counts
  before it answers, so every read is subtracted exactly.
- the fallback, when nginx is absent: keep-alive HTTP/1.1
  ``ThreadingHTTPServer`` handlers in forked processes sharing the listening
  sockets, counting accepted connections in shared memory (no connection is
  needed to read it). Its numbers are bounded by a Python server.
"""

from __future__ import annotations

import contextlib
import http.client
import multiprocessing
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any, Protocol

import trustme

from processes import die_with_parent, stop

#: What each path serves: 2 bytes, and a 16 KiB static file.
BODIES: dict[str, bytes] = {"/tiny": b"ok", "/16k": bytes(range(256)) * 64}
KEEPALIVE_SECONDS = 75
START_TIMEOUT = 10.0

NGINX_CONFIG = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log off;
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout {keepalive}s;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{http_port};
        listen 127.0.0.1:{https_port} ssl;
        ssl_certificate {prefix}/server.pem;
        ssl_certificate_key {prefix}/server.key;
        root {prefix}/www;
        location = /tiny {{ return 200 "ok"; }}
        location = /16k {{ }}
    }}
    server {{
        listen 127.0.0.1:{status_port};
        location = /status {{ stub_status; }}
    }}
}}
"""


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


def nginx_binary() -> str | None:
    """The nginx executable, if this machine has one."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(ports: list[int], alive: Callable[[], bool], what: str) -> None:
    """Wait until every port accepts a connection; ``alive()`` False means the server died."""
    deadline = time.monotonic() + START_TIMEOUT
    pending = list(ports)
    while pending:
        if not alive():
            raise RuntimeError(f"{what} exited while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on {pending} within {START_TIMEOUT:g} s")
        try:
            socket.create_connection(("127.0.0.1", pending[0]), timeout=0.5).close()
            pending.pop(0)
        except OSError:
            time.sleep(0.02)


class NginxServer:
    """nginx with a generated config in ``directory``; stop() always stops it."""

    kind = "nginx"
    fallback = False

    def __init__(self, binary: str, directory: Path, tls: TLSFiles) -> None:
        self.version = _nginx_version(binary)
        self.description = f"{self.version}, worker_processes 1, keepalive_timeout {KEEPALIVE_SECONDS}s"
        self.ca_bundle = tls.ca_bundle
        www = directory / "www"
        www.mkdir()
        (www / "16k").write_bytes(BODIES["/16k"])
        http_port, https_port, self._status_port = free_port(), free_port(), free_port()
        self.http_url = f"http://127.0.0.1:{http_port}"
        self.https_url = f"https://127.0.0.1:{https_port}"
        config = NGINX_CONFIG.format(
            prefix=directory,
            user="user root root;" if os.geteuid() == 0 else "",
            keepalive=KEEPALIVE_SECONDS,
            http_port=http_port,
            https_port=https_port,
            status_port=self._status_port,
        )
        (directory / "nginx.conf").write_text(config)
        self._error_log = directory / "error.log"
        self._status_reads = 0
        self._process = subprocess.Popen(
            [binary, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-e", str(self._error_log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # the runner has no other thread at this point
        )
        try:
            wait_listening([http_port, https_port, self._status_port], lambda: self._process.poll() is None, "nginx")
        except BaseException as error:
            self.stop()
            log = self._error_log.read_text() if self._error_log.exists() else ""
            raise RuntimeError(f"{error}; nginx error log:\n{log}") from error

    def accepted(self) -> int:
        """stub_status' ``accepts``, less one connection for every read so far (this one included).

        nginx counts a connection when it accepts it, so the read's own
        connection is in the number it returns: n reads have added exactly n.
        """
        connection = http.client.HTTPConnection("127.0.0.1", self._status_port, timeout=10)
        try:
            connection.request("GET", "/status")
            text = connection.getresponse().read().decode()
        finally:
            connection.close()
        self._status_reads += 1
        match = re.search(r"server accepts handled requests\s+(\d+)", text)
        if match is None:
            raise RuntimeError(f"unexpected stub_status answer: {text!r}")
        return int(match.group(1)) - self._status_reads

    def stop(self) -> None:
        """A fast shutdown (SIGTERM), waited for; SIGKILL if it hangs."""
        stop(self._process)


def _nginx_version(binary: str) -> str:
    completed = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    return (completed.stderr or completed.stdout).strip().removeprefix("nginx version: ") or "nginx (unknown version)"


class _Handler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1: the body of the path, with its length."""

    protocol_version = "HTTP/1.1"
    timeout = KEEPALIVE_SECONDS
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def do_GET(self) -> None:
        body = BODIES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _CountingServer(ThreadingHTTPServer):
    """Counts accepted connections in shared memory; wraps them in TLS when given a context.

    The listening socket is non-blocking: the worker processes share it, and
    the one that loses the race for a connection must not block in accept().
    """

    daemon_threads = True
    request_queue_size = 256

    def __init__(self, counter: Synchronized[int], context: ssl.SSLContext | None) -> None:
        self._counter = counter
        self._context = context
        super().__init__(("127.0.0.1", 0), _Handler)
        self.socket.setblocking(False)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = self.socket.accept()  # BlockingIOError when another worker took it: ignored by the caller
        conn.setblocking(True)
        with self._counter.get_lock():
            self._counter.value += 1
        if self._context is not None:
            # The handshake runs in the handler's thread (finish_request), not in the accepting loop.
            conn = self._context.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(KEEPALIVE_SECONDS)
            request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away is not the benchmark's business


def _serve(servers: list[_CountingServer]) -> None:
    """A worker process: serve every listener until terminated."""
    die_with_parent()
    threads = [threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class PythonServer:
    """The fallback: ``processes`` forked workers sharing one HTTP and one HTTPS listener."""

    kind = "python"
    fallback = True

    def __init__(self, tls: TLSFiles, reason: str, processes: int = 2) -> None:
        self.version = f"http.server (Python), {processes} processes"
        self.description = (
            f"FALLBACK: Python ThreadingHTTPServer in {processes} forked processes, not nginx ({reason});"
            " every client's throughput is bounded by this Python server"
        )
        self.ca_bundle = tls.ca_bundle
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls.server_cert), str(tls.server_key))
        fork = multiprocessing.get_context("fork")
        self._counter: Synchronized[int] = fork.Value("q", 0)
        listeners = [_CountingServer(self._counter, None), _CountingServer(self._counter, context)]
        self.http_url = f"http://127.0.0.1:{listeners[0].server_address[1]}"
        self.https_url = f"https://127.0.0.1:{listeners[1].server_address[1]}"
        ports = [int(listener.server_address[1]) for listener in listeners]
        self._workers = [fork.Process(target=_serve, args=(listeners,), daemon=True) for _ in range(processes)]
        try:
            for worker in self._workers:
                worker.start()
        finally:
            for listener in listeners:
                listener.server_close()  # the workers hold their own copies
        try:
            wait_listening(ports, lambda: all(w.is_alive() for w in self._workers), "the Python server")
            self._settle(len(ports))
        except BaseException:
            self.stop()
            raise

    def _settle(self, probes: int) -> None:
        """Wait until the workers have accepted (and counted) the start-up probes, so none lands in a run."""
        deadline = time.monotonic() + START_TIMEOUT
        while self.accepted() < probes and time.monotonic() < deadline:
            time.sleep(0.01)

    def accepted(self) -> int:
        """Connections accepted so far, read from shared memory (no connection needed)."""
        with self._counter.get_lock():
            return int(self._counter.value)

    def stop(self) -> None:
        """Terminate every worker and wait for it; SIGKILL if one hangs."""
        for worker in self._workers:
            if worker.is_alive():
                worker.terminate()
        for worker in self._workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
                worker.join()


@contextlib.contextmanager
def start_server(directory: Path, prefer: str = "auto") -> Iterator[BenchServer]:
    """nginx if it is installed (``prefer="nginx"`` insists on it), else the Python fallback; always stopped."""
    tls = make_tls_files(directory)
    binary = nginx_binary() if prefer != "python" else None
    if prefer == "nginx" and binary is None:
        raise RuntimeError("nginx is not installed (Debian package nginx-light)")
    if binary is not None:
        server: BenchServer = NginxServer(binary, directory, tls)
    else:
        server = PythonServer(tls, "asked for" if prefer == "python" else "nginx is not installed")
    try:
        yield server
    finally:
        server.stop()
