"""A real nginx on 127.0.0.1 for the tests, from the Debian package, with a generated config.

It closes idle keep-alive connections after ``keepalive_timeout`` and after
``keepalive_requests`` requests, as production servers do, and writes an
access log a test can read: one line per request it received.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

CONFIG = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 512; }}
http {{
    log_format requests '$request_method $request_uri $status $connection $connection_requests';
    access_log {prefix}/access.log requests;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_timeout {keepalive_timeout};
    keepalive_requests {keepalive_requests};
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok"; }}
    }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx executable, if this machine has one."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


@dataclass(frozen=True)
class LoggedRequest:
    """One line of the access log."""

    method: str
    uri: str
    status: int
    connection: int
    request_on_connection: int


class Nginx:
    """nginx serving ``200 ok`` on every path; a context manager that stops it."""

    def __init__(self, directory: Path, *, keepalive_timeout: str = "1s", keepalive_requests: int = 5) -> None:
        binary = nginx_binary()
        if binary is None:
            raise RuntimeError("nginx is not installed (Debian package nginx-light)")
        self.directory = directory
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        user = "user root root;" if os.geteuid() == 0 else ""
        config = CONFIG.format(
            prefix=directory,
            user=user,
            port=self.port,
            keepalive_timeout=keepalive_timeout,
            keepalive_requests=keepalive_requests,
        )
        (directory / "nginx.conf").write_text(config)
        self._process = subprocess.Popen(
            [binary, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-e", str(directory / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"nginx exited with {self._process.returncode}: {error}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError("nginx did not start listening within 10 s")

    def access_log(self) -> list[LoggedRequest]:
        """Every request nginx logged so far."""
        path = self.directory / "access.log"
        if not path.exists():
            return []
        entries = []
        for line in path.read_text().splitlines():
            method, uri, status, connection, number = line.split()
            entries.append(LoggedRequest(method, uri, int(status), int(connection), int(number)))
        return entries

    def stop(self) -> None:
        """Stop nginx (a fast shutdown) and wait for it."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process.stderr is not None:
            self._process.stderr.close()

    def __enter__(self) -> Nginx:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
