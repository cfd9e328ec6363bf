"""The curl transport's head, as libcurl hands it over: its blocks (tests of a line), and its parsing.

Pure tests of ``sessionpool._curl.response.parse_head`` and of how a line
(``sessionpool._curl.line.Line``, real libcurl handles, no transfer) tells
the answer's block from interim ones; the transport against servers is in
test_curl.py.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionpool._curl.line import Line
from sessionpool._curl.response import parse_head
from sessionpool._stats import StatsRecorder

NGINX_HEAD = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 12:59:18 GMT\r\n"
    b"Content-Type: application/octet-stream\r\nContent-Length: 10\r\nConnection: keep-alive\r\n"
    b'ETag: "6b16ada6-a"\r\nAccept-Ranges: bytes\r\n\r\n'
)


# -- parse_head ---------------------------------------------------------------------


def test_a_head_is_its_status_line_and_headers_in_order() -> None:
    head = parse_head(NGINX_HEAD)
    assert head is not None
    assert (head.status, head.reason, head.version) == (200, "OK", 11)
    assert list(head.headers)[:3] == ["Server", "Date", "Content-Type"]
    assert head.headers["content-length"] == "10"
    assert head.fields["etag"] == ["ETag", '"6b16ada6-a"']


def test_headers_are_as_http_client_reads_them() -> None:
    raw = (
        b"HTTP/1.0 404 Not  Found\r\nSet-Cookie: a=1\r\nX-Folded: one\r\n  two\r\nset-cookie: b=2\r\n"
        b"X-Empty:\r\nX-Spaces:   padded  \r\nCaf\xe9: cr\xe8me\r\n\r\n"
    )
    head = parse_head(raw)
    assert head is not None
    assert (head.status, head.reason, head.version) == (404, "Not  Found", 10)
    message = http.client.parse_headers(io.BytesIO(raw.split(b"\r\n", 1)[1]))
    assert head.headers.getlist("Set-Cookie") == message.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert head.headers["Café"] == "crème"  # ISO-8859-1, as http.client decodes a head
    assert head.headers["X-Empty"] == message["X-Empty"] == ""
    assert head.headers["X-Spaces"] == message["X-Spaces"].strip() == "padded"
    assert head.headers["x-folded"] == "one two"
    assert head.merged == {key: (values[0], ", ".join(values[1:])) for key, values in head.fields.items()}


@pytest.mark.parametrize(
    ("raw", "status", "version"),
    [
        (b"HTTP/2 201 \r\nx: 1\r\n\r\n", 201, 20),  # libcurl's status line of an HTTP/2 answer
        (b"HTTP/1.1 204\r\n\r\n", 204, 11),  # no reason
        (b"HTTP/1.1 200 OK\nX: 1\n\n", 200, 11),  # bare line feeds
        (b"HTTP/1.1 200 OK\r\nX: 1\r\n", 200, 11),  # the connection closed before the blank line
        (b"HTTP/9.9 200 OK\r\n\r\n", 200, 11),  # a version nobody speaks: read as 1.1, as urllib3 does
    ],
)
def test_heads_of_other_shapes(raw: bytes, status: int, version: int) -> None:
    head = parse_head(raw)
    assert head is not None
    assert (head.status, head.version) == (status, version)


@pytest.mark.parametrize(
    "raw",
    [b"", b"garbage\r\n\r\n", b"HTTP/1.1\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n", b"HTTP/1.1 \xb200 OK\r\n\r\n"],
)
def test_no_valid_status_line_is_no_head(raw: bytes) -> None:
    assert parse_head(raw) is None


def test_what_is_no_header_is_left_out() -> None:
    head = parse_head(b"HTTP/1.1 200 OK\r\nno colon here\r\n  folded after nothing\r\n: no name\r\nX: 1\r\n\r\n")
    assert head is not None
    assert list(head.headers.items()) == [("X", "1")]


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=300), st.sampled_from([b"", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nA:"]))
def test_any_bytes_are_parsed_totally(tail: bytes, start: bytes) -> None:
    head = parse_head(start + tail)
    if head is not None:
        assert 0 <= head.status <= 999
        assert all(isinstance(value, str) for value in head.headers.values())
        assert head.merged == {key: (values[0], ", ".join(values[1:])) for key, values in head.fields.items()}


# -- a line's blocks --------------------------------------------------------------------


@pytest.fixture
def line() -> Iterator[Line]:
    made = Line(None, 1, StatsRecorder())
    yield made
    made.close()


def test_an_interim_block_is_dropped_and_the_answer_kept(line: Line) -> None:
    continue_block = b"HTTP/1.1 100 Continue\r\n\r\n"
    for piece in (continue_block[:10], continue_block[10:] + NGINX_HEAD[:30], NGINX_HEAD[30:-1]):
        line._on_head(piece)
        assert not line.head_done
    line._on_head(NGINX_HEAD[-1:] + b"Trailer: not a header\r\n")
    assert line.head_done
    assert line.head == NGINX_HEAD


@pytest.mark.parametrize("ending", [b"\r\n\r\n", b"\n\n", b"\n\r\n"])
def test_a_block_ends_at_its_blank_line_however_it_is_written(line: Line, ending: bytes) -> None:
    line._on_head(b"HTTP/1.1 200 OK\r\nX: 1" + ending)
    assert line.head_done


def test_a_block_without_a_status_line_ends_the_head(line: Line) -> None:
    line._on_head(b"not a status line\r\n\r\n")
    assert line.head_done
    assert parse_head(line.head) is None
