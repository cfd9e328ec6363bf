"""Proxies: the launchers of real ones (tinyproxy, Dante), and every kind of proxy through the managed transport."""

from __future__ import annotations

import gc
import logging
import os
import pwd
import re
import socket
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import trustme

from helpers import TLSFiles, wait_until
from sessionpool import DeadlineExceeded, OpenConnections, PoolListener, ProxyStats, QueuePool
from sessionpool._deadline import WATCHDOG
from sessionpool.testing import (
    Dante,
    Faults,
    HostileServer,
    LocalServer,
    RecordedRequest,
    Tinyproxy,
    danted_binary,
    run_threads,
    tinyproxy_binary,
)

#: The proxy password of the tinyproxy the tests share: it must never show anywhere.
TINYPROXY_PASSWORD = "tp-Secret-7Qx"


def _require(binary: Callable[[], str | None], program: str, package: str) -> None:
    """Go on only where ``program`` is installed: in CI (which installs it) a missing one fails; locally it skips."""
    if binary() is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is required in CI and is missing: .ci/run should have installed {package}")
        pytest.skip(f"{program} is not installed here (apt-get install {package}); CI runs this test")


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("Dante(auth=True) makes a throwaway system user, which takes root")


@pytest.fixture(scope="module")
def tinyproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tinyproxy]:
    """tinyproxy asking for basic proxy credentials (``sessionpool``, :data:`TINYPROXY_PASSWORD`)."""
    _require(tinyproxy_binary, "tinyproxy", "tinyproxy")
    with Tinyproxy(tmp_path_factory.mktemp("tinyproxy"), auth=("sessionpool", TINYPROXY_PASSWORD)) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def dante(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dante]:
    """Dante without authentication: SOCKS4 and SOCKS5."""
    _require(danted_binary, "Dante", "dante-server")
    with Dante(tmp_path_factory.mktemp("dante")) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def dante_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dante]:
    """Dante asking for a user name and password (SOCKS5), a throwaway system user's."""
    _require(danted_binary, "Dante", "dante-server")
    _require_root()
    with Dante(tmp_path_factory.mktemp("dante-auth"), auth=True) as proxy:
        yield proxy


def _plain_get(url: str, proxy: str, **kwargs: object) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, proxies={"http": proxy, "https": proxy}, timeout=10, **kwargs)  # type: ignore[arg-type]


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# -- the launchers -------------------------------------------------------------


def test_tinyproxy_serves_with_the_credentials_of_its_url(tinyproxy: Tinyproxy, server: LocalServer) -> None:
    assert tinyproxy.url == f"http://sessionpool:{TINYPROXY_PASSWORD}@127.0.0.1:{tinyproxy.port}"
    assert tinyproxy.pid is not None
    assert _plain_get(f"{server.url}/a", tinyproxy.url).text == "ok"
    assert _plain_get(f"{server.url}/b", f"http://127.0.0.1:{tinyproxy.port}").status_code == 407
    assert [request.path for request in server.requests] == ["/a"]


@pytest.mark.parametrize("scheme", ["socks4", "socks4a", "socks5", "socks5h"])
def test_dante_serves_each_socks_version(dante: Dante, server: LocalServer, scheme: str) -> None:
    url = dante.url_for(scheme)
    assert url == f"{scheme}://127.0.0.1:{dante.port}"
    assert _plain_get(f"{server.url}/{scheme}", url).text == "ok"
    assert server.count("GET", f"/{scheme}") == 1


def test_dante_with_auth_checks_a_throwaway_user_that_stop_removes(tmp_path: Path, server: LocalServer) -> None:
    _require(danted_binary, "Dante", "dante-server")
    _require_root()
    with Dante(tmp_path, auth=True) as proxy:
        assert proxy.username is not None
        assert proxy.password is not None
        assert proxy.username.startswith("sessionpool-")
        assert _user_exists(proxy.username)
        assert proxy.url == f"socks5h://{proxy.username}:{proxy.password}@127.0.0.1:{proxy.port}"
        assert _plain_get(f"{server.url}/in", proxy.url).text == "ok"
        with pytest.raises(requests.ConnectionError, match="SOCKS5 authentication failed"):
            _plain_get(f"{server.url}/wrong", proxy.url.replace(proxy.password, "wrong"))
        with pytest.raises(ValueError, match="SOCKS4 cannot send"):
            proxy.url_for("socks4")
    assert proxy.pid is None
    assert not _user_exists(proxy.username)
    assert [request.path for request in server.requests] == ["/in"]


def test_dante_with_auth_needs_root_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require(danted_binary, "Dante", "dante-server")
    monkeypatch.setattr(os, "geteuid", lambda: 65534)  # as an ordinary user (nothing is started)
    with pytest.raises(RuntimeError) as raised:
        Dante(tmp_path, auth=True)
    assert str(raised.value) == (
        "Dante(auth=True) needs root: Dante's username method checks the system's users, so the launcher makes"
        " a throwaway user for it, which only root can do (running as uid 65534)"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("launcher", [Tinyproxy, Dante])
def test_a_launcher_listens_on_loopback_only(launcher: Callable[..., object], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"loopback only \(127.0.0.0/8\), not '0.0.0.0'"):
        launcher(tmp_path, host="0.0.0.0")


@pytest.mark.parametrize(
    ("launcher", "complaint"),
    [(Tinyproxy, "Could not create listening sockets"), (Dante, "Address already in use")],
)
def test_a_proxy_that_cannot_listen_says_why_with_its_log(
    launcher: Callable[..., Tinyproxy | Dante], complaint: str, tmp_path: Path
) -> None:
    _require(tinyproxy_binary if launcher is Tinyproxy else danted_binary, launcher.__name__, "its package")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))  # bound, not listening: a connect to it is refused
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"exited with \d+: (.|\n)*{complaint}"):
            launcher(tmp_path, port=port)


def test_a_proxy_dropped_without_stop_is_still_stopped(tmp_path: Path) -> None:
    _require(tinyproxy_binary, "tinyproxy", "tinyproxy")
    proxy = Tinyproxy(tmp_path)
    pid = proxy.pid
    assert pid is not None
    del proxy
    gc.collect()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ended and reaped


# -- every kind of proxy through the managed transport -------------------------


@dataclass(frozen=True)
class Route:
    """One way to a target server through a proxy."""

    name: str
    proxy: str  # the proxy URL, with its credentials
    password: str | None  # what must never show
    tls: bool  # the target serves https
    keep_alive: bool  # the pool's connection outlives a request (tinyproxy closes each plain one)
    proxy_port: int | None  # plain http through an HTTP proxy: the pool's connections are to the proxy

    def origin(self, target: LocalServer) -> tuple[str, str, int]:
        """What the pool's events name a connection by."""
        if self.proxy_port is not None:
            return ("http", "127.0.0.1", self.proxy_port)
        return ("https" if self.tls else "http", "127.0.0.1", target.port)


#: plain http through tinyproxy; https through its CONNECT; each SOCKS version through Dante,
#: with and without its username auth (SOCKS5 only), and https over SOCKS5h.
ROUTES = (
    *("http-proxy", "connect"),
    *("socks4", "socks4a", "socks5", "socks5h", "socks5-auth", "socks5h-auth", "socks5h-tls"),
)
KEEP_ALIVE_ROUTES = tuple(name for name in ROUTES if name != "http-proxy")
AUTH_ROUTES = ("http-proxy", "connect", "socks5-auth", "socks5h-auth")


@pytest.fixture
def route(request: pytest.FixtureRequest) -> Route:
    name: str = request.param
    if name in ("http-proxy", "connect"):
        proxy: Tinyproxy = request.getfixturevalue("tinyproxy")
        http = name == "http-proxy"
        return Route(name, proxy.url, TINYPROXY_PASSWORD, not http, not http, proxy.port if http else None)
    dante: Dante = request.getfixturevalue("dante_auth" if name.endswith("-auth") else "dante")
    return Route(name, dante.url_for(name.split("-")[0]), dante.password, name.endswith("-tls"), True, None)


@pytest.fixture
def targets(ca: trustme.CA) -> Iterator[Callable[..., LocalServer]]:
    """Starts target servers (``tls``: HTTPS with a certificate of the test CA), all stopped at the end."""
    with ExitStack() as stack:

        def start(*, tls: bool, faults: Faults | None = None) -> LocalServer:
            context = None
            if tls:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                ca.issue_cert("127.0.0.1").configure_cert(context)
            return stack.enter_context(LocalServer(tls=context, faults=faults))

        yield start


def _pool(route: Route, tls_files: TLSFiles, **fields: Any) -> QueuePool:
    proxies = {"http": route.proxy, "https": route.proxy}
    return QueuePool(size=1, trust_env=False, proxies=proxies, verify=tls_files.ca_bundle, **fields)


class Recorder(PoolListener):
    """Keeps the connections and retries a pool tells of."""

    def __init__(self) -> None:
        self.connections: list[tuple[str, str, int]] = []
        self.retries: list[tuple[str | None, str, int]] = []

    def connection_opened(self, scheme: str, host: str, port: int) -> None:
        self.connections.append((scheme, host, port))

    def request_retried(self, request: requests.PreparedRequest, reason: str, attempt: int) -> None:
        self.retries.append((request.url, reason, attempt))


def _without_addresses(text: str) -> str:
    """``text`` without object addresses (urllib3 2.0 names a connection by its repr)."""
    return re.sub(r" at 0x[0-9a-f]+", "", text)


@pytest.mark.parametrize("route", ROUTES, indirect=True)
def test_every_request_and_connection_through_a_proxy_is_counted(
    route: Route, targets: Callable[..., LocalServer], tls_files: TLSFiles
) -> None:
    target = targets(tls=route.tls)
    recorder = Recorder()
    with _pool(route, tls_files) as pool:
        pool.add_listener(recorder)
        with pool.session() as session:
            for n in range(30):
                assert session.get(f"{target.url}/{n}").text == "ok"
        stats = pool.stats()
    assert stats.requests == 30
    assert stats.connections_opened == target.connections_accepted == (1 if route.keep_alive else 30)
    assert stats.requests_reused == (29 if route.keep_alive else 0)
    assert recorder.connections == [route.origin(target)] * stats.connections_opened
    assert [request.path for request in target.requests] == [f"/{n}" for n in range(30)]


@pytest.mark.parametrize("route", KEEP_ALIVE_ROUTES, indirect=True)
def test_a_connection_through_a_proxy_idle_too_long_is_replaced(
    route: Route, targets: Callable[..., LocalServer], tls_files: TLSFiles
) -> None:
    target = targets(tls=route.tls)
    with _pool(route, tls_files, keepalive_expiry=0.3) as pool, pool.session() as session:
        assert session.get(f"{target.url}/first").text == "ok"
        time.sleep(0.5)
        assert session.get(f"{target.url}/after-a-while").text == "ok"
        stats = pool.stats()
        assert pool.open_connections() == [
            OpenConnections(scheme=route.origin(target)[0], host="127.0.0.1", port=target.port, idle=1, active=0)
        ]
    assert stats.idle_connections_discarded == 1
    assert stats.connections_opened == target.connections_accepted == 2
    assert (stats.requests, stats.requests_reused) == (2, 0)


@pytest.mark.parametrize("route", KEEP_ALIVE_ROUTES, indirect=True)
def test_a_stale_connection_through_a_proxy_is_replayed_for_a_get(
    route: Route, targets: Callable[..., LocalServer], tls_files: TLSFiles
) -> None:
    target = targets(tls=route.tls, faults=Faults(after=1))  # every reused connection dies under its request
    recorder = Recorder()
    with _pool(route, tls_files, keepalive_expiry=None) as pool, pool.session() as session:
        pool.add_listener(recorder)
        assert session.get(f"{target.url}/a").text == "ok"
        assert session.get(f"{target.url}/b").text == "ok"
        stats = pool.stats()
    assert target.count("GET", "/b") == 2
    assert (stats.stale_retries, stats.requests, stats.connections_opened) == (1, 3, 2)
    assert recorder.retries == [(f"{target.url}/b", "stale", 2)]


@pytest.mark.parametrize("route", KEEP_ALIVE_ROUTES, indirect=True)
def test_a_stale_connection_through_a_proxy_is_not_replayed_for_a_post(
    route: Route, targets: Callable[..., LocalServer], tls_files: TLSFiles
) -> None:
    target = targets(tls=route.tls, faults=Faults(after=1))
    with _pool(route, tls_files, keepalive_expiry=None) as pool, pool.session() as session:
        assert session.get(f"{target.url}/a").text == "ok"
        with pytest.raises(requests.ConnectionError):
            session.post(f"{target.url}/order", data=b"one book")
        stats = pool.stats()
    assert target.count("POST", "/order") == 1
    assert (stats.stale_retries, stats.unsafe_not_retried) == (0, 1)


@pytest.mark.parametrize("route", KEEP_ALIVE_ROUTES, indirect=True)
def test_a_new_connection_through_a_proxy_that_breaks_is_not_taken_for_a_stale_one(
    route: Route, targets: Callable[..., LocalServer], tls_files: TLSFiles
) -> None:
    # Through CONNECT the tunnel is open before the first request: the
    # connection is new all the same, and its failure a read error.
    target = targets(tls=route.tls, faults=Faults(after=0))  # every connection breaks under its first request
    with _pool(route, tls_files) as pool:
        with pytest.raises(requests.ConnectionError):
            pool.get(f"{target.url}/first")
        stats = pool.stats()
    assert target.count("GET", "/first") == 1
    assert (stats.requests, stats.requests_reused, stats.stale_retries) == (1, 0, 0)


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https-connect"])
@pytest.mark.parametrize("credentials", ["none", "wrong"])
def test_refused_proxy_credentials_are_reported_as_requests_does(
    tinyproxy: Tinyproxy, targets: Callable[..., LocalServer], tls_files: TLSFiles, tls: bool, credentials: str
) -> None:
    target = targets(tls=tls)
    proxy = f"http://127.0.0.1:{tinyproxy.port}"
    if credentials == "wrong":
        proxy = f"http://sessionpool:not-the-password@127.0.0.1:{tinyproxy.port}"
    route = Route("refused", proxy, TINYPROXY_PASSWORD, tls, tls, None)
    with _pool(route, tls_files) as pool:
        if tls:  # the tunnel is refused: requests' ProxyError, with the proxy's status in its message
            with pytest.raises(requests.exceptions.ProxyError) as pooled:
                pool.get(f"{target.url}/x")
            with pytest.raises(requests.exceptions.ProxyError) as plain:
                _plain_get(f"{target.url}/x", proxy, verify=tls_files.ca_bundle)
            assert _without_addresses(str(pooled.value)) == _without_addresses(str(plain.value))
            status = int(re.findall(r"Tunnel connection failed: (\d+)", str(pooled.value))[0])
        else:  # plain http: the proxy's answer
            status = pool.get(f"{target.url}/x").status_code
            assert _plain_get(f"{target.url}/x", proxy).status_code == status
    # 407 Proxy Authentication Required without credentials; tinyproxy 1.11 answers wrong ones 401.
    assert status == 407 if credentials == "none" else status in (401, 407)
    assert target.requests == []


def test_a_refused_socks_password_is_reported_as_requests_does(
    dante_auth: Dante, server: LocalServer, tls_files: TLSFiles
) -> None:
    assert dante_auth.password is not None
    proxy = dante_auth.url_for("socks5").replace(dante_auth.password, "not-the-password")
    route = Route("refused", proxy, dante_auth.password, False, True, None)
    with _pool(route, tls_files) as pool, pytest.raises(requests.ConnectionError) as pooled:
        pool.get(f"{server.url}/x")
    with pytest.raises(requests.ConnectionError) as plain:
        _plain_get(f"{server.url}/x", proxy)
    assert "SOCKS5 authentication failed" in str(pooled.value)
    assert _without_addresses(str(pooled.value)) == _without_addresses(str(plain.value))
    assert server.requests == []


@pytest.mark.parametrize("route", AUTH_ROUTES, indirect=True)
def test_no_proxy_password_shows_in_a_repr_message_figure_or_log_line(
    route: Route, targets: Callable[..., LocalServer], tls_files: TLSFiles, caplog: pytest.LogCaptureFixture
) -> None:
    assert route.password is not None
    target = targets(tls=route.tls, faults=Faults(after=1) if route.keep_alive else None)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # nothing listens there
        dead = f"{'https' if route.tls else 'http'}://127.0.0.1:{closed.getsockname()[1]}/"
        recorder = Recorder()
        seen: list[str] = []
        with caplog.at_level(logging.DEBUG), _pool(route, tls_files) as pool, pool.session() as session:
            pool.add_listener(recorder)
            session.get(f"{target.url}/a")
            session.get(f"{target.url}/b")  # a stale replay, where the connection is kept
            try:
                seen.append(f"{session.get(dead).status_code}")  # tinyproxy answers for the target
            except requests.RequestException as error:
                seen += [str(error), repr(error), repr(error.args)]
            stats = pool.stats()
            seen += [repr(pool), repr(stats), repr(pool.config), repr(pool.open_connections()), str(recorder.__dict__)]
    assert stats.requests >= 3
    seen += [*stats.hosts, caplog.text, *(record.getMessage() for record in caplog.records)]
    assert [text for text in seen if route.password in text] == []


def test_socks_connections_are_made_with_the_pools_transport_options(
    dante: Dante, server: LocalServer, tls_files: TLSFiles
) -> None:
    route = Route("socks5", dante.url_for("socks5"), None, False, True, None)
    with _pool(route, tls_files, source_address=("127.0.0.2", 0)) as pool:
        assert pool.get(f"{server.url}/from").text == "ok"
    log = (dante.directory / "danted.log").read_text()
    assert re.search(r"127\.0\.0\.2\.\d+ 127\.0\.0\.1\." + str(dante.port), log), log[-2000:]


# -- proxy rotation --------------------------------------------------------------


@pytest.fixture(scope="module")
def two_proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tinyproxy, Tinyproxy]]:
    """Two tinyproxy instances without auth, named ``first`` and ``second`` in the Via header they add."""
    _require(tinyproxy_binary, "tinyproxy", "tinyproxy")
    with (
        Tinyproxy(tmp_path_factory.mktemp("first"), via="first") as first,
        Tinyproxy(tmp_path_factory.mktemp("second"), via="second") as second,
    ):
        yield first, second


@pytest.fixture
def dead_proxy() -> Iterator[str]:
    """The URL of a proxy that refuses every connection: a loopback port bound, nothing listening."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{closed.getsockname()[1]}"


def _forwarded_by(recorded: RecordedRequest) -> str:
    """Which tinyproxy passed a request on, by the name in its Via header."""
    return recorded.headers["Via"].split()[1]


def _rotating_pool(*proxies: str, size: int = 4, **fields: Any) -> QueuePool:
    return QueuePool(size=size, trust_env=False, proxy_rotation=proxies, **fields)


def test_sessions_are_bound_to_the_proxies_in_turn(
    two_proxies: tuple[Tinyproxy, Tinyproxy], server: LocalServer
) -> None:
    first, second = two_proxies
    with _rotating_pool(first.url, second.url) as pool, ExitStack() as stack:
        sessions = [stack.enter_context(pool.session()) for _ in range(4)]
        for number, session in enumerate(sessions):
            for _ in range(3):
                assert session.get(f"{server.url}/{number}").text == "ok"
        stats = pool.stats()
    in_turn = [name for name in ("first", "second") * 2 for _ in range(3)]  # each session's three requests
    assert [_forwarded_by(recorded) for recorded in server.requests] == in_turn
    assert stats.proxies == {
        f"http://127.0.0.1:{first.port}": ProxyStats(requests=6, failures=0, benched=0, sessions=2, benched_seconds=0),
        f"http://127.0.0.1:{second.port}": ProxyStats(requests=6, failures=0, benched=0, sessions=2, benched_seconds=0),
    }


def test_a_rotation_mixes_kinds_of_proxy_and_names_them_without_credentials(
    tinyproxy: Tinyproxy, dante_auth: Dante, server: LocalServer
) -> None:
    with _rotating_pool(tinyproxy.url, dante_auth.url, size=2) as pool, ExitStack() as stack:
        for session in [stack.enter_context(pool.session()) for _ in range(2)]:
            assert session.get(f"{server.url}/mixed").text == "ok"
        stats = pool.stats()
        shown = [repr(pool), repr(stats), repr(pool.config)]
    assert list(stats.proxies) == [f"http://127.0.0.1:{tinyproxy.port}", f"socks5h://127.0.0.1:{dante_auth.port}"]
    assert [figures.requests for figures in stats.proxies.values()] == [1, 1]
    assert dante_auth.password is not None
    assert [text for text in shown if TINYPROXY_PASSWORD in text or dante_auth.password in text] == []


def test_a_connect_failure_is_sent_again_through_the_next_proxy_even_a_post(
    two_proxies: tuple[Tinyproxy, Tinyproxy], dead_proxy: str, server: LocalServer
) -> None:
    first, _ = two_proxies
    with _rotating_pool(dead_proxy, first.url, size=1) as pool:
        response = pool.post(f"{server.url}/order", data=b"one book")
        stats = pool.stats()
    assert response.text == "ok"
    assert server.count("POST", "/order") == 1
    assert _forwarded_by(server.requests[0]) == "first"
    assert stats.proxies[dead_proxy] == ProxyStats(requests=1, failures=1, benched=0, sessions=1, benched_seconds=0)
    assert stats.proxies[f"http://127.0.0.1:{first.port}"].requests == 1
    assert (stats.stale_retries, stats.transient_retries, stats.unsafe_not_retried) == (0, 0, 0)


def test_a_proxy_that_keeps_failing_is_benched_and_tried_again_after_its_cooldown(
    two_proxies: tuple[Tinyproxy, Tinyproxy], dead_proxy: str, server: LocalServer
) -> None:
    first, _ = two_proxies
    with _rotating_pool(dead_proxy, first.url, size=1, proxy_cooldown=0.5) as pool, pool.session() as session:
        for number in range(3):  # bound to the dead proxy: each fails there, then goes through the live one
            assert session.get(f"{server.url}/{number}").text == "ok"
        benched = pool.stats().proxies[dead_proxy]
        assert (benched.requests, benched.failures, benched.benched) == (3, 3, 1)
        assert 0 < benched.benched_seconds <= 0.5
        assert session.get(f"{server.url}/while-benched").text == "ok"
        assert pool.stats().proxies[dead_proxy].requests == 3  # not tried while benched
        assert wait_until(lambda: pool.stats().proxies[dead_proxy].benched_seconds == 0, seconds=5)
        assert session.get(f"{server.url}/after-the-cooldown").text == "ok"
        again = pool.stats().proxies[dead_proxy]
    # Tried again; no response came through it since, so its next failure benched it again at once.
    assert (again.requests, again.failures, again.benched) == (4, 4, 2)
    assert again.benched_seconds > 0
    assert pool.stats().proxies[f"http://127.0.0.1:{first.port}"].requests == 5
    paths = [recorded.path for recorded in server.requests]
    assert paths == ["/0", "/1", "/2", "/while-benched", "/after-the-cooldown"]


def test_a_response_ends_a_proxys_run_of_failures(tmp_path: Path, server: LocalServer) -> None:
    _require(tinyproxy_binary, "tinyproxy", "tinyproxy")
    with Tinyproxy(tmp_path / "spare", via="spare") as spare:
        with socket.socket() as reserved:
            reserved.bind(("127.0.0.1", 0))
            port = reserved.getsockname()[1]
        flaky = f"http://127.0.0.1:{port}"
        with _rotating_pool(flaky, spare.url, size=1) as pool, pool.session() as session:
            for number in range(2):  # down: two failures in a row
                assert session.get(f"{server.url}/down-{number}").text == "ok"
            with Tinyproxy(tmp_path / "flaky", via="flaky", port=port):  # up: a response
                assert session.get(f"{server.url}/up").text == "ok"
            for number in range(2):  # down again: two more, not three in a row
                assert session.get(f"{server.url}/down-again-{number}").text == "ok"
            figures = pool.stats().proxies[flaky]
    assert (figures.requests, figures.failures, figures.benched) == (5, 4, 0)
    assert [_forwarded_by(recorded) for recorded in server.requests] == ["spare", "spare", "flaky", "spare", "spare"]


def test_when_every_proxy_is_benched_the_one_back_first_is_tried(dead_proxy: str, server: LocalServer) -> None:
    with socket.socket() as also_closed:
        also_closed.bind(("127.0.0.1", 0))
        other = f"http://127.0.0.1:{also_closed.getsockname()[1]}"
        with _rotating_pool(dead_proxy, other, size=1, proxy_failure_limit=1, proxy_cooldown=30) as pool:
            with pytest.raises(requests.exceptions.ProxyError):
                pool.get(f"{server.url}/")  # the bound proxy fails, then the other: both benched, in that order
            with pytest.raises(requests.exceptions.ProxyError):
                pool.get(f"{server.url}/")  # all benched: the one whose bench ends first, and no other
            stats = pool.stats()
    assert stats.proxies[dead_proxy] == ProxyStats(
        requests=2, failures=2, benched=1, sessions=1, benched_seconds=stats.proxies[dead_proxy].benched_seconds
    )
    assert (stats.proxies[other].requests, stats.proxies[other].benched) == (1, 1)
    assert server.requests == []


def test_a_failure_once_connected_is_not_sent_through_another_proxy(
    two_proxies: tuple[Tinyproxy, Tinyproxy], targets: Callable[..., LocalServer], tls_files: TLSFiles
) -> None:
    # Through CONNECT, a connection the server breaks under its first request
    # is a ProxyError to urllib3: the request went out, so it is not sent again.
    first, second = two_proxies
    target = targets(tls=True, faults=Faults(after=0))
    with _rotating_pool(first.url, second.url, size=1, verify=tls_files.ca_bundle) as pool:
        with pytest.raises(requests.ConnectionError):
            pool.post(f"{target.url}/order", data=b"one book")
        stats = pool.stats()
    assert target.count("POST", "/order") == 1
    assert [(figures.requests, figures.failures) for figures in stats.proxies.values()] == [(1, 0), (0, 0)]


def test_the_rotation_wins_over_proxies_from_the_environment(
    two_proxies: tuple[Tinyproxy, Tinyproxy], dead_proxy: str, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = two_proxies
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, dead_proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1")
    with QueuePool(size=1, trust_env=True, proxy_rotation=(first.url,)) as pool:
        assert pool.get(f"{server.url}/env").text == "ok"
        assert pool.get(f"{server.url}/call", proxies={"http": dead_proxy}).text == "ok"
        stats = pool.stats()
    assert [_forwarded_by(recorded) for recorded in server.requests] == ["first", "first"]
    assert list(stats.proxies) == [f"http://127.0.0.1:{first.port}"]


@pytest.mark.usefixtures("tiny_switch_interval")
def test_rotation_under_thread_contention_answers_every_request_once(
    two_proxies: tuple[Tinyproxy, Tinyproxy], dead_proxy: str, server: LocalServer
) -> None:
    first, second = two_proxies
    threads, per_thread = 16, 12
    statuses: list[int] = []
    with _rotating_pool(first.url, dead_proxy, second.url, size=8, proxy_cooldown=0.2) as pool:

        def work(number: int) -> None:
            for request in range(per_thread):
                method = "POST" if request % 2 else "GET"
                response = pool.request(method, f"{server.url}/{number}/{request}", data=b"x" if request % 2 else None)
                statuses.append(response.status_code)

        run_threads(threads, work, seconds=120)
        stats = pool.stats()
    assert statuses == [200] * threads * per_thread
    counts = Counter((recorded.method, recorded.path) for recorded in server.requests)
    expected = {
        ("POST" if request % 2 else "GET", f"/{number}/{request}")
        for number in range(threads)
        for request in range(per_thread)
    }
    assert set(counts) == expected
    assert set(counts.values()) == {1}  # every request answered exactly once
    live = [stats.proxies[f"http://127.0.0.1:{proxy.port}"] for proxy in (first, second)]
    dead = stats.proxies[dead_proxy]
    assert dead.requests == dead.failures > 0
    assert [figures.failures for figures in live] == [0, 0]
    assert sum(figures.requests for figures in live) == threads * per_thread
    assert sum(figures.sessions for figures in [*live, dead]) == stats.sessions_created
    assert stats.requests == threads * per_thread + dead.failures  # a refused connect counts as a request sent


@pytest.mark.parametrize("through", ["tinyproxy", "dante"])
def test_a_deadline_cuts_a_trickle_through_a_proxy(
    through: str, tinyproxy: Tinyproxy, dante: Dante, hostile: HostileServer
) -> None:
    proxy = tinyproxy.url if through == "tinyproxy" else dante.url_for("socks5h")
    with QueuePool(size=1, deadline=1.0, timeout=(5, 5), proxy_rotation=(proxy,)) as pool:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            pool.get(hostile.url + "/trickle?size=100000&chunk=1&interval=0.1")
        took = time.monotonic() - started
        assert pool.get(hostile.url + "/ok").text == "ok"  # the proxy still serves the pool
    assert 1.0 <= took < 2.0
    assert WATCHDOG.watching() == 0


@pytest.mark.parametrize("route", ROUTES, indirect=True)
def test_every_kind_of_proxy_carries_the_curl_transport(
    route: Route, targets: Callable[..., LocalServer], tls_files: TLSFiles
) -> None:
    target = targets(tls=route.tls)
    recorder = Recorder()
    with _pool(route, tls_files, transport="curl") as pool:
        pool.add_listener(recorder)
        for n in range(3):
            assert pool.get(f"{target.url}/through/{n}").content == b"ok"
        stats = pool.stats()
        opened = pool.open_connections()
    scheme, host, port = route.origin(target)
    assert recorder.connections == [route.origin(target)] * stats.connections_opened
    # The last connection, idle (tinyproxy closes a plain one after its answer: it counts as open until next used).
    assert opened == [OpenConnections(scheme=scheme, host=host, port=port, idle=1, active=0)]
    if route.keep_alive:
        assert stats.connections_opened == target.connections_accepted == 1
