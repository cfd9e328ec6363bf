"""The pools with the packages requests users combine them with, installed for real (the dev extra).

Each test is one finding of trying sessionpool as a new user would: an OAuth
session's token, a caching session's background refresh and shared backend,
a rate limiter shared by every session, and a config sent to worker processes.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import pickle
import time
from pathlib import Path

import pytest
import requests
from pyrate_limiter import Duration, Limiter, Rate
from requests_cache import CachedSession, SQLiteCache
from requests_oauthlib import OAuth2Session
from requests_ratelimiter import LimiterSession

from helpers import PoolMaker, fetch_with_config, wait_until
from sessionpool import PoolConfig, QueuePool, ThreadLocalPool
from sessionpool.testing import LocalServer, run_threads

# -- requests-oauthlib: one borrower's token never reaches the next ---------


def _oauth_session() -> requests.Session:
    return OAuth2Session(client_id="sessionpool-tests")


def test_an_oauth2_token_never_reaches_the_next_borrower(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the test server speaks plain HTTP
    with QueuePool(size=1, session_factory=_oauth_session) as pool:
        with pool.session() as alice:
            alice.token = {"access_token": "alice-token", "token_type": "Bearer"}  # type: ignore[attr-defined]
            alice.get(server.url + "/echo")
        with pool.session() as bob:
            assert not bob.token  # type: ignore[attr-defined]
            bob.get(server.url + "/echo")
        stats = pool.stats()
    sent = [request.headers.get("Authorization") for request in server.requests]
    assert sent == ["Bearer alice-token", None]
    assert stats.sessions_replaced == 1
    assert server.connections_accepted == 1  # replaced, with its connections kept


# -- requests-cache -------------------------------------------------------


def test_a_stale_while_revalidate_refresh_goes_through_the_pool(make_pool: PoolMaker, server: LocalServer) -> None:
    # requests-cache sends the refresh from a thread of its own while the
    # holder keeps its lease: delegation, which the lease check allows. An
    # error in that thread would fail the test (pytest's thread-exception hook).
    def caching_session() -> requests.Session:
        return CachedSession(backend="memory", expire_after=0.2, stale_while_revalidate=True)

    with make_pool(session_factory=caching_session) as pool, pool.session() as session:
        assert session.get(server.url + "/page").from_cache is False  # type: ignore[attr-defined]
        time.sleep(0.3)
        stale = session.get(server.url + "/page")
        assert stale.from_cache is True  # type: ignore[attr-defined]
        assert wait_until(lambda: len(server.requests) == 2), "the background refresh never reached the server"
        assert wait_until(lambda: pool.stats().requests == 2)


def test_retiring_sessions_leaves_a_backend_their_factory_shared(server: LocalServer, tmp_path: Path) -> None:
    backend = SQLiteCache(str(tmp_path / "shared-cache.sqlite"))

    def caching_session() -> requests.Session:
        return CachedSession(backend=backend)  # every session, one backend (autoclose=True by default)

    threads, rounds = 8, 12
    with ThreadLocalPool(session_factory=caching_session, max_session_requests=2) as pool:

        def work(index: int) -> None:
            for number in range(rounds):
                response = pool.get(f"{server.url}/t{index}/r{number % 4}")
                assert response.content == b"ok"

        run_threads(threads, work)
        stats = pool.stats()
    assert stats.sessions_closed > threads  # recycled over and over
    # The backend outlived every retired session and the pool: still open and answering.
    assert len(list(backend.responses.keys())) == threads * 4
    assert CachedSession(backend=backend).get(f"{server.url}/t0/r0").from_cache is True  # type: ignore[attr-defined]


# -- requests-ratelimiter: one limiter shared by every session ----------------


def test_one_limiter_shared_by_every_session_holds_across_threads(server: LocalServer) -> None:
    limiter = Limiter(Rate(10, Duration.SECOND))

    def limited_session() -> requests.Session:
        return LimiterSession(limiter=limiter, per_host=False)

    threads, each = 8, 3
    started = time.monotonic()
    with ThreadLocalPool(session_factory=limited_session) as pool:
        run_threads(threads, lambda _: [pool.get(server.url + "/") for _ in range(each)])
    elapsed = time.monotonic() - started
    # 24 requests at 10 per second through one bucket take at least a second
    # more than the first 10; a limiter per session (3 requests each) would not wait at all.
    assert len(server.requests) == threads * each
    assert elapsed >= 1.0


# -- pickling: configs cross to worker processes, pools refuse ----------------


def test_a_pool_refuses_to_pickle_and_says_to_send_its_config(make_pool: PoolMaker) -> None:
    with make_pool() as pool, pytest.raises(TypeError, match=r"Send pool.config to the other process"):
        pickle.dumps(pool)


def test_a_pool_session_unpickles_into_a_working_plain_session(make_pool: PoolMaker, server: LocalServer) -> None:
    with make_pool(headers={"X-From": "pool"}) as pool, pool.session() as session:
        copy = pickle.loads(pickle.dumps(session))
    assert type(copy.get_adapter(server.url)) is requests.adapters.HTTPAdapter
    response = copy.get(server.url + "/echo")  # requests' own test_session_pickling, on a pool's session
    assert response.json()["headers"]["X-From"] == "pool"
    copy.close()


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_a_process_pool_receives_a_config_and_makes_requests_with_it(method: str, server: LocalServer) -> None:
    config = PoolConfig(headers={"X-Worker": "yes"}, timeout=5.0, trust_env=False)
    context = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=context) as executor:
        results = list(executor.map(fetch_with_config, [config] * 2, [server.url + "/"] * 2, timeout=120))
    assert results == [("ok", 2, 1)] * 2
    assert [request.headers.get("X-Worker") for request in server.requests] == ["yes"] * 4
