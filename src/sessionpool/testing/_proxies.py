"""Real proxies on loopback, with generated configurations: :class:`Tinyproxy` (HTTP) and :class:`Dante` (SOCKS).

Each runs the Debian program in a child process, in the foreground, on a
free port of a loopback address, with its configuration, log and pid file in
a directory of the caller's; each is a context manager, and :meth:`stop`
ends the process by its PID. Their ``url`` is what a client passes as a
proxy, with the credentials in it when authentication is on.

tinyproxy (1.11) serves plain ``http://`` requests and tunnels ``https://``
through ``CONNECT``. It closes every plain request's connection after its
response (no keep-alive towards the client, nor towards the server), while
a ``CONNECT`` tunnel lasts as long as the client keeps it. With ``auth``
it asks for basic proxy credentials: a request without them is answered
``407 Proxy Authentication Required``, one with wrong ones (tinyproxy
1.11's own rule) ``401 Unauthorized``.

Dante (``danted``, 1.4) serves SOCKS4 and SOCKS5 (SOCKS5 with names resolved
by the proxy: ``socks5h://``). It does not take SOCKS4a's names: a
``socks4a://`` URL works for a target given by its address only. Its
username method checks the system's users (the passwd database), so with
``auth=True`` the launcher, as root, makes a throwaway user with a random
password and removes it again in :meth:`Dante.stop`.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import weakref
from pathlib import Path
from typing import IO, TYPE_CHECKING, Union

from sessionpool.testing._nginx import _free_ports

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Dante", "Tinyproxy", "danted_binary", "tinyproxy_binary"]

StrPath = Union[str, "os.PathLike[str]"]

_START_SECONDS = 10.0
_STOP_SECONDS = 10.0
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
#: Characters a generated configuration can carry unquoted (and a URL, unescaped).
_PLAIN = re.compile(r"[A-Za-z0-9._~-]+")
#: What the throwaway users of :class:`Dante` are called: the prefix, then random hex.
_USER_PREFIX = "sessionpool-"
_LOG_TAIL_LINES = 20

_TINYPROXY_CONFIG = """\
Listen {host}
Port {port}
Timeout 600
MaxClients {max_clients}
Allow 127.0.0.0/8
LogFile "{directory}/tinyproxy.log"
LogLevel Info
PidFile "{directory}/tinyproxy.pid"
{auth}{connect_ports}{via}"""

_DANTE_CONFIG = """\
logoutput: {directory}/danted.log
internal: {host} port = {port}
external: {host}
socksmethod: {method}
clientmethod: none
user.privileged: {privileged}
user.unprivileged: {unprivileged}
client pass {{
    from: 127.0.0.0/8 to: 127.0.0.0/8
    log: error
}}
socks pass {{
    from: 127.0.0.0/8 to: 127.0.0.0/8
    command: connect
    protocol: tcp udp
    log: connect error
}}
"""


def tinyproxy_binary() -> str | None:
    """The tinyproxy executable, if this machine has one (on the PATH, or Debian's /usr/bin/tinyproxy)."""
    return _binary("tinyproxy", "/usr/bin/tinyproxy")


def danted_binary() -> str | None:
    """Dante's server executable, if this machine has one (on the PATH, or Debian's /usr/sbin/danted)."""
    return _binary("danted", "/usr/sbin/danted")


def _binary(name: str, debian_path: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return debian_path if os.access(debian_path, os.X_OK) else None


class _ProxyProcess:
    """A proxy program in a child process: started, waited for until it listens, stopped by its PID."""

    _name: str

    def __init__(self, directory: StrPath, host: str, port: int) -> None:
        if ipaddress.ip_address(host) not in _LOOPBACK:
            raise ValueError(f"{type(self).__name__} listens on loopback only (127.0.0.0/8), not {host!r}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or _free_ports(host, 1)[0]
        self._process: subprocess.Popen[bytes] | None = None
        self._termination: weakref.finalize[[subprocess.Popen[bytes], IO[bytes]], _ProxyProcess] | None = None

    @property
    def _log(self) -> Path:
        return self.directory / f"{self._name}.log"

    @property
    def _output_file(self) -> Path:
        return self.directory / f"{self._name}.out"

    def _start(self, argv: list[str]) -> None:
        output = self._output_file.open("wb")
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=output, stderr=output)
        except BaseException:
            output.close()
            raise
        self._process = process
        # Stopped by stop(), or (should it never run) when this object dies or the interpreter exits.
        self._termination = weakref.finalize(self, _terminate, process, output)
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _START_SECONDS
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self._name} exited with {self._process.returncode}: {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self._name} did not listen on {self.host}:{self.port} within {_START_SECONDS:g} s:"
                    f" {self.log_tail()}"
                )
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)

    def log_tail(self) -> str:
        """The last lines of the program's log and of what it wrote on its output, for messages."""
        lines: list[str] = []
        for path in (self._output_file, self._log):
            if path.exists():
                lines += path.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
        return "\n".join(lines) if lines else "(nothing logged)"

    @property
    def pid(self) -> int | None:
        """The PID of the program while it runs; None before it started and once it stopped."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def stop(self) -> None:
        """Terminate the program by its PID (SIGTERM) and wait; SIGKILL if it takes more than 10 s."""
        if self._termination is not None:
            self._termination()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Tinyproxy(_ProxyProcess):
    """tinyproxy in a child process, an HTTP proxy (with ``CONNECT`` for https) on loopback.

    :param directory: a directory for its configuration, log and pid file (made if missing).
    :param auth: ``(user, password)`` it asks every request for (basic proxy
        authentication), or None for none; letters, digits and ``._~-`` only.
    :param connect_ports: the only ports ``CONNECT`` may reach; None: any port.
    :param max_clients: connections it serves at once.
    :param via: the name it gives itself in the ``Via`` header it adds to
        what it forwards (letters, digits and ``._~-``), to tell proxies
        apart at the server; None: the machine's host name.
    :param host: the loopback address to listen on (127.0.0.0/8).
    :param port: the port to listen on; 0 picks a free one.
    :raises RuntimeError: tinyproxy is not installed, or it exited or did not listen within 10 s
        (the message quotes the end of its log).
    """

    _name = "tinyproxy"

    def __init__(
        self,
        directory: StrPath,
        *,
        auth: tuple[str, str] | None = None,
        connect_ports: tuple[int, ...] | None = None,
        max_clients: int = 100,
        via: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        binary = tinyproxy_binary()
        if binary is None:
            raise RuntimeError("tinyproxy is not installed (Debian package tinyproxy)")
        if auth is not None and not all(_PLAIN.fullmatch(part) for part in auth):
            raise ValueError("Tinyproxy's auth user and password take letters, digits and ._~- only")
        if via is not None and not _PLAIN.fullmatch(via):
            raise ValueError("Tinyproxy's via name takes letters, digits and ._~- only")
        super().__init__(directory, host, port)
        self.auth = auth
        config = _TINYPROXY_CONFIG.format(
            host=host,
            port=self.port,
            max_clients=max_clients,
            directory=self.directory,
            auth=f"BasicAuth {auth[0]} {auth[1]}\n" if auth is not None else "",
            connect_ports="".join(f"ConnectPort {port}\n" for port in connect_ports or ()),
            via=f'ViaProxyName "{via}"\n' if via is not None else "",
        )
        (self.directory / "tinyproxy.conf").write_text(config)
        self._start([binary, "-d", "-c", str(self.directory / "tinyproxy.conf")])

    @property
    def url(self) -> str:
        """The proxy URL a client passes: ``http://user:password@host:port`` with auth, ``http://host:port`` without."""
        credentials = f"{self.auth[0]}:{self.auth[1]}@" if self.auth is not None else ""
        return f"http://{credentials}{self.host}:{self.port}"


class Dante(_ProxyProcess):
    """Dante's SOCKS server (``danted``) in a child process, on loopback: SOCKS4 and SOCKS5.

    :param directory: a directory for its configuration, log and pid file (made if missing).
    :param auth: ask every client for a user name and password (SOCKS5's
        username method, which SOCKS4 clients cannot use). Dante checks them
        against the system's users: the launcher makes a throwaway user
        (``sessionpool-`` and random hex, no home, no login shell) with a
        random password, given in :attr:`username` and :attr:`password`, and
        removes it in :meth:`stop`. That takes root.
    :param host: the loopback address to listen on (127.0.0.0/8).
    :param port: the port to listen on; 0 picks a free one.
    :raises RuntimeError: Dante is not installed, ``auth`` without root, or
        Dante exited or did not listen within 10 s (the message quotes the
        end of its log).
    """

    _name = "danted"

    def __init__(self, directory: StrPath, *, auth: bool = False, host: str = "127.0.0.1", port: int = 0) -> None:
        binary = danted_binary()
        if binary is None:
            raise RuntimeError("Dante is not installed (Debian package dante-server)")
        if auth and os.geteuid() != 0:
            raise RuntimeError(
                "Dante(auth=True) needs root: Dante's username method checks the system's users, so the"
                f" launcher makes a throwaway user for it, which only root can do (running as uid {os.geteuid()})"
            )
        super().__init__(directory, host, port)
        #: The user name and password the proxy asks for (None without auth).
        self.username: str | None = None
        self.password: str | None = None
        self._user_removal: weakref.finalize[[str], Dante] | None = None
        if os.geteuid() == 0:
            privileged, unprivileged = "root", "nobody"
        else:  # the one user it can be
            privileged = unprivileged = pwd.getpwuid(os.geteuid()).pw_name
        config = _DANTE_CONFIG.format(
            directory=self.directory,
            host=host,
            port=self.port,
            method="username" if auth else "none",
            privileged=privileged,
            unprivileged=unprivileged,
        )
        (self.directory / "danted.conf").write_text(config)
        try:
            if auth:
                self._add_user()
            self._start([binary, "-f", str(self.directory / "danted.conf"), "-p", str(self.directory / "danted.pid")])
        except BaseException:
            self.stop()
            raise

    def _add_user(self) -> None:
        name = _USER_PREFIX + secrets.token_hex(6)
        password = secrets.token_urlsafe(18)
        _run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name])
        # Removed when stopped, and (should stop() never run) when this object dies or the interpreter exits.
        self._user_removal = weakref.finalize(self, _remove_user, name)
        _run(["chpasswd"], stdin=f"{name}:{password}\n")
        self.username, self.password = name, password

    def url_for(self, scheme: str = "socks5h") -> str:
        """The proxy URL for ``scheme`` (``socks4``, ``socks4a``, ``socks5``, ``socks5h``), with any credentials.

        :raises ValueError: an unknown scheme, or SOCKS4 when the proxy asks
            for a password (SOCKS4 cannot send one).
        """
        if scheme not in ("socks4", "socks4a", "socks5", "socks5h"):
            raise ValueError(f"Dante serves socks4, socks4a, socks5 and socks5h, not {scheme!r}")
        if self.password is None:
            return f"{scheme}://{self.host}:{self.port}"
        if scheme.startswith("socks4"):
            raise ValueError("this Dante asks for a password, which SOCKS4 cannot send: use socks5 or socks5h")
        return f"{scheme}://{self.username}:{self.password}@{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """``socks5h://`` with the credentials if auth is on: the proxy resolves the target's name."""
        return self.url_for("socks5h")

    def stop(self) -> None:
        """Terminate Dante by its PID and wait (SIGKILL after 10 s); then remove the throwaway user, if any."""
        super().stop()
        if self._user_removal is not None:
            self._user_removal()


def _terminate(process: subprocess.Popen[bytes], output: IO[bytes]) -> None:
    """End ``process`` by its PID: SIGTERM, then SIGKILL if it is still running after 10 s; close its output file."""
    try:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        output.close()


def _remove_user(name: str) -> None:
    """Remove the throwaway user ``name`` (and the group of its name that useradd made)."""
    _run(["userdel", name])


def _run(argv: list[str], stdin: str | None = None) -> None:
    completed = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({completed.returncode}): {completed.stderr.strip()}")
