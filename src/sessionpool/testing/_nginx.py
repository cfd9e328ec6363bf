"""A real nginx on loopback, with a generated configuration: the one launcher the tests and the benchmarks share.

nginx closes idle keep-alive connections after ``keepalive_timeout`` and
after ``keepalive_requests`` requests, as production servers do, so a client
can be tested against the real thing. It answers ``200 ok`` on every path
but the ``bodies`` it serves as static files, over HTTP and, given a
certificate and key, over HTTPS on a second port; a third port serves
``stub_status``, from which :meth:`Nginx.connections_accepted` is read. With
``access_log`` it writes one line per request, read by :meth:`Nginx.access_log`.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["LoggedRequest", "Nginx", "nginx_binary"]

StrPath = Union[str, "os.PathLike[str]"]

_START_SECONDS = 10.0
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")

_CONFIG = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    log_format requests '$request_method $request_uri $status $connection $connection_requests $server_protocol';
    access_log {access_log};
    default_type application/octet-stream;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout {keepalive_timeout};
    keepalive_requests {keepalive_requests};
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen {host}:{port};
{tls}        root {prefix}/www;
{files}        location / {{ return 200 "ok"; }}
    }}
    server {{
        listen {host}:{status_port};
        access_log off;
        location = /status {{ stub_status; }}
    }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx executable, if this machine has one (on the PATH, or Debian's /usr/sbin/nginx)."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


@dataclass(frozen=True)
class LoggedRequest:
    """One line of the access log."""

    method: str
    uri: str
    status: int
    connection: int  # nginx's serial number of the connection
    request_on_connection: int  # 1 for the first request on it
    protocol: str = "HTTP/1.1"  # as nginx names it: HTTP/1.0, HTTP/1.1, HTTP/2.0


class Nginx:
    """nginx in a child process with a configuration written to ``directory``; stopped by :meth:`stop` (or ``with``).

    :param directory: a directory for the configuration, logs and files (made if missing).
    :param keepalive_timeout: seconds an idle keep-alive connection is kept (nginx's default: 75).
    :param keepalive_requests: requests served on one connection before it is closed (nginx's default: 1000).
    :param access_log: write the access log that :meth:`access_log` reads.
    :param tls: a certificate chain file and its key file, to serve HTTPS too (at :attr:`https_url`).
    :param http2: offer HTTP/2 on the HTTPS port too (by ALPN; a client that asks for HTTP/1.1 gets it).
    :param bodies: for each path, the body nginx serves there as a static file.
    :param host: the loopback address to listen on (127.0.0.0/8).
    :param preexec_fn: run in the child before nginx starts (see :class:`subprocess.Popen`).
    :raises RuntimeError: nginx is not installed, or did not start listening within 10 s.
    """

    def __init__(
        self,
        directory: StrPath,
        *,
        keepalive_timeout: float = 75,
        keepalive_requests: int = 1000,
        access_log: bool = True,
        tls: tuple[StrPath, StrPath] | None = None,
        http2: bool = False,
        bodies: Mapping[str, bytes] | None = None,
        host: str = "127.0.0.1",
        preexec_fn: Callable[[], object] | None = None,
    ) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (Debian package nginx-light)")
        if http2 and tls is None:
            raise ValueError("Nginx(http2=True) needs tls: HTTP/2 is offered on the HTTPS port")
        if ipaddress.ip_address(host) not in _LOOPBACK:
            raise ValueError(f"Nginx listens on loopback only (127.0.0.0/8), not {host!r}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.version = _version(binary)
        ports = _free_ports(host, 3 if tls is not None else 2)
        self.port, self._status_port = ports[0], ports[-1]
        self.url = f"http://{host}:{self.port}"
        self.https_url = f"https://{host}:{ports[1]}" if tls is not None else None
        self._host = host
        self._own_connections = 0  # the launcher's own, counted by stub_status: left out of connections_accepted()
        config = _CONFIG.format(
            prefix=self.directory,
            user="user root root;" if os.geteuid() == 0 else "",
            access_log=f"{self.directory}/access.log requests" if access_log else "off",
            keepalive_timeout=f"{keepalive_timeout:g}s",
            keepalive_requests=keepalive_requests,
            host=host,
            port=self.port,
            status_port=self._status_port,
            tls=_tls_lines(host, ports[1], tls, http2) if tls is not None else "",
            files=self._write_bodies(bodies or {}),
        )
        (self.directory / "nginx.conf").write_text(config)
        self._process = subprocess.Popen(
            [binary, "-p", str(self.directory), "-c", str(self.directory / "nginx.conf"), "-e", self._error_log],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=preexec_fn,
        )
        try:
            self._wait_until_listening(ports)
        except BaseException:
            self.stop()
            raise

    @property
    def _error_log(self) -> str:
        return str(self.directory / "error.log")

    def _write_bodies(self, bodies: Mapping[str, bytes]) -> str:
        lines = []
        for path, body in bodies.items():
            if not _SAFE_PATH.fullmatch(path) or ".." in path or path.endswith("/"):
                raise ValueError(f"Nginx serves bodies at plain paths such as '/16k', not {path!r}")
            file = self.directory / "www" / path.lstrip("/")
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(body)
            lines.append(f"        location = {path} {{ }}\n")
        return "".join(lines)

    def _wait_until_listening(self, ports: list[int]) -> None:
        deadline = time.monotonic() + _START_SECONDS
        pending = list(ports)
        while pending:
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self._process.returncode}: {self._error_log_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not listen on {pending} within {_START_SECONDS:g} s")
            try:
                socket.create_connection((self._host, pending[0]), timeout=0.5).close()
                self._own_connections += 1
                pending.pop(0)
            except OSError:
                time.sleep(0.02)

    def _error_log_text(self) -> str:
        path = Path(self._error_log)
        return path.read_text() if path.exists() else ""

    def connections_accepted(self) -> int:
        """Connections nginx accepted so far (stub_status' ``accepts``), less the launcher's own.

        nginx counts a connection when it accepts it, so the connection this
        read opens is in the number it returns, and is left out with the rest.
        """
        connection = http.client.HTTPConnection(self._host, self._status_port, timeout=10)
        try:
            connection.request("GET", "/status")
            text = connection.getresponse().read().decode()
        finally:
            connection.close()
        self._own_connections += 1
        match = re.search(r"server accepts handled requests\s+(\d+)", text)
        if match is None:
            raise RuntimeError(f"unexpected stub_status answer: {text!r}")
        return int(match.group(1)) - self._own_connections

    def access_log(self) -> list[LoggedRequest]:
        """Every request nginx logged so far (none without ``access_log``)."""
        path = self.directory / "access.log"
        if not path.exists():
            return []
        entries = []
        for line in path.read_text().splitlines():
            method, uri, status, connection, number, protocol = line.split()
            entries.append(LoggedRequest(method, uri, int(status), int(connection), int(number), protocol))
        return entries

    def stop(self) -> None:
        """A fast shutdown (SIGTERM), waited for; SIGKILL if it takes more than 10 s."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _tls_lines(host: str, port: int, tls: tuple[StrPath, StrPath], http2: bool) -> str:
    certificate, key = (Path(file).resolve() for file in tls)
    return (
        f"        listen {host}:{port} ssl{' http2' if http2 else ''};\n"
        f"        ssl_certificate {certificate};\n"
        f"        ssl_certificate_key {key};\n"
    )


def _version(binary: str) -> str:
    completed = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10, check=False)
    return (completed.stderr or completed.stdout).strip().removeprefix("nginx version: ") or "nginx (unknown version)"


def _free_ports(host: str, count: int) -> list[int]:
    """``count`` distinct ports that nothing listens on now (all held at once while chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((host, 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()
