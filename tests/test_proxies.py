"""Proxies: the launchers of real ones (tinyproxy, Dante), and every kind of proxy through the managed transport."""

from __future__ import annotations

import gc
import os
import pwd
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from sessionpool.testing import Dante, LocalServer, Tinyproxy, danted_binary, tinyproxy_binary

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
