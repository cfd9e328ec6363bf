"""The test server in a process of its own: ``python -m sessionpool.testing``, and :class:`ServerProcess` to run it.

A client measured against the server should not share an interpreter lock
with it. The command serves on an ephemeral port, prints its URL, and stops
when its standard input closes (so also when the parent dies);
:class:`ServerProcess` starts it, and reads its counters over HTTP
(``/_counters``), leaving out the connections and requests it made to ask.
"""

from __future__ import annotations

import argparse
import http.client
import json
import select
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sessionpool.testing._faults import Faults
from sessionpool.testing._server import LocalServer

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ServerCounters", "ServerProcess", "main"]

_START_SECONDS = 10.0


@dataclass(frozen=True)
class ServerCounters:
    """What the server counted so far, less the connections and requests made to ask it."""

    connections_accepted: int
    requests: int
    connections_broken: int


class ServerProcess:
    """:class:`LocalServer` in a child process, started at once and stopped by :meth:`stop` (or ``with``).

    :param faults: how the server breaks connections (see :class:`Faults`).
    :param silent: the server reads every request and never answers.
    :param host: the loopback address it listens on.
    """

    def __init__(self, *, faults: Faults | None = None, silent: bool = False, host: str = "127.0.0.1") -> None:
        command = [sys.executable, "-m", "sessionpool.testing", "--host", host, *_fault_arguments(faults)]
        if silent:
            command.append("--silent")
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], _START_SECONDS)
        self.url = self._process.stdout.readline().strip() if ready else ""
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the test server did not start within {_START_SECONDS:g} s (it printed {self.url!r})")
        address = urlsplit(self.url)
        self._address = (str(address.hostname), int(address.port or 80))
        self._questions = 0  # connections (and requests) made to read the counters

    def counters(self) -> ServerCounters:
        """Ask the server what it counted so far, on a connection of its own (left out of the counts)."""
        connection = http.client.HTTPConnection(*self._address, timeout=10)
        try:
            connection.request("GET", "/_counters")
            counters = json.loads(connection.getresponse().read())
        finally:
            connection.close()
        self._questions += 1  # the server counted this question's connection and request
        return ServerCounters(
            connections_accepted=int(counters["connections_accepted"]) - self._questions,
            requests=int(counters["requests"]) - self._questions,
            connections_broken=int(counters["connections_broken"]),
        )

    def stop(self) -> None:
        """Close the child's standard input, which stops it, and wait for it (killed after 10 s)."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _fault_arguments(faults: Faults | None) -> list[str]:
    if faults is None:
        return []
    return [
        f"--break-on={faults.on}",
        f"--after={faults.after}",
        f"--how={faults.how}",
        f"--idle-delay={faults.idle_delay}",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sessionpool.testing``: serve, print the URL, and stop when standard input closes."""
    parser = argparse.ArgumentParser(
        prog="python -m sessionpool.testing",
        description="Serve keep-alive HTTP/1.1 on loopback, print the URL, and stop when standard input closes."
        " The server can break connections the way servers with idle timeouts do, to test clients against it.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address, 127.0.0.0/8 (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="the port (default: a free one)")
    parser.add_argument(
        "--break-on",
        choices=("request", "idle"),
        default=None,
        help="break every connection after --after responses: when the next request arrives, or once idle",
    )
    parser.add_argument("--after", type=int, default=1, help="responses a connection serves first (default: 1)")
    parser.add_argument("--how", choices=("fin", "rst"), default="fin", help="close (fin) or reset (rst)")
    parser.add_argument("--idle-delay", type=float, default=0.0, help="seconds of quiet before an idle break")
    parser.add_argument("--silent", action="store_true", help="read every request and never answer")
    args = parser.parse_args(argv)
    try:
        faults = None
        if args.break_on is not None:
            faults = Faults(after=args.after, on=args.break_on, how=args.how, idle_delay=args.idle_delay)
        server = LocalServer(faults=faults, silent=args.silent, host=args.host, port=args.port)
    except ValueError as error:
        parser.error(str(error))
    with server:
        print(server.url, flush=True)
        sys.stdin.read()
