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
from collections.abc import Callable, Generator
from typing import Any

import requests
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest, Response
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPResponse
from urllib3.exceptions import ProtocolError

from sessionpool._compat import header_dict, merged_headers, set_content

__all__ = ["BodyFile", "Head", "build_response", "no_head_error", "parse_head", "premature_end_error"]


class Head:
    """The status line and headers of the answer.

    :attr:`fields` maps each name in lower case to the name as first received
    and its values in order (as urllib3's ``HTTPHeaderDict`` holds them), the
    response's ``raw.headers``; :attr:`merged` to the name and its values
    joined by ``", "`` (as requests' ``CaseInsensitiveDict`` holds them), its ``headers``.
    """

    __slots__ = ("block", "fields", "headers", "merged", "reason", "status", "version")

    def __init__(
        self,
        status: int,
        reason: str,
        version: int,
        fields: dict[str, list[str]],
        merged: dict[str, tuple[str, str]],
        block: bytes,
    ) -> None:
        self.status = status
        self.reason = reason
        self.version = version
        self.fields = fields
        self.merged = merged
        self.headers = header_dict(fields)
        #: The header lines as they came, for the cookie jar's view of the message (parsed only if asked).
        self.block = block


#: What http.client strips around a header's name and value (ASCII whitespace, as ``bytes.strip`` does).
_WHITESPACE = " \t\n\r\x0b\x0c"
_VERSIONS = {"1.0": 10, "1.1": 11, "2": 20, "2.0": 20, "3": 30}


def parse_head(head: bytes) -> Head | None:
    """The :class:`Head` of the answer's header block (its status line first), or None without a valid status line.

    Whatever is not a header is left out; a folded line continues the header before it.
    """
    if not head.startswith(b"HTTP/"):
        return None
    text = head.decode("iso-8859-1")
    lines = text.split("\n")
    parts = lines[0].rstrip("\r").split(None, 2)
    code = parts[1] if len(parts) > 1 else ""
    if not (len(code) == 3 and code.isascii() and code.isdigit()):
        return None
    version = _VERSIONS.get(parts[0][5:], 11)
    reason = parts[2] if len(parts) > 2 else ""
    fields: dict[str, list[str]] = {}
    merged: dict[str, tuple[str, str]] = {}
    key = ""
    last: list[str] | None = None  # the values of the header a folded line continues
    for raw in lines[1:]:
        line = raw.rstrip("\r")
        if not line:
            break
        if last is not None and line[0] in " \t":
            last[-1] = f"{last[-1]} {line.strip(_WHITESPACE)}"
        else:
            name, colon, value = line.partition(":")
            name = name.strip(_WHITESPACE)
            if not colon or not name:
                last = None  # not a header: left out
                continue
            key = name.lower()
            last = fields.get(key)
            if last is None:
                last = fields[key] = [name, value.strip(_WHITESPACE)]
                merged[key] = (name, last[1])
                continue
            last.append(value.strip(_WHITESPACE))
        merged[key] = (last[0], ", ".join(last[1:]))  # a value repeated or continued
    return Head(int(code), reason, version, fields, merged, head[len(lines[0]) + 1 :])


class _Message:
    """What requests' cookie jar reads of a urllib3 response: ``_original_response``, its ``msg`` made on demand."""

    __slots__ = ("_block", "_msg", "_transfer_ended")

    def __init__(self, block: bytes, transfer_ended: Callable[[], bool]) -> None:
        self._block = block
        self._msg: http.client.HTTPMessage | None = None
        self._transfer_ended = transfer_ended

    @property
    def msg(self) -> http.client.HTTPMessage:
        if self._msg is None:
            self._msg = http.client.parse_headers(io.BytesIO(self._block + b"\r\n"))
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
    :param arrived: drives the transfer until some of the body waits (or it
        ended); how many bytes wait (0: none will come).
    """

    def __init__(
        self,
        read: Callable[[int | None], bytes],
        close: Callable[[], None],
        ended: Callable[[], bool],
        arrived: Callable[[], int],
    ) -> None:
        super().__init__()
        self._read = read
        self._close = close
        self._ended = ended
        self.arrived = arrived

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


class _StreamingResponse(HTTPResponse):
    """urllib3's response, whose ``stream(None)`` of a chunked body hands each piece over as it arrives.

    urllib3 reads a chunked body chunk by chunk from http.client for that;
    over libcurl the pieces are what each step of the transfer brought.
    """

    def stream(self, amt: int | None = 2**16, decode_content: bool | None = None) -> Generator[bytes, None, None]:
        body = self._fp  # the BodyFile build_response gave it
        if amt is not None or not self.chunked or not isinstance(body, BodyFile):
            yield from super().stream(amt, decode_content)
            return
        while True:
            arrived = body.arrived()
            if not arrived:  # the end: what the decoder holds, or the transfer's failure
                rest = self.read(decode_content=decode_content)
                if rest:
                    yield rest
                return
            data = self.read(amt=arrived, decode_content=decode_content)
            if data:
                yield data


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
    fields = head.fields
    whole = isinstance(body, bytes)
    # A whole body without a content coding is the content: nothing to decode or to read again.
    plain = whole and "content-encoding" not in fields
    fp: Any = io.BytesIO(_EMPTY if plain else body) if isinstance(body, bytes) else body
    raw = _StreamingResponse(
        body=fp,
        headers=headers,
        status=head.status,
        version=head.version,
        reason=head.reason,
        preload_content=False,
        decode_content=True,
        original_response=_Message(head.block, transfer_ended),  # type: ignore[arg-type]
        enforce_content_length=not plain,
        request_method=request.method,
        request_url=request.url,
    )
    response = Response()
    response.status_code = head.status
    response.headers = merged_headers(head.merged)
    response.encoding = get_encoding_from_headers(response.headers)
    response.raw = raw
    response.reason = head.reason
    response.url = request.url  # type: ignore[assignment]
    if "set-cookie" in fields or "set-cookie2" in fields:
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
