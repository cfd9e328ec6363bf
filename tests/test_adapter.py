"""PoolAdapter: connections counted where sockets are made, default timeout applied."""

from __future__ import annotations

import contextlib

import requests

from helpers import TLSFiles
from sessionpool import PoolConfig
from sessionpool._localserver import LocalServer
from sessionpool.adapter import PoolAdapter
from sessionpool.factory import make_session
from sessionpool.stats import StatsRecorder


def _session(config: PoolConfig, stats: StatsRecorder) -> requests.Session:
    session, adapter = make_session(config, stats)
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


def test_error_messages_name_the_urllib3_classes_users_know() -> None:
    with LocalServer() as stopped:
        url = stopped.url
    with _session(PoolConfig(timeout=2.0), StatsRecorder()) as session:
        try:
            session.get(url + "/")
        except requests.ConnectionError as error:
            message = str(error)
        else:
            raise AssertionError("a stopped server answered")
    assert "HTTPConnectionPool(host='127.0.0.1'" in message
    assert "HTTPConnection(host='127.0.0.1'" in message
    assert "_Managed" not in message
