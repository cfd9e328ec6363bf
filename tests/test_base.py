"""Behaviour both pools share (the template in sessionpool._base), against real servers."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests

from helpers import CheckingFactory, PoolMaker, TLSFiles, wait_until
from sessionpool import PoolClosed, PoolConfig, PoolError
from sessionpool._base import Pool
from sessionpool._record import SessionRecord
from sessionpool.testing import LocalServer, run_threads


@pytest.mark.usefixtures("tiny_switch_interval")
def test_no_session_is_ever_used_by_two_threads_at_once(make_pool: PoolMaker, server: LocalServer) -> None:
    threads, rounds = 32, 8
    factory = CheckingFactory()
    pool = make_pool(session_factory=factory)
    answers: Counter[str] = Counter()

    def work(index: int) -> None:
        for round_ in range(rounds):
            path = f"/t{index}/r{round_}"
            if round_ % 2:
                response = pool.get(server.url + path)
            else:
                with pool.session() as session:
                    response = session.get(server.url + path)
            assert response.status_code == 200
            assert response.content == b"ok"
            answers[path] += 1

    with pool:
        run_threads(threads, work)
        stats = pool.stats()
    closed = pool.stats()
    assert factory.violations == []
    # Every request was sent once and answered once: none lost, none doubled.
    expected = {f"/t{i}/r{r}" for i in range(threads) for r in range(rounds)}
    received = Counter(request.path for request in server.requests)
    assert set(received) == expected
    assert set(received.values()) == {1}
    assert set(answers) == expected
    assert set(answers.values()) == {1}
    assert stats.requests == threads * rounds
    assert stats.checkouts == threads * rounds
    assert stats.sessions_in_use == 0
    # close() closed every session, and with them every connection. The
    # checking session has state of its own, so a QueuePool replaces it at
    # each return (keeping its adapter): the factory made one per replacement.
    assert closed.sessions_closed == closed.sessions_created
    assert closed.sessions_created + closed.sessions_replaced == len(factory.made)
    assert all(len(session.adapters["http://"].poolmanager.pools) == 0 for session in factory.made)
    assert wait_until(lambda: server.open_connections == 0), f"{server.open_connections} connections left open"


def test_headers_and_auth_reach_the_server(make_pool: PoolMaker, server: LocalServer) -> None:
    with make_pool(headers={"X-Client": "sessionpool-test"}, auth=("ada", "secret")) as pool:
        sent = pool.get(server.url + "/echo").json()["headers"]
        overridden = pool.get(server.url + "/echo", headers={"X-Client": "per-call"}).json()["headers"]
        with pool.session() as session:
            direct = session.get(server.url + "/echo").json()["headers"]
    assert sent["X-Client"] == "sessionpool-test"
    assert sent["Authorization"] == requests.auth._basic_auth_str("ada", "secret")
    assert overridden["X-Client"] == "per-call"
    assert direct["X-Client"] == "sessionpool-test"
    assert direct["Authorization"] == sent["Authorization"]


def test_the_default_timeout_fires_when_a_call_passes_none(make_pool: PoolMaker, silent_server: str) -> None:
    with make_pool(timeout=(2.0, 0.3)) as pool:
        started = time.monotonic()
        with pytest.raises(requests.ReadTimeout):
            pool.get(silent_server)
        with pool.session() as session, pytest.raises(requests.ReadTimeout):
            session.get(silent_server)  # directly on the session: the adapter applies it
        elapsed = time.monotonic() - started
    # Two read timeouts of 0.3 s each; without the default, each call would hang.
    assert elapsed < 10


def test_a_timeout_given_in_the_call_wins_over_the_default(make_pool: PoolMaker, server: LocalServer) -> None:
    with make_pool(timeout=0.2) as pool:
        assert pool.get(server.url + "/sleep/0.5", timeout=5).status_code == 200
        with pytest.raises(requests.ReadTimeout):
            pool.get(server.url + "/sleep/0.5")


def test_verify_reaches_the_adapter(make_pool: PoolMaker, tls_server: LocalServer, tls_files: TLSFiles) -> None:
    ca_bundle = tls_files.ca_bundle
    with make_pool(verify=ca_bundle, trust_env=False) as pool:
        assert pool.get(tls_server.url + "/").content == b"ok"
    with make_pool(trust_env=False) as pool, pytest.raises(requests.exceptions.SSLError):
        pool.get(tls_server.url + "/")  # the test CA is not in the default bundle


def test_cert_reaches_the_adapter(make_pool: PoolMaker, mtls_server: LocalServer, tls_files: TLSFiles) -> None:
    files = tls_files
    ca_bundle = files.ca_bundle
    cert = (files.client_cert, files.client_key)
    with make_pool(verify=ca_bundle, cert=cert, trust_env=False) as pool:
        assert pool.get(mtls_server.url + "/").content == b"ok"
    with make_pool(verify=ca_bundle, trust_env=False) as pool, pytest.raises(requests.exceptions.ConnectionError):
        pool.get(mtls_server.url + "/")  # the server refuses a client without a certificate


def test_proxies_reach_the_adapter(make_pool: PoolMaker, server: LocalServer) -> None:
    # The local server answers proxy requests too, and records the absolute URL.
    with make_pool(proxies={"http": server.url}, trust_env=False) as pool:
        for _ in range(3):
            assert pool.get("http://origin.invalid/through-proxy").content == b"ok"
        stats = pool.stats()
    assert [request.path for request in server.requests] == ["http://origin.invalid/through-proxy"] * 3
    assert stats.connections_opened == server.connections_accepted == 1


def test_every_request_method_sends_its_method_and_body(make_pool: PoolMaker, server: LocalServer) -> None:
    with make_pool() as pool:
        assert pool.post(server.url + "/echo", data=b"12345").json()["body_size"] == 5
        assert pool.post(server.url + "/echo", json={"a": 1}).json()["headers"]["Content-Type"] == "application/json"
        assert pool.put(server.url + "/echo", data=b"123").json()["method"] == "PUT"
        assert pool.patch(server.url + "/echo", data=b"1").json()["method"] == "PATCH"
        assert pool.delete(server.url + "/echo").json()["method"] == "DELETE"
        assert pool.options(server.url + "/echo").json()["method"] == "OPTIONS"
        assert pool.head(server.url + "/echo").status_code == 200
        assert pool.request("GET", server.url + "/echo", params={"q": "1"}).json()["path"] == "/echo?q=1"
    assert [r.method for r in server.requests] == ["POST", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "GET"]


def test_sessions_come_from_the_factory(make_pool: PoolMaker, server: LocalServer) -> None:
    class CustomSession(requests.Session):
        pass

    with make_pool(session_factory=CustomSession) as pool, pool.session() as session:
        assert isinstance(session, CustomSession)
        assert session.get(server.url + "/").content == b"ok"


def test_a_factory_that_returns_no_session_is_named(make_pool: PoolMaker) -> None:
    with make_pool(session_factory=lambda: "not a session") as pool:
        with pytest.raises(TypeError, match=r"PoolConfig\.session_factory"), pool.session():
            pass
        assert pool.stats().sessions_created == 0


def test_a_session_comes_back_when_the_block_raises(make_pool: PoolMaker, server: LocalServer) -> None:
    borrowed: list[requests.Session] = []

    def fail_while_borrowing(pool: Pool) -> None:
        with pool.session() as session:
            borrowed.append(session)
            session.get(server.url + "/")
            raise ZeroDivisionError

    with make_pool() as pool:
        with pytest.raises(ZeroDivisionError):
            fail_while_borrowing(pool)
        assert pool.stats().sessions_in_use == 0
        with pool.session() as again:
            assert again is borrowed[0]


def test_after_close_every_use_raises_pool_closed(make_pool: PoolMaker, server: LocalServer) -> None:
    pool = make_pool()
    pool.get(server.url + "/")
    pool.close()
    pool.close()  # idempotent
    assert pool.closed
    with pytest.raises(PoolClosed) as raised:
        pool.get(server.url + "/")
    assert "closed" in str(raised.value)
    assert type(pool).__name__ in raised.value.pool
    with pytest.raises(PoolClosed), pool.session():
        pass
    stats = pool.stats()
    assert stats.sessions_closed == stats.sessions_created == 1
    assert wait_until(lambda: server.open_connections == 0)


def test_a_session_lent_during_close_is_closed_when_it_comes_back(make_pool: PoolMaker, server: LocalServer) -> None:
    pool = make_pool()
    with pool.session() as session:
        session.get(server.url + "/")
        pool.close()
        assert pool.stats().sessions_closed == 0  # still in use: not pulled from under its holder
        assert session.get(server.url + "/").content == b"ok"
    assert pool.stats().sessions_closed == 1
    assert wait_until(lambda: server.open_connections == 0)


def test_a_lease_cannot_be_entered_twice(make_pool: PoolMaker) -> None:
    with make_pool() as pool:
        lease = pool.session()
        lease.__enter__()
        try:
            with pytest.raises(PoolError, match="already in use"):
                lease.__enter__()
        finally:
            lease.__exit__(None, None, None)
        assert pool.stats().sessions_in_use == 0


def test_repr_is_built_from_the_stats(make_pool: PoolMaker, server: LocalServer) -> None:
    with make_pool() as pool:
        for _ in range(4):
            pool.get(server.url + "/")
        text = repr(pool)
    assert text.startswith(f"<{type(pool).__name__}")
    assert "requests=4" in text
    assert "connections_opened=1" in text
    assert "reuse_ratio=0.75" in text
    assert repr(pool).endswith("closed>")


def test_a_config_and_fields_combine(make_pool: PoolMaker) -> None:
    base = PoolConfig(pool_maxsize=3, headers={"X-A": "1"})
    with make_pool(base, timeout=7.0) as pool:
        assert pool.config.pool_maxsize == 3
        assert pool.config.timeout == 7.0
        assert pool.config.headers == {"X-A": "1"}
    with pytest.raises(TypeError, match="unknown PoolConfig field"):
        make_pool(pool_size=3)
    with pytest.raises(ValueError, match=r"PoolConfig\.pool_maxsize"):
        make_pool(pool_maxsize=0)


class _OneUsePool(Pool):
    """A strategy written from the documented contract alone: a new session per lease, retired on return."""

    def _do_get(self) -> SessionRecord:
        if self.closed:
            raise self._closed_error()
        return self._create()

    def _do_return(self, record: SessionRecord) -> bool:
        return False


def test_a_strategy_needs_only_the_two_required_hooks(server: LocalServer) -> None:
    with _OneUsePool(None, {}) as pool:
        for _ in range(3):
            assert pool.get(server.url).ok
        with pool.session() as session:
            assert session.get(server.url).ok
            assert pool.stats().sessions_in_use == 1
        stats = pool.stats()
    assert (stats.sessions_created, stats.sessions_closed, stats.checkouts, stats.sessions_in_use) == (4, 4, 4, 0)
    assert "requests=4" in repr(pool)
