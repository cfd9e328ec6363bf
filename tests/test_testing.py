"""sessionpool.testing: each fault does what it says, counting, silence, TLS, nginx, the helpers; real sockets."""

from __future__ import annotations

import ast
import http.client
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme

import sessionpool.testing
from helpers import TLSFiles, require_nginx, wait_until
from sessionpool import PoolConfig
from sessionpool.testing import (
    Faults,
    HandRolledSessions,
    LocalServer,
    Nginx,
    ServerProcess,
    run_threads,
)

PUBLIC_NAMES = [
    *("DEFAULT_TIMEOUT", "Dante", "Faults", "HandRolledSessions", "HostileServer", "LocalServer", "LoggedRequest"),
    *("Nginx", "RecordedRequest", "ServerCounters", "ServerProcess", "ThreadsRun", "Tinyproxy", "danted_binary"),
    *("nginx_binary", "run_threads", "tinyproxy_binary"),
]


def _get(connection: http.client.HTTPConnection, path: str, body: bytes | None = None) -> bytes:
    connection.request("GET" if body is None else "POST", path, body=body)
    return connection.getresponse().read()


def _connect(server: LocalServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.host, server.port, timeout=10)


@pytest.mark.parametrize(("how", "error"), [("fin", http.client.RemoteDisconnected), ("rst", ConnectionResetError)])
def test_a_request_fault_breaks_each_connection_as_it_is_reused(how: str, error: type[Exception]) -> None:
    with LocalServer(faults=Faults(after=2, how=how)) as server:  # type: ignore[arg-type]
        connection = _connect(server)
        try:
            assert [_get(connection, "/1"), _get(connection, "/2")] == [b"ok", b"ok"]
            with pytest.raises(error):
                _get(connection, "/3", body=b"x" * 1000)  # read in full before the break
        finally:
            connection.close()
        fresh = _connect(server)
        try:
            assert _get(fresh, "/4") == b"ok"  # a new connection is answered again
        finally:
            fresh.close()
        seen = [(r.method, r.path, r.connection, r.answered, r.body_size) for r in server.requests]
        assert server.connections_broken == 1
    assert seen == [
        ("GET", "/1", 1, True, 0),
        ("GET", "/2", 1, True, 0),
        ("POST", "/3", 1, False, 1000),
        ("GET", "/4", 2, True, 0),
    ]


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_an_idle_fault_breaks_a_quiet_connection_and_answers_a_busy_one(how: str) -> None:
    with LocalServer(faults=Faults(after=1, on="idle", idle_delay=0.3, how=how)) as server:  # type: ignore[arg-type]
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            for path in ("/a", "/b"):  # the second comes well within the idle delay: answered
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                assert sock.recv(4096).endswith(b"\r\n\r\nok")
            began = time.monotonic()
            if how == "fin":
                assert sock.recv(1) == b""
            else:
                with pytest.raises(ConnectionResetError):
                    sock.recv(1)
            assert 0.2 < time.monotonic() - began < 4
        assert server.connections_broken == 1
        assert [r.answered for r in server.requests] == [True, True]


def test_an_idle_fault_without_delay_closes_right_after_the_last_response() -> None:
    with LocalServer(faults=Faults(after=2, on="idle")) as server:  # nginx's keepalive_requests 2, unannounced
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            for path in ("/a", "/b"):
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                response = sock.recv(4096)
                assert response.endswith(b"\r\n\r\nok")
                assert b"Connection: close" not in response
            assert sock.recv(1) == b""
        assert server.connections_broken == 1


def test_a_fault_after_zero_responses_breaks_every_first_request_and_can_be_lifted() -> None:
    with LocalServer(faults=Faults(after=0)) as server:
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/first", timeout=5)
        server.faults = None
        assert requests.get(server.url + "/second", timeout=5).content == b"ok"
        assert [(r.path, r.answered) for r in server.requests] == [("/first", False), ("/second", True)]


@pytest.mark.parametrize(
    "fields",
    [{"after": -1}, {"after": 1.5}, {"on": "reuse"}, {"how": "close"}, {"idle_delay": -1}, {"idle_delay": 1}],
)
def test_faults_refuse_what_they_cannot_do(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="Faults"):
        Faults(**fields)  # type: ignore[arg-type]


def test_requests_are_counted_by_method_and_path_with_their_headers_and_bodies() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"abc"
        yield b"defg"

    with LocalServer() as server, requests.Session() as session:
        session.get(server.url + "/x?q=1", headers={"X-Test": "yes"})
        session.put(server.url + "/x", data=chunks())  # chunked
        session.put(server.url + "/x", data=b"12345")
        assert session.get(server.url + "/echo").json()["path"] == "/echo"
        assert (server.count("GET", "/x?q=1"), server.count("PUT", "/x"), server.count("GET", "/x")) == (1, 2, 0)
        first, chunked, plain, _ = server.requests
        assert first.headers["x-test"] == first.headers["X-Test"] == "yes"
        assert (chunked.body, plain.body, plain.body_size) == (b"abcdefg", b"12345", 5)
        assert {r.connection for r in server.requests} == {1}
        assert first.client == "127.0.0.1"
        assert (server.connections_accepted, server.open_connections) == (1, 1)


def test_the_most_requests_answered_at_once_is_counted() -> None:
    with LocalServer() as server:
        run_threads(4, lambda i: requests.get(f"{server.url}/sleep/0.3", timeout=10))
        requests.get(server.url + "/", timeout=10)
        assert server.peak_in_flight == 4


def test_scripted_statuses_then_routes_and_bodies() -> None:
    with LocalServer(statuses={"/busy": [503, 502]}, retry_after="7", bodies={"/blob": b"\0" * 5000}) as server:
        busy = [requests.get(server.url + "/busy", timeout=5) for _ in range(3)]
        assert [(r.status_code, r.content) for r in busy] == [(503, b"ok"), (502, b"ok"), (200, b"ok")]
        assert busy[0].headers["Retry-After"] == "7"
        assert "Retry-After" not in busy[1].headers
        assert requests.get(server.url + "/blob", timeout=5).content == b"\0" * 5000
        assert requests.get(server.url + "/status/418", timeout=5).status_code == 418


def test_respond_answers_the_response_its_query_describes_also_as_a_proxy() -> None:
    with LocalServer() as server, requests.Session() as session:
        query = "status=307&header=Location: /x&header=Set-Cookie: a=1&header=Set-Cookie: b=2&body=d\u00e9j\u00e0"
        moved = session.get(server.url + "/respond?" + query, allow_redirects=False, timeout=5)
        assert (moved.status_code, moved.headers["Location"], moved.content) == (307, "/x", "déjà".encode())
        assert moved.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
        assert moved.headers["Content-Type"] == "text/plain"
        typed = session.get(server.url + "/respond?header=Content-Type: text/html; charset=utf-8", timeout=5)
        assert (typed.status_code, typed.content) == (200, b"ok")
        assert typed.headers["Content-Type"] == "text/html; charset=utf-8"
        assert session.get(server.url + "/respond?status=204", timeout=5).content == b""
        proxied = session.get("http://b\u00fccher.example/respond?status=201", proxies={"http": server.url}, timeout=5)
        assert proxied.status_code == 201
        assert server.requests[-1].path == "http://xn--bcher-kva.example/respond?status=201"


def test_a_server_binds_at_once_and_refuses_connections_until_started() -> None:
    server = LocalServer(host="127.0.0.3")
    try:
        assert server.url.startswith("http://127.0.0.3:")
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url, timeout=5)
        server.start()
        assert requests.get(server.url, timeout=5).content == b"ok"
    finally:
        server.stop()
    with pytest.raises(ValueError, match="loopback"):
        LocalServer(host="0.0.0.0")


def test_a_silent_server_reads_and_never_answers_and_stops_at_once() -> None:
    with LocalServer(silent=True) as server:
        with pytest.raises(requests.ReadTimeout):
            requests.post(server.url + "/orders", data=b"one", timeout=(5, 0.2))
        assert [(r.method, r.path, r.body, r.answered) for r in server.requests] == [("POST", "/orders", b"one", False)]
        holder = socket.create_connection((server.host, server.port), timeout=5)  # left open: stop() ends it
        began = time.monotonic()
    assert time.monotonic() - began < 5
    holder.close()


def test_tls_is_served_and_broken_without_a_close_notify(ca: trustme.CA, tls_files: TLSFiles) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with LocalServer(tls=context, faults=Faults(after=1)) as server, requests.Session() as session:
        session.verify, session.trust_env = tls_files.ca_bundle, False
        assert server.url.startswith("https://")
        assert session.get(server.url + "/a").content == b"ok"
        with pytest.raises(requests.ConnectionError):
            session.get(server.url + "/b")  # the reused TLS connection is closed under it
        with socket.create_connection((server.host, server.port), timeout=5):
            pass  # a client that never finishes a handshake is counted, and hurts nothing
        assert requests.get(server.url + "/c", verify=tls_files.ca_bundle, timeout=5).content == b"ok"
    assert server.connections_accepted == 3
    assert [(r.path, r.answered) for r in server.requests] == [("/a", True), ("/b", False), ("/c", True)]


def test_a_server_process_counts_without_its_own_questions() -> None:
    with ServerProcess(faults=Faults(after=1)) as server, requests.Session() as session:
        assert server.counters().connections_accepted == 0
        session.get(server.url + "/")
        with pytest.raises(requests.ConnectionError):
            session.get(server.url + "/")
        counters = server.counters()
    assert (counters.connections_accepted, counters.requests, counters.connections_broken) == (1, 2, 1)


def test_the_command_refuses_an_address_off_loopback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sessionpool.testing", "--host", "192.0.2.1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "loopback" in done.stderr


def test_nginx_serves_bodies_https_counts_and_logs(tmp_path: Path, ca: trustme.CA) -> None:
    require_nginx()
    issued = ca.issue_cert("127.0.0.1")
    issued.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    pem = tmp_path / "server.pem"
    with Nginx(tmp_path / "nginx", tls=(pem, pem), bodies={"/data/16k": b"x" * 16384}, keepalive_requests=2) as nginx:
        before = nginx.connections_accepted()
        with requests.Session() as session:
            assert [session.get(nginx.url + p).content for p in ("/a", "/b", "/c")] == [b"ok", b"ok", b"ok"]
        assert nginx.https_url is not None
        https = requests.get(nginx.https_url + "/data/16k", verify=str(tmp_path / "ca.pem"), timeout=10)
        assert https.content == b"x" * 16384
        assert nginx.connections_accepted() - before == 3  # keepalive_requests 2: a second connection for /c
        assert [(e.method, e.uri, e.request_on_connection) for e in nginx.access_log()] == [
            ("GET", "/a", 1),
            ("GET", "/b", 2),
            ("GET", "/c", 1),
            ("GET", "/data/16k", 1),
        ]


def test_run_threads_releases_all_together_and_reports_what_failed() -> None:
    started: list[float] = []
    run = run_threads(4, lambda i: started.append(time.monotonic()), prepare=lambda i: time.sleep(0.05 * i))
    assert run.released
    assert max(started) - min(started) < 0.1  # the last prepare took 0.15 s: none started before it ended
    with pytest.raises(KeyError):
        run_threads(3, lambda i: {}[i] if i == 1 else None)
    broken = run_threads(2, lambda i: None, prepare=lambda i: 1 / i, raise_errors=False)
    assert not broken.released
    assert [type(error) for error in broken.errors] == [ZeroDivisionError]


def test_run_threads_reports_a_hung_thread_and_leaves_it_a_daemon() -> None:
    release = threading.Event()
    try:
        with pytest.raises(AssertionError, match="still running"):
            run_threads(2, lambda i: release.wait(30) if i else None, seconds=0.2, name="hangs")
    finally:
        release.set()


def test_the_hand_rolled_baseline_makes_a_session_per_thread_and_closes_them_all() -> None:
    with LocalServer() as server:
        with HandRolledSessions() as by_hand:
            run_threads(3, lambda i: [by_hand.get(f"{server.url}/{i}") for _ in range(2)])
            connections: dict[str, set[int]] = {}
            for request in server.requests:
                connections.setdefault(request.path, set()).add(request.connection)
            assert by_hand.session() is by_hand.session()
        assert sorted(connections) == ["/0", "/1", "/2"]
        assert all(len(used) == 1 for used in connections.values())  # each thread kept its session's connection
        assert server.connections_accepted == 3
        assert wait_until(lambda: server.open_connections == 0)  # close() reached every thread's session


def test_the_public_names_are_pinned() -> None:
    assert sessionpool.testing.__all__ == PUBLIC_NAMES
    assert PoolConfig().timeout == sessionpool.testing.DEFAULT_TIMEOUT


def test_import_sessionpool_does_not_import_the_testing_module() -> None:
    code = "import sys, sessionpool; sys.exit('sessionpool.testing' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60, check=False).returncode == 0


def test_the_testing_module_uses_only_the_public_api() -> None:
    package = Path(sessionpool.testing.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sessionpool"):
                assert node.module in ("sessionpool", *(f"sessionpool.testing.{m.stem}" for m in package.glob("_*.py")))
