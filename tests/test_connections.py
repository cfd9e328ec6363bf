"""open_connections(): each pool's connections, open idle or open active, per origin, on both transports.

The urllib3 transport's connections say so themselves; the curl
transport's lines know the sockets libcurl made and closed for them
(sessionpool._curl.sockets). What a pool reports must be the same.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import warnings

import pytest

from helpers import PoolMaker, TLSFiles, wait_until
from sessionpool import PoolConfig, QueuePool, ThreadLocalPool
from sessionpool import _connections as connections
from sessionpool._base import Pool
from sessionpool._connections import OpenConnections
from sessionpool.testing import Faults, LocalServer, run_threads


def _open(pool: Pool) -> list[OpenConnections]:
    return pool.open_connections()


def _origin(
    server: LocalServer, *, idle: int, active: int, scheme: str = "http", host: str = "127.0.0.1"
) -> OpenConnections:
    return OpenConnections(scheme=scheme, host=host, port=server.port, idle=idle, active=active)


@pytest.fixture(params=["urllib3", "curl"])
def transport(request: pytest.FixtureRequest) -> str:
    """Each transport in turn."""
    return str(request.param)


def test_a_new_pool_has_no_open_connection(make_pool: PoolMaker, transport: str) -> None:
    with make_pool(transport=transport) as pool:
        assert _open(pool) == []


def test_connections_are_idle_between_requests(server: LocalServer, make_pool: PoolMaker, transport: str) -> None:
    with make_pool(transport=transport) as pool:
        for _ in range(5):
            assert pool.get(f"{server.url}/").content == b"ok"
        assert _open(pool) == [_origin(server, idle=1, active=0)]
        assert server.connections_accepted == 1


def test_a_connection_is_active_until_its_response_is_read(
    server: LocalServer, make_pool: PoolMaker, transport: str
) -> None:
    with make_pool(transport=transport) as pool, pool.session() as session:
        response = session.get(f"{server.url}/", stream=True)
        assert _open(pool) == [_origin(server, idle=0, active=1)]
        assert response.content == b"ok"  # read in full: the connection goes back to its pool
        assert _open(pool) == [_origin(server, idle=1, active=0)]


def test_a_request_waiting_for_a_slow_server_holds_an_active_connection(server: LocalServer, transport: str) -> None:
    with QueuePool(size=1, transport=transport) as pool:
        slow = threading.Thread(target=pool.get, args=(f"{server.url}/sleep/2",))
        slow.start()
        try:
            assert wait_until(lambda: _open(pool) == [_origin(server, idle=0, active=1)])
        finally:
            slow.join()
        assert _open(pool) == [_origin(server, idle=1, active=0)]


def test_each_pool_counts_only_its_own_connections(server: LocalServer, transport: str) -> None:
    with ThreadLocalPool(transport=transport) as counted, QueuePool(size=2, transport=transport) as other:
        counted.get(f"{server.url}/")
        with other.session() as first, other.session() as second:
            first.get(f"{server.url}/")
            second.get(f"{server.url}/")
        assert _open(counted) == [_origin(server, idle=1, active=0)]
        assert _open(other) == [_origin(server, idle=2, active=0)]


def test_the_connections_of_ended_threads_are_closed(server: LocalServer, transport: str) -> None:
    with ThreadLocalPool(transport=transport) as pool:

        def one_request(_: int) -> None:
            pool.get(f"{server.url}/")

        run_threads(3, one_request)
        assert wait_until(lambda: _open(pool) == [])


def test_origins_are_told_apart_and_sorted(make_pool: PoolMaker, transport: str) -> None:
    with LocalServer() as first, LocalServer() as second, make_pool(transport=transport) as pool:
        for local in (second, first, second):
            pool.get(f"{local.url}/")
        expected = sorted([_origin(first, idle=1, active=0), _origin(second, idle=1, active=0)], key=lambda o: o.port)
        assert _open(pool) == expected


def test_a_host_name_counts_the_one_connection_made_to_it(server: LocalServer, transport: str) -> None:
    # "localhost" is tried as ::1 first, where nothing listens: that socket is closed, and never counted.
    with ThreadLocalPool(transport=transport) as pool:
        for _ in range(3):
            pool.get(f"http://localhost:{server.port}/")
        assert _open(pool) == [_origin(server, idle=1, active=0, host="localhost")]
        assert pool.stats().connections_opened == 1


def test_https_connections_carry_their_scheme(tls_server: LocalServer, tls_files: TLSFiles, transport: str) -> None:
    with ThreadLocalPool(verify=tls_files.ca_bundle, trust_env=False, transport=transport) as pool:
        pool.get(f"{tls_server.url}/")
        assert _open(pool) == [_origin(tls_server, idle=1, active=0, scheme="https")]


@pytest.mark.parametrize("end", ["invalidate", "close"])
def test_retired_sessions_leave_no_open_connection(
    server: LocalServer, make_pool: PoolMaker, end: str, transport: str
) -> None:
    with make_pool(transport=transport) as pool:
        pool.get(f"{server.url}/")
        getattr(pool, end)()
        assert _open(pool) == []


def test_a_stale_failure_closes_the_idle_connections_as_old_as_the_dead_one() -> None:
    # urllib3's: libcurl keeps its connection cache itself (docs/transports.md, where the transports differ).
    config = PoolConfig(transport="urllib3", keepalive_expiry=None)
    with LocalServer(faults=Faults(after=1)) as fault, QueuePool(config, size=1) as pool:
        port = int(fault.url.rsplit(":", 1)[1])
        with pool.session() as session:
            responses = [session.get(f"{fault.url}/open/{n}", stream=True) for n in range(3)]
            assert _open(pool)[0].active == 3
            for response in responses:
                assert response.content == b"ok"
            assert _open(pool)[0].idle == 3
            # The newest idle connection is reused and dies; the two older ones are closed unused.
            assert session.get(f"{fault.url}/after").content == b"ok"
        assert pool.stats().idle_connections_discarded == 2
        expected = OpenConnections(scheme="http", host="127.0.0.1", port=port, idle=1, active=0)
        assert _open(pool) == [expected]  # the retry's new connection


def _requests_from_fresh_pools(url: str, transport: str) -> None:
    for _ in range(5):
        with QueuePool(size=1, transport=transport) as fresh:
            fresh.get(url)


@pytest.mark.usefixtures("tiny_switch_interval")
def test_counting_while_threads_open_connections(server: LocalServer, transport: str) -> None:
    stop = threading.Event()
    pictures: list[list[OpenConnections]] = []
    with QueuePool(size=8, transport=transport) as pool:

        def watch() -> None:
            while not stop.is_set():
                pictures.append(_open(pool))

        def requests_from_pool(_: int) -> None:
            for _ in range(20):
                pool.get(f"{server.url}/")

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            # Fresh pools make fresh connections: the set of live connections grows while it is read.
            run_threads(8, lambda _: _requests_from_fresh_pools(f"{server.url}/", transport))
            run_threads(8, requests_from_pool)
        finally:
            stop.set()
            watcher.join()
        # Each session sent one request at a time, on its one connection.
        assert _open(pool) == [_origin(server, idle=pool.stats().sessions_open, active=0)]
    assert pictures
    assert all(entry.idle + entry.active <= 8 for picture in pictures for entry in picture)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists on POSIX only")
def test_a_child_forked_while_the_registry_is_locked_can_still_connect(server: LocalServer, transport: str) -> None:
    # Another thread is registering a connection at the moment of the fork.
    held, release = threading.Event(), threading.Event()

    def hold_the_registry() -> None:
        with connections._LIVE_CONNECTIONS_LOCK:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_registry)
    with QueuePool(size=1, transport=transport) as pool:
        pool.get(f"{server.url}/")
        holder.start()
        try:
            assert held.wait(10)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
                pid = os.fork()
            if pid == 0:  # the child: always leaves here, without running the test's cleanup
                code = 1
                try:
                    signal.alarm(10)  # a deadlock ends the child instead of the test run
                    inherited = _open(pool)
                    pool.get(f"{server.url}/")
                    if inherited == [] and _open(pool) == [_origin(server, idle=1, active=0)]:
                        code = 0
                finally:
                    os._exit(code)
        finally:
            release.set()
            holder.join()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert _open(pool) == [_origin(server, idle=1, active=0)]  # the parent's connection, untouched


_WITHOUT_PYSOCKS = """
import sys
sys.modules["socks"] = None  # PySocks cannot be imported: as if it were not installed
import requests
from sessionpool import ThreadLocalPool
with ThreadLocalPool(trust_env=False) as pool:
    try:
        pool.get(sys.argv[1], proxies={"http": "socks5h://someone:hunter2@127.0.0.1:9"})
    except requests.exceptions.InvalidSchema as error:
        print(type(error).__name__, error)
"""


def test_a_socks_proxy_without_pysocks_names_the_extra_to_install(server: LocalServer) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _WITHOUT_PYSOCKS, f"{server.url}/"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert completed.stdout.strip() == (
        "InvalidSchema SOCKS proxies need PySocks, which is not installed: pip install 'sessionpool[socks]'"
    )
    assert "hunter2" not in completed.stdout + completed.stderr
    assert server.requests == []
