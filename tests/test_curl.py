"""The curl transport (``PoolConfig(transport="curl")``) against real servers on loopback.

nginx, the fault-injecting server and the hostile server; the proxies are in test_proxies.py.
"""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme
from urllib3.exceptions import InsecureRequestWarning

from helpers import TLSFiles, require_nginx, wait_until
from sessionpool import DeadlineExceeded, PoolConfig, QueuePool, RetryPolicy, ThreadLocalPool
from sessionpool._curl.adapter import CurlAdapter
from sessionpool.testing import Faults, HostileServer, LocalServer, Nginx

RESET_ON_REUSE = Faults(after=1, on="request", how="rst")


# -- the config ------------------------------------------------------------------


def test_a_config_that_names_no_transport_is_on_the_one_the_run_asked_for(request: pytest.FixtureRequest) -> None:
    # pytest: urllib3, the default; pytest --transport curl: curl, in this process only.
    assert PoolConfig().transport == request.config.getoption("--transport")
    with ThreadLocalPool() as pool:
        assert pool.config.transport == request.config.getoption("--transport")
    assert PoolConfig(transport="urllib3").transport == "urllib3"


def test_an_unknown_transport_is_refused_with_the_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"PoolConfig.transport must be 'urllib3' or 'curl', got 'pycurl'"):
        PoolConfig(transport="pycurl")


@pytest.mark.parametrize(("field", "value"), [("impersonate", "chrome"), ("http2", True)])
def test_curl_settings_are_refused_on_urllib3(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=rf"PoolConfig.{field} is a setting of the curl transport"):
        PoolConfig(transport="urllib3", **{field: value})  # type: ignore[arg-type]


def test_what_libcurl_cannot_take_is_refused_not_dropped() -> None:
    with pytest.raises(ValueError, match=r"PoolConfig.ssl_context cannot be used with transport='curl'"):
        PoolConfig(transport="curl", ssl_context=ssl.create_default_context())
    with pytest.raises(ValueError, match=r"PoolConfig.socket_options cannot be used with transport='curl'"):
        PoolConfig(transport="curl", socket_options=((6, 1, 1),))


def test_an_unknown_browser_is_refused_and_a_bare_name_is_its_newest() -> None:
    with pytest.raises(ValueError, match=r"PoolConfig.impersonate must be None, a browser .*got 'netscape4'"):
        PoolConfig(transport="curl", impersonate="netscape4")
    assert PoolConfig(transport="curl", impersonate="chrome").impersonate == "chrome"


def test_a_pool_on_curl_mounts_the_curl_adapter(server: LocalServer) -> None:
    with ThreadLocalPool(transport="curl") as pool, pool.session() as session:
        assert isinstance(session.get_adapter(server.url), CurlAdapter)


# -- requests' own response --------------------------------------------------------


def _answer(response: requests.Response) -> tuple[object, ...]:
    headers = {k: v for k, v in response.headers.items() if k.lower() != "date"}
    return (
        response.status_code, response.reason, response.url, headers, response.content, response.encoding,
        [r.status_code for r in response.history], response.raw.status, response.raw.version,
    )  # fmt: skip


_COOKIES = "/respond?header=Set-Cookie: a=1; Path=/&header=Set-Cookie: b=2&header=X-Twice: 1&header=X-Twice: 2"


_CHARSET = "/respond?header=Content-Type: text/plain; charset=utf-8&body=%C3%A9"


@pytest.mark.parametrize("path", ["/", "/status/404", "/redirect/2", _COOKIES, _CHARSET])
def test_a_response_is_what_the_default_transport_gives(server: LocalServer, path: str) -> None:
    url = f"{server.url}{path}"
    with ThreadLocalPool() as plain, ThreadLocalPool(transport="curl") as curl:
        expected, got = plain.get(url), curl.get(url)
        with plain.session() as plain_session, curl.session() as curl_session:
            jars = (dict(plain_session.cookies), dict(curl_session.cookies))
    assert _answer(got) == _answer(expected)
    assert got.elapsed.total_seconds() > 0
    assert jars[0] == jars[1]


def test_a_coded_body_is_decoded_as_requests_decodes_it(hostile: HostileServer) -> None:
    url = f"{hostile.url}/gzip-bomb?size=100000"
    with ThreadLocalPool() as plain, ThreadLocalPool(transport="curl") as curl:
        assert curl.get(url).content == plain.get(url).content == bytes(100_000)
        coded = curl.get(url, stream=True).raw.read(decode_content=False)
        assert coded == plain.get(url, stream=True).raw.read(decode_content=False) != bytes(100_000)
        streamed = b"".join(curl.get(url, stream=True).raw.stream(1024, decode_content=True))
    assert streamed == bytes(100_000)


def test_cookies_redirects_and_the_request_headers_are_requests_own(server: LocalServer) -> None:
    with ThreadLocalPool(transport="curl") as pool, pool.session() as session:
        response = session.get(f"{server.url}/echo", headers={"X-One": "1"})
    sent = response.json()["headers"]
    # Exactly requests' headers: no Accept, Expect or Content-Type of libcurl's own.
    assert {k.lower() for k in sent} == {"host", "user-agent", "accept-encoding", "accept", "connection", "x-one"}
    assert sent["Accept"] == "*/*"
    assert response.status_code == 200


def test_a_post_body_arrives_as_requests_encoded_it(server: LocalServer) -> None:
    with ThreadLocalPool(transport="curl") as pool:
        pool.post(f"{server.url}/form", data={"a": "1", "b": "two words"})
        pool.put(f"{server.url}/raw", data=b"x" * 200_000)
        pool.post(f"{server.url}/chunks", data=iter([b"ab", b"cd"]))
    form, raw, chunks = server.requests[-3:]
    assert (form.method, form.body) == ("POST", b"a=1&b=two+words")
    assert form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (raw.method, len(raw.body)) == ("PUT", 200_000)
    assert "Expect" not in raw.headers
    assert "Content-Type" not in raw.headers
    assert (chunks.body, chunks.headers["Transfer-Encoding"]) == (b"abcd", "chunked")


def test_a_streamed_body_arrives_as_the_server_sends_it(hostile: HostileServer) -> None:
    # 4 chunks of 1 KiB, 0.5 s apart: the first must be read long before the last is sent.
    url = f"{hostile.url}/trickle?size=4096&chunk=1024&interval=0.5"
    with ThreadLocalPool(transport="curl", timeout=(5, 5)) as pool:
        started = time.monotonic()
        response = pool.get(url, stream=True)
        first = next(response.iter_content(1024))
        first_at = time.monotonic() - started
        rest = b"".join(response.iter_content(1024))
        total = time.monotonic() - started
    assert len(first) + len(rest) == 4096
    assert first_at < 1.0 < total


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_streamed_chunked_body_is_handed_over_chunk_by_chunk(hostile: HostileServer, transport: str) -> None:
    # iter_content(None): each chunk as it arrives; the server never sends the last one.
    url = f"{hostile.url}/trickle-chunked?chunk=10&interval=0.2"
    with ThreadLocalPool(transport=transport, timeout=(5, 1)) as pool:
        response = pool.get(url, stream=True)
        started = time.monotonic()
        first = next(response.iter_content(None))
        assert time.monotonic() - started < 0.8
        assert first
        response.close()


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_streamed_body_cut_short_raises_and_is_never_whole(hostile: HostileServer, transport: str) -> None:
    url = f"{hostile.url}/lying-length?size=1000&actual=500"
    with ThreadLocalPool(transport=transport, retry=RetryPolicy.disabled()) as pool:
        response = pool.get(url, stream=True)  # the head is whole: the answer is handed back
        with pytest.raises(Exception, match="IncompleteRead"):
            response.raw.read()
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            _ = pool.get(url, stream=True).content


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_streamed_body_past_the_deadline_raises_the_deadline(hostile: HostileServer, transport: str) -> None:
    with ThreadLocalPool(transport=transport, deadline=1.0, timeout=(5, 5)) as pool:
        response = pool.get(hostile.url + "/trickle-chunked?chunk=10&interval=0.1", stream=True)
        received: list[bytes] = []
        with pytest.raises(DeadlineExceeded):
            received.extend(response.iter_content(None))
    assert received


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_refused_connection_counts_a_request_and_no_reuse(transport: str) -> None:
    with LocalServer() as stopped:
        url = stopped.url
    with ThreadLocalPool(transport=transport, retry=RetryPolicy.disabled()) as pool:
        with pytest.raises(requests.ConnectionError):
            pool.get(url + "/")
        stats = pool.stats()
    assert (stats.requests, stats.requests_reused, stats.connections_opened) == (1, 0, 0)


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_an_unverified_https_request_warns_as_urllib3_does(tls_server: LocalServer, transport: str) -> None:
    unverified = "Unverified HTTPS request is being made to host '127.0.0.1'"
    with (
        ThreadLocalPool(transport=transport, verify=False) as pool,
        pytest.warns(InsecureRequestWarning, match=unverified),
    ):
        assert pool.get(tls_server.url + "/").content == b"ok"


def test_a_nul_byte_in_a_header_is_an_unreadable_answer_on_curl(hostile: HostileServer) -> None:
    # libcurl refuses it (urllib3 takes it): bytes arrived, so it is no lost connection, and never replayed.
    head = b"HTTP/1.1 200 OK\r\nX-Bad: a\x00b\r\nContent-Length: 2\r\n\r\n"
    with ThreadLocalPool(transport="curl") as pool:
        with pytest.raises(requests.ConnectionError, match="NUL byte") as raised:
            pool.get(hostile.raw_url(head, b"ok"))
        assert pool.stats().stale_retries == 0
    assert isinstance(raised.value.args[0].args[1], http.client.BadStatusLine)


def test_each_body_is_its_own_after_a_longer_one_on_the_same_line(hostile: HostileServer) -> None:
    """libcurl writes each answer into the line's memory streams, which start over: nothing is left for the next."""
    sizes = [300_000, 10, 0, 70_000, 1]
    with ThreadLocalPool(transport="curl") as pool, pool.session() as session:
        bodies = [session.get(f"{hostile.url}/huge?size={size}").content for size in sizes]
        streamed = session.get(f"{hostile.url}/huge?size=5", stream=True)
        pieces = list(streamed.iter_content(2))
    assert [len(body) for body in bodies] == sizes
    assert b"".join(pieces) == bodies[-1] * 5
    assert [len(piece) for piece in pieces] == [2, 2, 1]


# -- connections, and Go's replay rule --------------------------------------------


def test_100_requests_count_100_and_exactly_the_connections_the_server_accepted(nginx: Nginx) -> None:
    with QueuePool(size=1, transport="curl") as pool:
        for n in range(100):
            pool.get(f"{nginx.url}/ok/{n}")
        stats = pool.stats()
    assert stats.requests == 100
    assert stats.connections_opened == nginx.connections_accepted()
    assert stats.requests_reused == 100 - stats.connections_opened


@pytest.fixture(params=["kept", "let go"])
def gil_in_short_calls(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """libcurl's short calls keeping the GIL (through ctypes, as here) or made by curl_cffi (where ctypes cannot)."""
    from sessionpool._curl import short_calls

    assert short_calls.KEEPS_GIL  # this platform takes the ctypes way: the other one is made here
    if request.param == "let go":
        monkeypatch.setattr(short_calls, "KEEPS_GIL", False)
        monkeypatch.setattr(short_calls, "_GETINFO_KEEPS_GIL", False)
    return str(request.param)


def test_either_way_of_the_short_calls_counts_requests_and_connections(nginx: Nginx, gil_in_short_calls: str) -> None:
    with QueuePool(size=1, transport="curl", retry=RetryPolicy(retry_stale=True)) as pool:
        for n in range(30):
            assert pool.get(f"{nginx.url}/ok/{n}", stream=n % 5 == 0).content == b"ok"
        assert pool.post(f"{nginx.url}/ok/post", data=b"x").status_code in (200, 405)
        with pool.session() as session:
            assert session.get(f"{nginx.url}/ok/x", timeout=(0.5, 0.5)).status_code == 200
        stats = pool.stats()
    assert stats.requests == 32
    assert stats.connections_opened == nginx.connections_accepted()
    assert stats.requests_reused == 32 - stats.connections_opened


def test_a_post_goes_out_on_a_connection_of_its_own_and_reaches_the_server_once() -> None:
    with LocalServer(faults=RESET_ON_REUSE) as server, QueuePool(size=1, transport="curl") as pool:
        pool.get(server.url + "/warm-up")
        response = pool.post(server.url + "/orders", data=b"one order")
        stats = pool.stats()
    assert response.status_code == 200
    assert server.count("POST", "/orders") == 1
    assert stats.connections_opened == server.connections_accepted == 2


def test_a_get_whose_reused_connection_died_is_sent_again() -> None:
    with LocalServer(faults=RESET_ON_REUSE) as server, QueuePool(size=1, transport="curl") as pool:
        pool.get(server.url + "/warm-up")
        assert pool.get(server.url + "/again").status_code == 200


def test_with_stale_replays_off_nothing_reuses_a_connection(nginx: Nginx) -> None:
    from sessionpool import RetryPolicy

    with QueuePool(size=1, transport="curl", retry=RetryPolicy.disabled()) as pool:
        for _ in range(5):
            pool.get(f"{nginx.url}/ok")
        stats = pool.stats()
    assert stats.connections_opened == nginx.connections_accepted() == 5


# -- errors as requests raises them ----------------------------------------------


def test_a_refused_connection_is_a_connect_failure(server: LocalServer) -> None:
    url = server.url
    server.stop()
    with ThreadLocalPool(transport="curl") as pool, pytest.raises(requests.ConnectionError) as raised:
        pool.get(url)
    assert not isinstance(raised.value, requests.exceptions.ProxyError)


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port whose backlog is full: a connection to it is never accepted (Linux drops the SYN)."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        for _ in range(8):  # bounded: the backlog of 0 holds one or two
            filler = socket.socket()
            filler.setblocking(False)
            fillers.append(filler)
            if filler.connect_ex(("127.0.0.1", port)) not in (0, errno.EINPROGRESS):
                break
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_connection_never_accepted_is_a_connect_timeout(unanswered_port: int, transport: str) -> None:
    with ThreadLocalPool(transport=transport, timeout=(0.5, 5), retry=RetryPolicy.disabled()) as pool:
        started = time.monotonic()
        with pytest.raises(requests.ConnectTimeout):
            pool.get(f"http://127.0.0.1:{unanswered_port}/")
    assert 0.5 <= time.monotonic() - started < 4


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_proxy_that_refuses_the_connection_is_a_proxy_error(server: LocalServer, transport: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with (
        ThreadLocalPool(transport=transport, proxies={"http": dead}) as pool,
        pytest.raises(requests.exceptions.ProxyError),
    ):
        pool.get(f"{server.url}/")
    assert server.requests == []


_CUT_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
_CUT_LENGTH = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
_TWO_LENGTHS = b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\nContent-Length: 32\r\n\r\n"


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
@pytest.mark.parametrize(
    ("head", "body", "error", "text"),
    [
        # urllib3 before 2.1 words a chunked body cut off as an InvalidChunkLength.
        (_CUT_CHUNKED, b"", requests.exceptions.ChunkedEncodingError, ("prematurely", "InvalidChunkLength")),
        (_CUT_LENGTH, b"", requests.exceptions.ChunkedEncodingError, ("IncompleteRead",)),
        (_TWO_LENGTHS, b"-- Bad Actor -- Original Content\r\n", requests.exceptions.InvalidHeader, ("Content-Length",)),
    ],
    ids=["chunked-head-cut", "length-head-cut", "two-lengths"],
)
def test_a_broken_head_is_the_error_the_default_transport_raises(
    hostile: HostileServer, transport: str, head: bytes, body: bytes, error: type[Exception], text: tuple[str, ...]
) -> None:
    """The connection closes before the head's blank line, or the head has two lengths (requests' own suite)."""
    with ThreadLocalPool(transport=transport, retry=RetryPolicy.disabled()) as pool, pytest.raises(error) as raised:
        pool.get(hostile.raw_url(head, body))
    assert any(words in str(raised.value) for words in text)


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_timeout_that_is_no_number_is_refused_as_requests_refuses_it(server: LocalServer, transport: str) -> None:
    with ThreadLocalPool(transport=transport) as pool:
        with pytest.raises(ValueError, match="must be an int, float or None"):
            pool.get(f"{server.url}/", timeout="foo")
        with pytest.raises(ValueError, match=r"\(connect, read\)"):
            pool.get(f"{server.url}/", timeout=(1, 2, 3))
        assert pool.get(f"{server.url}/", timeout=(1, 2)).status_code == 200


def test_a_silent_server_is_a_read_timeout(silent_server: str) -> None:
    with ThreadLocalPool(transport="curl", timeout=(2, 0.3)) as pool:
        started = time.monotonic()
        with pytest.raises(requests.ReadTimeout):
            pool.get(silent_server)
    assert 0.3 <= time.monotonic() - started < 2


def test_nothing_of_one_request_reaches_the_next_on_the_same_handle(server: LocalServer) -> None:
    """One session, one handle: each request is sent as it is, whatever the one before it set."""
    calls = [
        ("GET", {"headers": {"X-One": "1"}}),
        ("GET", {}),
        ("HEAD", {}),
        ("GET", {"params": {"q": "1"}}),
        ("POST", {"data": b"body"}),
        ("GET", {}),
        ("DELETE", {}),
        ("GET", {"headers": {"X-Two": "2"}}),
        ("PUT", {"data": iter([b"a", b"b"])}),
        ("GET", {}),
    ]
    with ThreadLocalPool(transport="curl", deadline=30) as pool, pool.session() as session:
        before = len(server.requests)
        for method, arguments in calls:
            assert session.request(method, f"{server.url}/seq", **arguments).status_code == 200
        seen = server.requests[before:]
    assert [(r.method, r.path, r.body) for r in seen] == [
        ("GET", "/seq", b""),
        ("GET", "/seq", b""),
        ("HEAD", "/seq", b""),
        ("GET", "/seq?q=1", b""),
        ("POST", "/seq", b"body"),
        ("GET", "/seq", b""),
        ("DELETE", "/seq", b""),
        ("GET", "/seq", b""),
        ("PUT", "/seq", b"ab"),
        ("GET", "/seq", b""),
    ]
    custom = [[name for name in r.headers if name.startswith("X-")] for r in seen]
    assert custom == [["X-One"], [], [], [], [], [], [], ["X-Two"], [], []]
    assert ["Content-Length" in r.headers or "Transfer-Encoding" in r.headers for r in seen] == [
        False, False, False, False, True, False, True, False, True, False,
    ]  # fmt: skip


def test_tls_is_verified_against_the_ca_given(tls_server: LocalServer, tls_files: TLSFiles) -> None:
    with ThreadLocalPool(transport="curl", verify=tls_files.ca_bundle) as pool:
        assert pool.get(tls_server.url + "/").status_code == 200
    with ThreadLocalPool(transport="curl") as pool, pytest.raises(requests.exceptions.SSLError):
        pool.get(tls_server.url + "/")


def test_http2_when_asked_for_and_http_1_1_otherwise(tmp_path: Path, ca: trustme.CA) -> None:
    require_nginx()
    pem, bundle = tmp_path / "server.pem", str(tmp_path / "ca.pem")
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    ca.cert_pem.write_to_path(bundle)
    with Nginx(tmp_path / "nginx", tls=(pem, pem), http2=True, bodies={"/16k": b"x" * 16384}) as nginx:
        url = f"{nginx.https_url}/16k"
        with ThreadLocalPool(transport="curl", http2=True, verify=bundle) as pool:
            answers = [pool.get(url) for _ in range(20)]
            stats = pool.stats()
        with ThreadLocalPool(transport="curl", verify=bundle) as pool:
            plain = pool.get(url)
        # nginx writes a request's log line after its answer: wait (bounded) for the last one.
        assert wait_until(lambda: len(nginx.access_log()) == 21)
        log = nginx.access_log()
    assert {(a.status_code, a.raw.version, a.content) for a in answers} == {(200, 20, b"x" * 16384)}
    assert answers[0].headers["Content-Length"] == "16384"
    assert (stats.requests, stats.connections_opened) == (20, 1)
    assert (plain.raw.version, plain.content) == (11, b"x" * 16384)
    assert [entry.protocol for entry in log] == ["HTTP/2.0"] * 20 + ["HTTP/1.1"]


def test_a_client_certificate_is_sent(mtls_server: LocalServer, tls_files: TLSFiles) -> None:
    cert = (tls_files.client_cert, tls_files.client_key)
    with ThreadLocalPool(transport="curl", verify=tls_files.ca_bundle, cert=cert) as pool:
        assert pool.get(mtls_server.url + "/").status_code == 200
    pool = ThreadLocalPool(transport="curl", verify=tls_files.ca_bundle)
    with pool, pytest.raises(requests.RequestException):
        pool.get(mtls_server.url + "/")


def test_a_missing_ca_bundle_is_requests_own_error(server: LocalServer, tls_server: LocalServer) -> None:
    with ThreadLocalPool(transport="curl") as pool:
        with pytest.raises(OSError, match="Could not find a suitable TLS CA certificate bundle"):
            pool.get(tls_server.url + "/", verify="/nonexistent/ca.pem")
        assert pool.get(server.url + "/", verify="/nonexistent/ca.pem").status_code == 200  # plain http needs no CA


def test_the_deadline_ends_a_trickle(hostile: HostileServer) -> None:
    from sessionpool import DeadlineExceeded

    url = f"{hostile.url}/trickle?size=100&interval=0.2"  # 20 s in all, a byte every 0.2 s
    with ThreadLocalPool(transport="curl", deadline=1.0, timeout=(5, 5)) as pool:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            pool.get(url)
        with pytest.raises(DeadlineExceeded):
            b"".join(pool.get(url, stream=True).iter_content(10))
    assert time.monotonic() - started < 5


def test_impersonating_a_browser_keeps_the_requests_headers(tls_server: LocalServer, tls_files: TLSFiles) -> None:
    with ThreadLocalPool(transport="curl", impersonate="chrome", verify=tls_files.ca_bundle) as pool:
        response = pool.get(tls_server.url + "/echo")
    assert response.json()["headers"]["User-Agent"].startswith("python-requests/")
    assert response.raw.version == 11  # HTTP/2 only when asked


@pytest.mark.parametrize("kind", ["thread-local", "queue"])
@pytest.mark.usefixtures("tiny_switch_interval")
def test_16_threads_never_share_a_handle_and_every_request_is_counted(nginx: Nginx, kind: str) -> None:
    from sessionpool.testing import run_threads

    threads, per_thread = 16, 40
    pool = ThreadLocalPool(transport="curl") if kind == "thread-local" else QueuePool(size=4, transport="curl")
    bodies: list[bytes] = []

    def work(index: int) -> None:
        for n in range(per_thread):
            stream = n % 4 == 0  # a streamed body holds its line until read: another line serves meanwhile
            response = pool.get(f"{nginx.url}/{index}/{n}", stream=stream)
            bodies.append(response.content)

    with pool:
        run_threads(threads, work, seconds=120)
        stats = pool.stats()
    assert bodies == [b"ok"] * (threads * per_thread)
    assert stats.requests == threads * per_thread == len(nginx.access_log())
    assert stats.connections_opened == nginx.connections_accepted()


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_body_that_fails_while_it_is_sent_raises_its_own_error(server: LocalServer, transport: str) -> None:
    def body() -> object:
        yield b"first part"
        raise LookupError("the upload's source failed")

    with ThreadLocalPool(transport=transport) as pool:
        with pytest.raises(LookupError, match="the upload's source failed"):
            pool.post(f"{server.url}/upload", data=body())
        assert pool.get(f"{server.url}/after").status_code == 200  # the session still serves
