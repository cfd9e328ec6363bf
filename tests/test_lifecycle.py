"""The lifecycle every pool shares (sessionpool._base): recycling, invalidation, misuse, and fork."""

from __future__ import annotations

import json
import os
import threading
import warnings
from typing import Any

import pytest
import requests

from helpers import PoolMaker, TLSFiles, wait_until
from sessionpool import LeaseError, PoolConfig, QueuePool, ThreadLocalPool
from sessionpool._base import Pool
from sessionpool.testing import LocalServer, run_threads


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _session_of(pool: Pool) -> requests.Session:
    with pool.session() as session:
        return session


def test_a_session_past_its_age_is_replaced_at_its_next_checkout(make_pool: PoolMaker, server: LocalServer) -> None:
    clock = FakeClock()
    with make_pool(max_session_age=60.0, clock=clock) as pool:
        first = _session_of(pool)
        clock.now += 53.9  # under the shortest jittered limit (54 s): kept
        assert _session_of(pool) is first
        clock.now += 6.2  # past the longest (60 s): replaced
        second = _session_of(pool)
        stats = pool.stats()
    assert second is not first
    assert (stats.sessions_created, stats.sessions_closed) == (2, 1)


def test_ages_are_jittered_so_sessions_do_not_expire_together() -> None:
    clock = FakeClock()
    with QueuePool(size=20, max_session_age=100.0, clock=clock) as pool:
        leases = [pool.session() for _ in range(20)]
        for lease in leases:
            lease.__enter__()
        limits = {record.retire_at for record in pool._records}
        for lease in leases:
            lease.__exit__(None, None, None)
    assert len(limits) > 1
    assert all(clock.now + 90.0 <= limit <= clock.now + 100.0 for limit in limits if limit is not None)


def test_a_session_past_its_request_count_is_replaced(make_pool: PoolMaker, server: LocalServer) -> None:
    with make_pool(max_session_requests=3) as pool:
        sessions = []
        for _ in range(7):
            with pool.session() as session:
                session.get(server.url + "/")
                sessions.append(session)
        stats = pool.stats()
    assert [sessions.index(s) for s in sessions] == [0, 0, 0, 3, 3, 3, 6]
    assert stats.sessions_created == 3


def test_invalidate_retires_idle_sessions_at_once_and_lent_ones_on_return(server: LocalServer) -> None:
    with QueuePool(size=2) as pool:
        lease, other = pool.session(), pool.session()
        lent = lease.__enter__()
        idle = other.__enter__()
        other.__exit__(None, None, None)
        lent.get(server.url + "/")
        pool.invalidate()
        assert pool.stats().sessions_closed == 1  # the idle one
        assert lent.get(server.url + "/").content == b"ok"  # the lent one works until it comes back
        lease.__exit__(None, None, None)
        assert pool.stats().sessions_closed == 2
        fresh = _session_of(pool)
        assert fresh is not idle
        assert fresh is not lent


def test_invalidate_reaches_every_thread_of_a_thread_local_pool(server: LocalServer) -> None:
    with ThreadLocalPool() as pool:
        before = _session_of(pool)
        pool.invalidate()
        after = _session_of(pool)
        assert after is not before
        assert pool.stats().sessions_closed == 1


def test_a_queue_session_used_after_its_block_raises_lease_error(server: LocalServer) -> None:
    with QueuePool(size=1) as pool:
        with pool.session() as session:
            session.get(server.url + "/")
        with pytest.raises(LeaseError, match="after its with-block ended"):
            session.get(server.url + "/")
    assert len(server.requests) == 1  # the misuse never reached the wire


def test_a_helper_thread_may_send_for_the_holder_while_the_lease_is_held(
    make_pool: PoolMaker, server: LocalServer
) -> None:
    # Delegation, as a cache refreshing in the background or a callback does:
    # the holder keeps the lease, one thread sends at a time.
    bodies: list[bytes] = []
    with make_pool() as pool, pool.session() as session:
        run_threads(1, lambda _: bodies.append(session.get(server.url + "/").content))
        assert session.get(server.url + "/").content == b"ok"  # and the holder goes on
    assert bodies == [b"ok"]
    assert len(server.requests) == 2


def test_a_second_thread_sending_while_a_send_is_under_way_raises_lease_error(
    make_pool: PoolMaker, server: LocalServer
) -> None:
    errors: list[BaseException] = []
    with make_pool() as pool, pool.session() as session:
        holder = threading.Thread(target=session.get, args=(server.url + "/sleep/1",))
        holder.start()
        assert wait_until(lambda: any(r.path == "/sleep/1" for r in server.requests))

        def intrude(_: int) -> None:
            try:
                session.get(server.url + "/intruder")
            except LeaseError as exc:
                errors.append(exc)

        run_threads(1, intrude)
        holder.join(10)
    assert len(errors) == 1
    assert "another thread is sending on this session" in str(errors[0])
    assert [r.path for r in server.requests] == ["/sleep/1"]  # the overlapping send never reached the wire


def test_a_thread_local_session_stays_usable_in_its_own_thread_between_blocks(server: LocalServer) -> None:
    with ThreadLocalPool() as pool:
        session = _session_of(pool)
        assert session.get(server.url + "/").content == b"ok"


def test_the_config_cannot_be_changed_after_use(make_pool: PoolMaker, server: LocalServer) -> None:
    with make_pool(headers={"X-A": "1"}) as pool:
        pool.get(server.url + "/")
        with pytest.raises(AttributeError):
            pool.config.timeout = 1.0  # type: ignore[misc]
        with pytest.raises(TypeError):
            pool.config.headers["X-A"] = "2"  # type: ignore[index]
        assert pool.config == PoolConfig(headers={"X-A": "1"})


def test_a_pool_dropped_without_close_closes_its_sessions(server: LocalServer) -> None:
    pool = QueuePool(size=2)
    pool.get(server.url + "/")
    assert server.open_connections == 1
    del pool
    assert wait_until(lambda: server.open_connections == 0)


def _fork_and_request(
    pool: Pool, url: str, paths: list[str], session: requests.Session | None = None
) -> dict[str, object]:
    """Fork; in the child, GET ``paths`` through ``pool`` (or an inherited ``session``); return the child's report."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
        pid = os.fork()
    if pid == 0:  # the child: report through the pipe and leave without running the test's cleanup
        code = 1
        try:
            os.close(read_end)
            stats_before = pool.stats()
            get = session.get if session is not None else pool.get
            bodies = [get(url + path).content.decode() for path in paths]
            report = {"bodies": bodies, "sessions_before": stats_before.sessions_created, "stats": repr(pool)}
            os.write(write_end, json.dumps(report).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = json.loads(pipe.read() or b"{}")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report
    return dict(report)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists on POSIX only")
def test_after_a_fork_parent_and_child_both_go_on_on_separate_connections(
    make_pool: PoolMaker, tls_server: LocalServer, tls_files: TLSFiles
) -> None:
    ca_bundle = tls_files.ca_bundle
    with make_pool(verify=ca_bundle, trust_env=False) as pool:
        assert pool.get(tls_server.url + "/parent/before").content == b"ok"
        report = _fork_and_request(pool, tls_server.url, ["/child/1", "/child/2", "/child/3"])
        for n in range(3):  # the parent's TLS connection is intact: no "bad record mac", no reset
            assert pool.get(f"{tls_server.url}/parent/after/{n}").content == b"ok"
        parent_stats = pool.stats()
    assert report["bodies"] == ["ok", "ok", "ok"]
    assert report["sessions_before"] == 0  # the child's pool started empty
    by_path = {request.path: request.connection for request in tls_server.requests}
    parent_connection = by_path["/parent/before"]
    assert {by_path[f"/parent/after/{n}"] for n in range(3)} == {parent_connection}
    child_connections = {by_path[f"/child/{n}"] for n in (1, 2, 3)}
    assert parent_connection not in child_connections
    assert len(child_connections) == 1  # the child reused its own new connection
    assert parent_stats.connections_opened == 1
    assert parent_stats.sessions_created == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists on POSIX only")
def test_a_session_borrowed_across_a_fork_reconnects_in_the_child(tls_server: LocalServer, tls_files: TLSFiles) -> None:
    # The forking thread holds a session, so the child inherits it mid-lease
    # and uses it: the child must not write into the parent's TLS stream.
    with ThreadLocalPool(verify=tls_files.ca_bundle, trust_env=False) as pool, pool.session() as session:
        assert session.get(tls_server.url + "/parent/before").content == b"ok"
        report = _fork_and_request(pool, tls_server.url, ["/child/1", "/child/2"], session=session)
        assert session.get(tls_server.url + "/parent/after").content == b"ok"
    assert report["bodies"] == ["ok", "ok"]
    by_path = {request.path: request.connection for request in tls_server.requests}
    assert by_path["/parent/after"] == by_path["/parent/before"]
    assert by_path["/child/1"] == by_path["/child/2"] != by_path["/parent/before"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists on POSIX only")
def test_a_fork_while_other_threads_hold_sessions(server: LocalServer) -> None:
    # Threads of the parent hold sessions (and so locks and connections) at
    # the moment of the fork; the child must neither deadlock nor touch them.
    with QueuePool(size=4) as pool:
        holding = threading.Barrier(4)
        release = threading.Event()

        def hold(_: int) -> None:
            with pool.session() as session:
                session.get(server.url + "/held")
                holding.wait(10)
                release.wait(10)
                session.get(server.url + "/held-after")

        workers = [threading.Thread(target=hold, args=(i,)) for i in range(3)]
        for worker in workers:
            worker.start()
        holding.wait(10)
        try:
            report = _fork_and_request(pool, server.url, ["/child"])
        finally:
            release.set()
            for worker in workers:
                worker.join(10)
        assert report["bodies"] == ["ok"]
        assert pool.stats().requests == 6  # the three holders, twice each: the child counts in its own pool


def test_a_retired_session_a_thread_kept_cannot_send(server: LocalServer) -> None:
    with ThreadLocalPool() as pool:
        kept = _session_of(pool)
        pool.invalidate()
        with pytest.raises(LeaseError, match="retired by its pool"):
            kept.get(server.url + "/")
        assert pool.get(server.url + "/").content == b"ok"  # the thread gets a new session
    assert len(server.requests) == 1


@pytest.mark.usefixtures("tiny_switch_interval")
def test_threads_racing_to_send_on_one_session_never_overlap(
    make_pool: PoolMaker, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many threads send on one held session at once: each send either goes
    # out alone or is refused before it reaches requests' adapter. The
    # adapter's send is watched for two threads inside it at once.
    inside: list[int] = []
    overlaps: list[list[int]] = []
    watch = threading.Lock()
    send = requests.adapters.HTTPAdapter.send

    def watched_send(self: requests.adapters.HTTPAdapter, *args: Any, **kwargs: Any) -> requests.Response:
        with watch:
            inside.append(threading.get_ident())
            if len(inside) > 1:
                overlaps.append(list(inside))
        try:
            return send(self, *args, **kwargs)
        finally:
            with watch:
                inside.remove(threading.get_ident())

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", watched_send)
    threads, each = 8, 15
    sent: list[int] = []
    refused: list[int] = []
    with make_pool() as pool, pool.session() as session:

        def race(index: int) -> None:
            for _ in range(each):
                try:
                    session.get(server.url + "/")
                except LeaseError:
                    refused.append(index)
                else:
                    sent.append(index)

        run_threads(threads, race)
    assert overlaps == []
    assert len(sent) + len(refused) == threads * each
    assert sent, "no send went out"
    assert refused, "no send was refused: the threads never raced"
    assert len(server.requests) == len(sent)  # a refused send never reached the wire
