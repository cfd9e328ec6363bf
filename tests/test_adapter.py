"""PoolAdapter: connections counted where sockets are made, default timeout applied."""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
from pathlib import Path

import pytest
import requests
import trustme
import truststore
import urllib3

from helpers import PoolMaker, TLSFiles
from sessionpool import PoolConfig, QueuePool, ThreadLocalPool
from sessionpool._adapter import PoolAdapter
from sessionpool._events import EventDispatcher
from sessionpool._factory import make_session
from sessionpool._stats import StatsRecorder
from sessionpool.testing import LocalServer


def _session(config: PoolConfig, stats: StatsRecorder) -> requests.Session:
    session, adapter = make_session(config, stats, EventDispatcher())
    assert isinstance(adapter, PoolAdapter)
    assert session.get_adapter("http://127.0.0.1/") is session.get_adapter("https://127.0.0.1/") is adapter
    return session


def test_requests_on_one_connection_count_one_connection(server: LocalServer) -> None:
    stats = StatsRecorder()
    with _session(PoolConfig(), stats) as session:
        for _ in range(5):
            session.get(server.url + "/")
    snapshot = stats.snapshot()
    assert (snapshot.requests, snapshot.connections_opened) == (5, 1)
    assert server.connections_accepted == 1


def test_a_connection_reopened_after_the_server_closed_it_counts_again(server: LocalServer) -> None:
    # "Connection: close" makes the server close after answering; urllib3 then
    # reconnects the same connection object, which must count as a new one.
    stats = StatsRecorder()
    with _session(PoolConfig(), stats) as session:
        for _ in range(3):
            session.get(server.url + "/", headers={"Connection": "close"})
    assert stats.snapshot().connections_opened == server.connections_accepted == 3


def test_tls_connections_are_counted(tls_server: LocalServer, tls_files: TLSFiles) -> None:
    stats = StatsRecorder()
    config = PoolConfig(verify=tls_files.ca_bundle, trust_env=False)
    with _session(config, stats) as session:
        for _ in range(4):
            assert session.get(tls_server.url + "/").content == b"ok"
    assert stats.snapshot().connections_opened == tls_server.connections_accepted == 1


def test_a_refused_connection_is_not_counted() -> None:
    stats = StatsRecorder()
    with LocalServer() as stopped:
        url = stopped.url
    with _session(PoolConfig(timeout=2.0), stats) as session:
        try:
            session.get(url + "/")
        except requests.ConnectionError:
            pass
        else:
            raise AssertionError("a stopped server answered")
    assert stats.snapshot().connections_opened == 0
    assert stats.snapshot().requests == 1


def test_redirect_hops_count_as_requests(server: LocalServer) -> None:
    stats = StatsRecorder()
    with _session(PoolConfig(), stats) as session:
        response = session.get(server.url + "/redirect/2")
    assert response.content == b"ok"
    assert [r.path for r in server.requests] == ["/redirect/2", "/redirect/1", "/"]
    assert stats.snapshot().requests == 3


def test_requests_that_never_connected_do_not_count_as_reused() -> None:
    stats = StatsRecorder()
    with LocalServer() as stopped:
        url = stopped.url
    with _session(PoolConfig(timeout=2.0), stats) as session:
        for _ in range(3):
            with contextlib.suppress(requests.ConnectionError):
                session.get(url + "/")
    snapshot = stats.snapshot()
    assert (snapshot.requests, snapshot.requests_reused, snapshot.connections_opened) == (3, 0, 0)
    assert snapshot.reuse_ratio == 0.0


def _refused_message(session: requests.Session, url: str) -> str:
    """What ``session`` says when ``url`` refuses the connection, object addresses left out."""
    try:
        session.get(url, timeout=2.0)
    except requests.ConnectionError as error:
        return re.sub(r" at 0x[0-9a-f]+", " at 0x…", str(error))
    raise AssertionError("a stopped server answered")


def test_error_messages_read_as_a_plain_sessions() -> None:
    with LocalServer() as stopped:
        url = stopped.url + "/"
    with _session(PoolConfig(timeout=2.0), StatsRecorder()) as session:
        message = _refused_message(session, url)
    with requests.Session() as plain:
        assert message == _refused_message(plain, url)
    assert "HTTPConnectionPool(host='127.0.0.1'" in message
    assert "_Managed" not in message


# -- transport options: what PoolConfig sets reaches every connection -------


def _open_sockets(session: requests.Session) -> list[socket.socket]:
    """The sockets of the idle connections of ``session``'s pool adapter, direct and proxied."""
    adapter = session.get_adapter("http://127.0.0.1/")
    assert isinstance(adapter, PoolAdapter)
    sockets = []
    for manager in [adapter.poolmanager, *adapter.proxy_manager.values()]:
        for key in list(manager.pools.keys()):
            pool = manager.pools[key]
            sockets += [conn.sock for conn in list(pool.pool.queue) if conn is not None and conn.sock is not None]
    return sockets


KEEPALIVE = (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)


@pytest.mark.parametrize("scheme", ["http", "https", "proxied"])
def test_socket_options_and_source_address_reach_the_wire(
    make_pool: PoolMaker, scheme: str, server: LocalServer, tls_server: LocalServer, tls_files: TLSFiles
) -> None:
    target = {"http": server.url, "https": tls_server.url, "proxied": "http://origin.invalid"}[scheme]
    proxies = {"http": server.url} if scheme == "proxied" else {}
    seen_by = tls_server if scheme == "https" else server
    config = PoolConfig(
        socket_options=[KEEPALIVE],
        source_address=("127.0.0.2", 0),
        verify=tls_files.ca_bundle,
        proxies=proxies,
        trust_env=False,
    )
    with make_pool(config) as pool, pool.session() as session:
        for _ in range(2):
            assert session.get(target + "/x").content == b"ok"
        sockets = _open_sockets(session)
        assert len(sockets) == 1
        assert sockets[0].getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sockets[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0  # the list replaced urllib3's
        assert sockets[0].getsockname()[0] == "127.0.0.2"
    assert [r.client for r in seen_by.requests] == ["127.0.0.2", "127.0.0.2"]
    if scheme == "proxied":
        assert [r.path for r in server.requests] == ["http://origin.invalid/x"] * 2


def test_without_options_connections_keep_urllib3s_defaults(server: LocalServer) -> None:
    with QueuePool(size=1) as pool, pool.session() as session:
        session.get(server.url + "/")
        (sock,) = _open_sockets(session)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    assert [r.client for r in server.requests] == ["127.0.0.1"]


def _trusting(ca_bundle: str) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def test_an_ssl_context_decides_trust(make_pool: PoolMaker, tls_server: LocalServer, tls_files: TLSFiles) -> None:
    context = _trusting(tls_files.ca_bundle)
    authorities = context.cert_store_stats()["x509_ca"]
    with make_pool(ssl_context=context, trust_env=False) as pool:
        for _ in range(3):
            assert pool.get(tls_server.url + "/").content == b"ok"
    # Used as it is: urllib3 was given no CA file to load into it, nor another verify mode.
    assert context.cert_store_stats()["x509_ca"] == authorities == 1
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    # Without it, the same pool settings do not trust the test CA: the context is what made it work.
    with make_pool(trust_env=False) as pool, pytest.raises(requests.exceptions.SSLError):
        pool.get(tls_server.url + "/")


def test_an_ssl_context_wins_over_a_ca_bundle_from_the_environment(
    tls_server: LocalServer, tls_files: TLSFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = trustme.CA()
    other.cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "other-ca.pem"))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path / "other-ca.pem"))
    with ThreadLocalPool(ssl_context=_trusting(tls_files.ca_bundle)) as pool:
        assert pool.get(tls_server.url + "/").content == b"ok"


def test_a_call_with_its_own_verify_gets_requests_tls_and_leaves_the_context_alone(
    tls_server: LocalServer, tls_files: TLSFiles
) -> None:
    context = ssl.create_default_context()  # the system's CAs: not the test CA
    with QueuePool(size=1, ssl_context=context, trust_env=False) as pool:
        with pytest.raises(requests.exceptions.SSLError):
            pool.get(tls_server.url + "/")
        with pytest.warns(urllib3.exceptions.InsecureRequestWarning):
            assert pool.get(tls_server.url + "/", verify=False).content == b"ok"
        assert pool.get(tls_server.url + "/", verify=tls_files.ca_bundle).content == b"ok"
        with pytest.raises(requests.exceptions.SSLError):  # and the context still verifies
            pool.get(tls_server.url + "/")
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)


def test_truststore_context_is_used(tls_server: LocalServer, tls_files: TLSFiles) -> None:
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(tls_files.ca_bundle)  # the test CA beside the system's store
    with ThreadLocalPool(ssl_context=context, trust_env=False) as pool:
        assert pool.get(tls_server.url + "/").content == b"ok"


def test_a_call_without_a_limit_says_so_with_a_pair_of_nones(server: LocalServer) -> None:
    # requests passes timeout=None when a call gives none, so None cannot mean
    # "no limit" there: the config's default applies; (None, None) is no limit.
    with QueuePool(size=1, timeout=0.3) as pool:
        with pytest.raises(requests.exceptions.ReadTimeout):
            pool.get(server.url + "/sleep/0.6", timeout=None)
        assert pool.get(server.url + "/sleep/0.6", timeout=(None, None)).content == b"ok"
