"""PoolListener: every event a pool tells, against real servers, and listeners that fail or come and go."""

from __future__ import annotations

import logging
import threading
from collections import Counter

import pytest
import requests

from helpers import PoolMaker, TLSFiles, wait_until
from sessionpool import PoolListener, QueuePool, ThreadLocalPool
from sessionpool.testing import Faults, LocalServer, run_threads


class Recorder(PoolListener):
    """Counts every event it is told, and keeps the arguments of each."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.sessions: dict[str, list[requests.Session]] = {}
        self.connections: list[tuple[str, str, int]] = []
        self.retries: list[tuple[str | None, str, int]] = []
        self._lock = threading.Lock()

    def _session_event(self, event: str, session: requests.Session) -> None:
        with self._lock:
            self.counts[event] += 1
            self.sessions.setdefault(event, []).append(session)

    def session_created(self, session: requests.Session) -> None:
        self._session_event("session_created", session)

    def session_checked_out(self, session: requests.Session) -> None:
        self._session_event("session_checked_out", session)

    def session_returned(self, session: requests.Session) -> None:
        self._session_event("session_returned", session)

    def session_retired(self, session: requests.Session) -> None:
        self._session_event("session_retired", session)

    def connection_opened(self, scheme: str, host: str, port: int) -> None:
        with self._lock:
            self.counts["connection_opened"] += 1
            self.connections.append((scheme, host, port))

    def request_retried(self, request: requests.PreparedRequest, reason: str, attempt: int) -> None:
        with self._lock:
            self.counts["request_retried"] += 1
            self.retries.append((request.url, reason, attempt))


class Failing(PoolListener):
    """Fails in every event."""

    def session_created(self, session: requests.Session) -> None:
        raise RuntimeError("listener bug")

    def session_checked_out(self, session: requests.Session) -> None:
        raise RuntimeError("listener bug")

    def session_returned(self, session: requests.Session) -> None:
        raise RuntimeError("listener bug")

    def connection_opened(self, scheme: str, host: str, port: int) -> None:
        raise RuntimeError("listener bug")


def test_a_session_is_created_checked_out_and_returned(server: LocalServer, make_pool: PoolMaker) -> None:
    recorder = Recorder()
    with make_pool() as pool:
        pool.add_listener(recorder)
        for _ in range(3):
            pool.get(f"{server.url}/")
        with pool.session() as session:
            assert recorder.sessions["session_checked_out"][-1] is session
            assert recorder.counts["session_returned"] == 3  # not yet returned
        stats = pool.stats()
    assert recorder.counts["session_created"] == stats.sessions_created == 1
    assert recorder.counts["session_checked_out"] == recorder.counts["session_returned"] == stats.checkouts == 4
    assert recorder.sessions["session_created"] == [session]
    assert set(recorder.sessions["session_returned"]) == {session}


@pytest.mark.parametrize("end", ["invalidate", "close"])
def test_idle_sessions_are_retired_by_invalidate_and_close(server: LocalServer, make_pool: PoolMaker, end: str) -> None:
    recorder = Recorder()
    with make_pool() as pool:
        pool.add_listener(recorder)
        with pool.session() as session:
            session.get(f"{server.url}/")
        assert "session_retired" not in recorder.counts
        getattr(pool, end)()
        assert recorder.sessions["session_retired"] == [session]


def test_a_lent_session_is_retired_when_it_comes_back(make_pool: PoolMaker) -> None:
    recorder = Recorder()
    with make_pool() as pool:
        pool.add_listener(recorder)
        with pool.session() as session:
            pool.invalidate()
            assert "session_retired" not in recorder.counts
        assert recorder.sessions["session_retired"] == [session]


def test_the_sessions_of_ended_threads_are_retired(server: LocalServer) -> None:
    recorder = Recorder()
    with ThreadLocalPool() as pool:
        pool.add_listener(recorder)

        def one_request(_: int) -> None:
            pool.get(f"{server.url}/")

        run_threads(2, one_request)
        assert wait_until(lambda: recorder.counts["session_retired"] == 2)
    assert set(recorder.sessions["session_retired"]) == set(recorder.sessions["session_created"])


def test_connections_opened_name_their_origin_and_match_the_stats(server: LocalServer, make_pool: PoolMaker) -> None:
    recorder = Recorder()
    with make_pool() as pool:
        pool.add_listener(recorder)

        def some_requests(_: int) -> None:
            for _ in range(10):
                pool.get(f"{server.url}/")

        run_threads(4, some_requests)
        stats = pool.stats()
    assert recorder.counts["connection_opened"] == stats.connections_opened == server.connections_accepted
    assert set(recorder.connections) == {("http", "127.0.0.1", server.port)}


def test_an_https_connection_is_opened_with_its_scheme(tls_server: LocalServer, tls_files: TLSFiles) -> None:
    recorder = Recorder()
    with ThreadLocalPool(verify=tls_files.ca_bundle, trust_env=False) as pool:
        pool.add_listener(recorder)
        pool.get(f"{tls_server.url}/")
        pool.get(f"{tls_server.url}/")
    assert recorder.connections == [("https", "127.0.0.1", tls_server.port)]


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_connection_is_named_without_the_user_of_its_url(server: LocalServer, transport: str) -> None:
    recorder = Recorder()
    with ThreadLocalPool(transport=transport) as pool:
        pool.add_listener(recorder)
        pool.get(server.url.replace("http://", "http://someone:hunter2@") + "/")
        opened = pool.open_connections()
    assert recorder.connections == [("http", "127.0.0.1", server.port)]
    assert [(entry.host, entry.port, entry.idle) for entry in opened] == [("127.0.0.1", server.port, 1)]
    assert server.requests[0].headers["Authorization"].startswith("Basic ")  # the user was sent, and named nowhere


def test_a_request_sent_again_on_a_stale_connection_is_told(make_pool: PoolMaker) -> None:
    recorder = Recorder()
    # Each connection serves one response, then dies under the next request.
    with LocalServer(faults=Faults(after=1)) as fault, make_pool() as pool:
        pool.add_listener(recorder)
        pool.get(f"{fault.url}/first")
        assert pool.get(f"{fault.url}/second").content == b"ok"
        stats = pool.stats()
    assert recorder.retries == [(f"{fault.url}/second", "stale", 2)]
    assert stats.stale_retries == 1
    assert recorder.counts["connection_opened"] == stats.connections_opened == 2


def test_a_failing_listener_is_logged_and_fails_no_request(
    server: LocalServer, make_pool: PoolMaker, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    with make_pool() as pool, caplog.at_level(logging.ERROR, logger="sessionpool"):
        pool.add_listener(Failing())
        pool.add_listener(recorder)  # after the failing one: still told everything
        assert pool.get(f"{server.url}/").content == b"ok"
    failures = [record for record in caplog.records if record.name == "sessionpool" and record.exc_info]
    failed_in = {record.getMessage().split(" in ", 1)[1].split(";")[0] for record in failures}
    assert failed_in == {
        f"Failing.{event}"
        for event in ("session_created", "session_checked_out", "session_returned", "connection_opened")
    }
    assert all(isinstance(record.exc_info[1], RuntimeError) for record in failures if record.exc_info)
    assert recorder.counts["session_checked_out"] == recorder.counts["session_returned"] == 1


def test_listeners_are_added_once_and_removed(server: LocalServer) -> None:
    recorder = Recorder()
    with QueuePool(size=1) as pool:
        pool.add_listener(recorder)
        pool.add_listener(recorder)  # again: nothing
        pool.get(f"{server.url}/")
        pool.remove_listener(recorder)
        pool.get(f"{server.url}/")
        with pytest.raises(ValueError, match="not a listener"):
            pool.remove_listener(recorder)
        with pytest.raises(TypeError, match="PoolListener"):
            pool.add_listener(object())  # type: ignore[arg-type]
    assert recorder.counts["session_checked_out"] == recorder.counts["session_returned"] == 1


@pytest.mark.usefixtures("tiny_switch_interval")
def test_listeners_come_and_go_while_threads_send(server: LocalServer, make_pool: PoolMaker) -> None:
    threads, per_thread = 16, 25
    steady = Recorder()
    stop = threading.Event()
    churned: list[Recorder] = []
    with make_pool() as pool:
        pool.add_listener(steady)

        def churn() -> None:
            while not stop.is_set():
                passing = Recorder()
                pool.add_listener(passing)
                churned.append(passing)
                pool.remove_listener(passing)

        def some_requests(_: int) -> None:
            for _ in range(per_thread):
                assert pool.get(f"{server.url}/").content == b"ok"

        churner = threading.Thread(target=churn)
        churner.start()
        try:
            run_threads(threads, some_requests)
        finally:
            stop.set()
            churner.join()
        stats = pool.stats()
    assert churned  # listeners did come and go
    assert steady.counts["session_checked_out"] == steady.counts["session_returned"] == stats.checkouts
    assert stats.checkouts == threads * per_thread
    assert steady.counts["session_created"] == stats.sessions_created
    assert steady.counts["connection_opened"] == stats.connections_opened


# -- the example of docs/statistics.md (Events) ------------------------------


class Tally(PoolListener):
    """Counts connections per origin and retries per reason; called from any thread."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def connection_opened(self, scheme: str, host: str, port: int) -> None:
        with self._lock:
            self.counts[f"connect {scheme}://{host}:{port}"] += 1

    def request_retried(self, request: requests.PreparedRequest, reason: str, attempt: int) -> None:
        with self._lock:
            self.counts[f"retry {reason}"] += 1


def test_the_docs_tally() -> None:
    tally = Tally()
    with LocalServer(faults=Faults(after=1)) as fault, QueuePool(size=4) as pool:
        pool.add_listener(tally)
        pool.get(f"{fault.url}/")
        pool.get(f"{fault.url}/")  # the server closed the connection: sent again on a new one
    assert tally.counts == Counter({f"connect {fault.url}": 2, "retry stale": 1})
