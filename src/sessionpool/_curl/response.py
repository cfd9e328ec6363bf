"""A libcurl response as requests' own: the head parsed totally, a :class:`requests.Response` over a urllib3 response.

The head is the header lines libcurl hands over, the interim ``1xx``
blocks included; the last block is the answer. Its status line and headers
are parsed as http.client parses them (ISO-8859-1, repeated names kept in
order, folded lines joined), and whatever a server sends that is not a
header is left out rather than raised from.

``response.raw`` is a real :class:`urllib3.HTTPResponse` whose body file is
the transfer (:class:`BodyFile`): ``read()``, ``stream()``, the decoding of
``gzip``, ``deflate``, ``br`` and ``zstd``, the check of ``Content-Length``
and the errors requests maps (``ChunkedEncodingError``,
``ContentDecodingError``) are urllib3's, as with the default transport.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Callable
from typing import Any

import requests
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest, Response
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPHeaderDict, HTTPResponse
from urllib3.exceptions import ProtocolError

from sessionpool._compat import response_headers, set_content

__all__ = ["BodyFile", "Head", "build_response", "no_head_error", "parse_head", "premature_end_error"]


class Head:
    """The status line and headers of the answer (the last block of the head)."""

    __slots__ = ("headers", "lines", "reason", "status", "version")

    def __init__(self, status: int, reason: str, version: int, headers: HTTPHeaderDict, lines: list[bytes]) -> None:
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        #: The block's raw lines, for the cookie jar's view of the message (built only if asked).
        self.lines = lines


def parse_head(lines: list[bytes]) -> Head | None:
    """The answer's :class:`Head` from every header line libcurl gave, or None if there is no status line."""
    start = None
    for index, line in enumerate(lines):
        if line.startswith(b"HTTP/"):
            start = index
    if start is None:
        return None
    parts = lines[start].rstrip(b"\r\n").split(None, 2)
    code = parts[1] if len(parts) > 1 else b""
    if not (len(code) == 3 and code.isdigit()):
        return None
    proto = parts[0][5:]
    version = {b"1.0": 10, b"1.1": 11, b"2": 20, b"2.0": 20, b"3": 30}.get(proto, 11)
    reason = parts[2].decode("iso-8859-1") if len(parts) > 2 else ""
    headers = HTTPHeaderDict()
    block = lines[start + 1 :]
    name: str | None = None
    value = ""
    for raw in block:
        line = raw.rstrip(b"\r\n")
        if not line:
            break
        if line[:1] in (b" ", b"\t") and name is not None:  # a folded line continues the header before it
            value = f"{value} {line.strip().decode('iso-8859-1')}"
            continue
        if name is not None:
            headers.add(name, value)
        head_name, colon, rest = line.partition(b":")
        head_name = head_name.strip()
        if not colon or not head_name:
            name = None  # not a header: left out
            continue
        name, value = head_name.decode("iso-8859-1"), rest.strip().decode("iso-8859-1")
    if name is not None:
        headers.add(name, value)
    return Head(int(code), reason, version, headers, block)


class _Message:
    """What requests' cookie jar reads of a urllib3 response: ``_original_response``, its ``msg`` made on demand."""

    __slots__ = ("_lines", "_msg", "_transfer_ended")

    def __init__(self, lines: list[bytes], transfer_ended: Callable[[], bool]) -> None:
        self._lines = lines
        self._msg: http.client.HTTPMessage | None = None
        self._transfer_ended = transfer_ended

    @property
    def msg(self) -> http.client.HTTPMessage:
        if self._msg is None:
            self._msg = http.client.parse_headers(io.BytesIO(b"".join(self._lines) + b"\r\n"))
        return self._msg

    def isclosed(self) -> bool:
        return self._transfer_ended()

    def close(self) -> None:
        """Nothing to close here: the body file closes the transfer."""


class BodyFile(io.RawIOBase):
    """The body of a response still arriving: each ``read`` drives the transfer until enough of it came.

    :param read: ``read(amt)`` of the transfer: up to ``amt`` bytes (all that
        is left if None), ``b""`` at its end.
    :param close: ends the transfer (closing its connection if it is not over).
    :param ended: whether the transfer is over.
    """

    def __init__(
        self, read: Callable[[int | None], bytes], close: Callable[[], None], ended: Callable[[], bool]
    ) -> None:
        super().__init__()
        self._read = read
        self._close = close
        self._ended = ended

    def readable(self) -> bool:
        return True

    def read(self, amt: int | None = -1) -> bytes:
        return self._read(None if amt is None or amt < 0 else amt)

    def readinto(self, buffer: Any) -> int:
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def isclosed(self) -> bool:
        return self.closed or self._ended()

    def close(self) -> None:
        if not self.closed:
            self._close()
        super().close()


_EMPTY = b""


def build_response(
    adapter: Any,
    request: PreparedRequest,
    head: Head,
    body: bytes | BodyFile,
    transfer_ended: Callable[[], bool],
) -> Response:
    """The :class:`requests.Response` for ``head`` and ``body`` (all of it, or the file it arrives through)."""
    headers = head.headers
    whole = isinstance(body, bytes)
    # A whole body without a content coding is the content: nothing to decode or to read again.
    plain = whole and "content-encoding" not in headers
    fp: Any = io.BytesIO(_EMPTY if plain else body) if isinstance(body, bytes) else body
    raw = HTTPResponse(
        body=fp,
        headers=headers,
        status=head.status,
        version=head.version,
        reason=head.reason,
        preload_content=False,
        decode_content=True,
        original_response=_Message(head.lines, transfer_ended),  # type: ignore[arg-type]
        enforce_content_length=not plain,
        request_method=request.method,
        request_url=request.url,
    )
    response = Response()
    response.status_code = head.status
    response.headers = response_headers(raw)
    response.encoding = get_encoding_from_headers(response.headers)
    response.raw = raw
    response.reason = head.reason
    response.url = request.url  # type: ignore[assignment]
    if "set-cookie" in headers or "set-cookie2" in headers:
        extract_cookies_to_jar(response.cookies, request, raw)
    response.request = request
    response.connection = adapter
    if plain:
        set_content(response, body)  # type: ignore[arg-type]
    return response


def premature_end_error(head: Head, request: requests.PreparedRequest) -> requests.RequestException | None:
    """The error for an answer whose connection closed before its head ended, as urllib3 reads one; None: no error.

    http.client takes the end of the stream for the end of the head; the body
    that should follow is then missing: a chunked one ended prematurely, one
    of a ``Content-Length`` above 0 is incomplete. libcurl takes such an answer
    for a whole one with an empty body.
    """
    headers = head.headers
    if "chunked" in headers.get("transfer-encoding", "").lower():
        ended = ProtocolError("Response ended prematurely")
        return requests.exceptions.ChunkedEncodingError(ended, request=request)
    length = headers.get("content-length", "").strip()
    if length.isascii() and length.isdigit() and length.strip("0"):
        incomplete = ProtocolError("Connection broken: IncompleteRead", http.client.IncompleteRead(b""))
        return requests.exceptions.ChunkedEncodingError(incomplete, request=request)
    return None


def no_head_error(request: requests.PreparedRequest) -> requests.ConnectionError:
    """The error for an answer without a status line (requests' ``BadStatusLine``)."""
    bad = http.client.BadStatusLine("the server's answer has no valid status line")
    return requests.ConnectionError(ProtocolError("Connection aborted.", bad), request=request)
