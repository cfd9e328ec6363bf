"""sessionpool.testing.HostileServer: each path answers as documented, and stop() ends them all; real sockets."""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from urllib.parse import quote_from_bytes, urlsplit

import pytest
import requests

import sessionpool.testing
from helpers import wait_until
from sessionpool.testing import HostileServer

MiB = 1024 * 1024


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


def _ask(server: HostileServer, target: str, *, method: str = "GET", extra: bytes = b"") -> socket.socket:
    """A raw connection that sent one request for ``target`` (``extra``: more header lines, and a body)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + extra + b"\r\n")
    return sock


def _read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (each recv waits 5 s at most)."""
    received = bytearray()
    with sock:
        while data := sock.recv(65536):
            received += data
    return bytes(received)


def _read_for(sock: socket.socket, seconds: float) -> bytes:
    """What the server sends in ``seconds``."""
    received = bytearray()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except TimeoutError:
            break
        if not data:
            break
        received += data
    return bytes(received)


def _ended(sock: socket.socket) -> bool:
    """Whether the server ends the connection (FIN or RST) within 5 s, once what was in flight is read; closes it."""
    with sock:
        sock.settimeout(5)
        try:
            while sock.recv(MiB):
                pass
        except ConnectionResetError:
            pass
        except TimeoutError:
            return False
    return True


def _exchange(server: HostileServer, target: str) -> tuple[list[bytes], bytes]:
    """The head lines (status line first) and the body of the answer to ``GET target``, read to the close."""
    head, _, body = _read_to_end(_ask(server, target)).partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def _target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _server_threads(server: HostileServer) -> list[str]:
    name = server.thread_name
    return [t.name for t in threading.enumerate() if t.name == name or t.name.startswith(f"{name}-")]


def test_is_public() -> None:
    assert "HostileServer" in sessionpool.testing.__all__
    assert sessionpool.testing.HostileServer is HostileServer


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "192.168.1.1", "::1", "localhost", ""])
def test_refuses_any_host_off_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        HostileServer(host=host)


def test_listens_on_any_loopback_address() -> None:
    with HostileServer(host="127.0.0.2") as server:
        assert server.url == f"http://127.0.0.2:{server.port}"
        assert requests.get(server.url + "/", timeout=5).text == "ok"
    assert not _server_threads(server)


def test_refuses_connections_until_started_and_stops_twice() -> None:
    server = HostileServer()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5)
    server.stop()  # never started: the socket it bound is closed
    server.stop()


def test_anything_else_is_ok_recorded_and_counted(hostile: HostileServer) -> None:
    with requests.get(hostile.url + "/robots.txt", timeout=5) as response:
        assert (response.status_code, response.text) == (200, "ok")
        assert response.headers["Connection"] == "close"
    lines, body = _exchange(hostile, "/other?a=1&a=2")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"Content-Length: 2" in lines
    assert body == b"ok"
    assert hostile.paths == ["/robots.txt", "/other?a=1&a=2"]
    assert hostile.connections_accepted == 2
    assert wait_until(lambda: hostile.open_connections == 0)
    assert (hostile.sent_bytes("/robots"), hostile.sent_bytes("/"), hostile.sent_bytes("/none")) == (2, 4, 0)


def test_trickle_sends_at_the_rate_asked(hostile: HostileServer) -> None:
    started = time.monotonic()
    sock = _ask(hostile, "/trickle?size=10&chunk=2&interval=0.2")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(65536)
    head, _, body = head.partition(b"\r\n\r\n")
    if not body:
        body = sock.recv(65536)
    first = time.monotonic() - started
    body += _read_to_end(sock)
    elapsed = time.monotonic() - started
    assert b"Content-Length: 10" in head.split(b"\r\n")
    assert body == b"x" * 10
    assert first < 0.5  # the first chunk at once
    assert 0.7 < elapsed < 2.5  # five chunks, four pauses of 0.2 s
    assert hostile.sent_bytes("/trickle") == 10


def test_trickle_ends_when_the_client_goes_away(hostile: HostileServer) -> None:
    sock = _ask(hostile, "/trickle?interval=0.05")  # 1 MiB, a byte every 50 ms: 14 hours
    assert _read_for(sock, 0.3).endswith(b"x")
    sock.close()
    assert wait_until(lambda: hostile.open_connections == 0, seconds=3)
    assert 0 < hostile.sent_bytes("/trickle") < 100


def test_trickle_chunked_never_sends_its_last_chunk(hostile: HostileServer) -> None:
    with _ask(hostile, "/trickle-chunked?chunk=3&interval=0.05") as sock:
        head, _, body = _read_for(sock, 0.6).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert b"Transfer-Encoding: chunked" in lines
    assert not any(line.startswith(b"Content-Length") for line in lines)
    assert body.startswith(b"3\r\nxxx\r\n" * 4)
    assert (b"3\r\nxxx\r\n" * 1000).startswith(body)  # chunk after chunk, and never "0\r\n\r\n"


def test_slowloris_never_ends_its_head(hostile: HostileServer) -> None:
    with _ask(hostile, "/slowloris?interval=0.5") as sock:
        received = _read_for(sock, 2.5)
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\n\r\n" not in received
    lines = received.split(b"\r\n")[1:-1]
    assert len(lines) >= 3
    assert lines == [f"X-Slow-{i}: x".encode() for i in range(1, len(lines) + 1)]


def test_silent_head_sends_nothing_until_the_client_goes_away(hostile: HostileServer) -> None:
    with _ask(hostile, "/silent-head") as sock:
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(1)
    assert hostile.paths == ["/silent-head"]
    assert wait_until(lambda: hostile.open_connections == 0, seconds=3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(hostile.url + "/silent-head", timeout=0.3)


def test_huge_arrives_complete(hostile: HostileServer) -> None:
    size = 64 * MiB
    started = time.monotonic()
    with requests.get(f"{hostile.url}/huge?size={size}", stream=True, timeout=10) as response:
        assert response.headers["Content-Length"] == str(size)
        received = sum(len(piece) for piece in response.iter_content(MiB))
    assert received == size
    assert time.monotonic() - started < 30
    assert hostile.sent_bytes("/huge") == size


def test_huge_pushes_256_mib_in_seconds(hostile: HostileServer) -> None:
    sock = _ask(hostile, "/huge")  # 256 MiB
    buffer = bytearray(MiB)
    received = 0
    started = time.monotonic()
    with sock:
        while chunk := sock.recv_into(buffer):
            received += chunk
    assert time.monotonic() - started < 10
    assert hostile.sent_bytes("/huge") == 256 * MiB
    assert received > 256 * MiB  # and the head


def test_huge_chunked(hostile: HostileServer) -> None:
    size = 3 * 65536 + 7
    with requests.get(f"{hostile.url}/huge?size={size}&chunked=1", timeout=5) as response:
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in response.headers
        assert response.content == b"x" * size
    _, body = _exchange(hostile, f"/huge?size={size}&chunked=1")
    assert body.startswith(b"10000\r\n")
    assert body.endswith(b"\r\n7\r\nxxxxxxx\r\n0\r\n\r\n")


def test_huge_stops_when_the_client_stops_reading(hostile: HostileServer) -> None:
    sock = _ask(hostile, f"/huge?size={1024 * MiB}")
    received = 0
    while received < MiB:
        received += len(sock.recv(65536))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # and reset, to be rude
    sock.close()
    assert wait_until(lambda: hostile.open_connections == 0, seconds=3)
    # What was read (less the head), and what the sockets' buffers held: far from the GiB asked for.
    assert received - 1024 <= hostile.sent_bytes("/huge") < 64 * MiB


def test_close_delimited(hostile: HostileServer) -> None:
    lines, body = _exchange(hostile, "/close-delimited?size=100000")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert not any(line.lower().startswith((b"content-length", b"transfer-encoding")) for line in lines)
    assert body == b"x" * 100_000
    with requests.get(hostile.url + "/close-delimited?size=100000", timeout=5) as response:
        assert len(response.content) == 100_000


def _inflate(body: bytes, wbits: int) -> int:
    """Decompress a MiB at a time, never all at once; return how many bytes came out, all zeros."""
    decompressor = zlib.decompressobj(wbits)
    total = 0
    data = body
    for _ in range(100_000):
        piece = decompressor.decompress(data, MiB)
        assert not piece.strip(b"\0")
        total += len(piece)
        data = decompressor.unconsumed_tail
        if not data and not piece:
            break
    total += len(decompressor.flush())
    assert decompressor.eof
    return total


def test_gzip_bomb(hostile: HostileServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", hostile.port, timeout=10)  # it decodes nothing
    try:
        connection.request("GET", f"/gzip-bomb?size={64 * MiB}")  # a quarter of the default, to stay quick
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Content-Length") == str(len(body))
    assert len(body) < 64 * MiB / 500
    assert body.startswith(b"\x1f\x8b")
    assert _inflate(body, 31) == 64 * MiB
    assert hostile.sent_bytes("/gzip-bomb") == len(body)


def test_deflate_bomb_is_built_once(hostile: HostileServer) -> None:
    target = f"/gzip-bomb?size={16 * MiB}&encoding=deflate"
    lines, body = _exchange(hostile, target)
    assert b"Content-Encoding: deflate" in lines
    assert len(body) < 16 * MiB / 500
    assert _inflate(body, 15) == 16 * MiB
    assert _exchange(hostile, target)[1] == body
    assert hostile.sent_bytes("/gzip-bomb") == 2 * len(body)


def test_lying_length(hostile: HostileServer) -> None:
    lines, body = _exchange(hostile, "/lying-length?size=1000&actual=10")
    assert b"Content-Length: 1000" in lines
    assert body == b"x" * 10
    connection = http.client.HTTPConnection("127.0.0.1", hostile.port, timeout=5)
    try:
        connection.request("GET", "/lying-length?size=1000")  # half of it
        with pytest.raises(http.client.IncompleteRead) as caught:
            connection.getresponse().read()
    finally:
        connection.close()
    assert len(caught.value.partial) == 500


def test_raw_writes_the_exact_bytes(hostile: HostileServer) -> None:
    head = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: \xb2\r\nContent-Length: 2\r\n\r\n"
    url = hostile.raw_url(head, b"no")
    assert url.startswith(hostile.url + "/raw?head=")
    assert "%B2" in url
    assert _read_to_end(_ask(hostile, _target(url))) == head + b"no"
    assert hostile.sent_bytes("/raw") == 2  # the body; the head is not counted
    assert _read_to_end(_ask(hostile, _target(hostile.raw_url(b"\0\xff garbage")))) == b"\0\xff garbage"


def test_raw_sends_a_status_line_clients_refuse(hostile: HostileServer) -> None:
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(hostile.raw_url(b"HTPT/1.1 two hundred\r\n\r\n"), timeout=5)
    connection = http.client.HTTPConnection("127.0.0.1", hostile.port, timeout=5)
    try:
        connection.request("GET", _target(hostile.raw_url(b"HTTP/1.1 2OO OK\r\n\r\n")))
        with pytest.raises(http.client.BadStatusLine):
            connection.getresponse()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("location", "status"),
    [
        (b"http://bob:pw@127.0.0.2:{port}/x", 302),
        (b"file:///etc/passwd", 301),
        (b"/caf\xc3\xa9 \xff?next=%2F", 307),
    ],
)
def test_redirect_sends_its_location_verbatim(hostile: HostileServer, location: bytes, status: int) -> None:
    location = location.replace(b"{port}", str(hostile.port).encode())
    lines, body = _exchange(hostile, f"/redirect?to={quote_from_bytes(location, safe='')}&status={status}")
    assert lines[0].startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Location: " + location in lines
    assert b"Content-Length: 0" in lines
    assert body == b""


def test_redirect_is_a_302_by_default(hostile: HostileServer) -> None:
    lines, _ = _exchange(hostile, "/redirect?to=%2Fok")
    assert lines[0] == b"HTTP/1.1 302 Found"
    assert b"Location: /ok" in lines


def test_a_request_head_over_64_kib_is_431(hostile: HostileServer) -> None:
    lines, _ = _exchange(hostile, "/ok")
    assert lines[0] == b"HTTP/1.1 200 OK"
    big = b"X-Big: " + b"a" * (60 * 1024) + b"\r\n"
    assert _read_to_end(_ask(hostile, "/ok", extra=big)).endswith(b"\r\n\r\nok")
    huge = b"X-Big: " + b"a" * (70 * 1024) + b"\r\n"
    assert _read_to_end(_ask(hostile, "/ok", extra=huge)).startswith(b"HTTP/1.1 431 ")
    assert hostile.paths == ["/ok", "/ok"]  # the 431 never had its head read to the end


def test_a_request_body_is_read_and_discarded(hostile: HostileServer) -> None:
    with requests.post(hostile.url + "/upload", data=b"y" * 300_000, timeout=5) as response:
        assert response.text == "ok"
    too_long = f"Content-Length: {17 * MiB}\r\n".encode()
    assert _read_to_end(_ask(hostile, "/upload", method="POST", extra=too_long)).startswith(b"HTTP/1.1 413 ")
    not_a_length = b"Content-Length: 12abc\r\n"
    assert _read_to_end(_ask(hostile, "/upload", method="POST", extra=not_a_length)).startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("/trickle?size=abc", "size"),
        ("/trickle?size=-1", "size"),
        ("/trickle?chunk=0", "chunk"),
        ("/trickle?chunk=65537", "chunk"),
        ("/trickle?interval=-1", "interval"),
        ("/trickle?interval=nan", "interval"),
        ("/slowloris?interval=601", "interval"),
        ("/huge?chunked=yes", "chunked"),
        ("/gzip-bomb?encoding=br", "encoding"),
        ("/redirect?status=42", "status"),
    ],
)
def test_a_query_it_cannot_follow_is_400(hostile: HostileServer, target: str, name: str) -> None:
    lines, body = _exchange(hostile, target)
    assert lines[0] == b"HTTP/1.1 400 Bad Request"
    assert body.startswith(name.encode() + b" must be")


def test_stop_ends_every_answer_at_once(hostile: HostileServer) -> None:
    waiting = {
        "/trickle?interval=0.2": b"x",
        "/trickle-chunked?interval=0.2": b"1\r\nx\r\n",
        "/slowloris?interval=0.2": b"X-Slow-1: x\r\n",
        f"/huge?size={1024 * MiB}": b"x",  # read for a moment, then no more: the server's send blocks
    }
    clients = {target: _ask(hostile, target) for target in [*waiting, "/silent-head", f"/gzip-bomb?size={16 << 30}"]}
    for target, expected in waiting.items():
        assert expected in _read_for(clients[target], 0.3)
    assert wait_until(lambda: len(hostile.paths) == 6)
    assert hostile.open_connections == 6
    assert len(_server_threads(hostile)) == 7  # the one that accepts, and one per connection
    started = time.monotonic()
    hostile.stop()
    assert time.monotonic() - started < 3
    assert not _server_threads(hostile)
    assert hostile.open_connections == 0
    for sock in clients.values():
        assert _ended(sock)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", hostile.port), timeout=5)
