"""libcurl's result codes as the exceptions requests raises for the same failure.

The retry policy (:mod:`sessionpool._classify`) reads an error's class and
the urllib3 error under it: a connect failure is a ``ConnectionError`` over
a ``NewConnectionError`` (or a ``ConnectTimeout``), a read error a
``ConnectionError`` over a ``ProtocolError`` (or a ``ReadTimeout``), a
failure through a proxy a ``ProxyError``. The curl transport builds the same
layers, so each failure is classified as the default transport's would be.
A message never carries a URL's credentials.
"""

from __future__ import annotations

import http.client

import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from sessionpool._redact import redact_text

__all__ = ["Failure", "as_requests_error"]

# libcurl's CURLcode values (curl/curl.h), the ones told apart here.
UNSUPPORTED_PROTOCOL = 1
URL_MALFORMAT = 3
COULDNT_RESOLVE_PROXY = 5
COULDNT_RESOLVE_HOST = 6
COULDNT_CONNECT = 7
WEIRD_SERVER_REPLY = 8
HTTP2 = 16
PARTIAL_FILE = 18
OPERATION_TIMEDOUT = 28
SSL_CONNECT_ERROR = 35
GOT_NOTHING = 52
SEND_ERROR = 55
RECV_ERROR = 56
SSL_CERTPROBLEM = 58
SSL_CIPHER = 59
PEER_FAILED_VERIFICATION = 60
SEND_FAIL_REWIND = 65
SSL_CACERT_BADFILE = 77
SSL_CRL_BADFILE = 82
SSL_ISSUER_ERROR = 83
SSL_PINNEDPUBKEYNOTMATCH = 90
SSL_INVALIDCERTSTATUS = 91
HTTP2_STREAM = 92
PROXY = 97
SSL_CLIENTCERT = 98

_TLS = frozenset(
    {
        SSL_CONNECT_ERROR, SSL_CERTPROBLEM, SSL_CIPHER, PEER_FAILED_VERIFICATION, SSL_CACERT_BADFILE,
        SSL_CRL_BADFILE, SSL_ISSUER_ERROR, SSL_PINNEDPUBKEYNOTMATCH, SSL_INVALIDCERTSTATUS, SSL_CLIENTCERT,
    }
)  # fmt: skip
_NO_CONNECTION = frozenset({COULDNT_RESOLVE_HOST, COULDNT_CONNECT})
#: The connection broke, or the server sent no (valid) answer, after the request went out.
_BROKEN = frozenset({GOT_NOTHING, SEND_ERROR, RECV_ERROR, WEIRD_SERVER_REPLY, HTTP2, HTTP2_STREAM, SEND_FAIL_REWIND})


class Failure:
    """What a transfer that failed leaves to classify: its result code, and what had happened by then.

    :param code: libcurl's result code.
    :param message: libcurl's message for it (its error buffer).
    :param proxied: the transfer went through a proxy.
    :param connected: a connection to the server (or the proxy's tunnel to it) was up.
    :param answered: bytes of the response had arrived.
    :param head_done: the response's head had arrived whole (its blank line).
    :param read_timeout: the read timeout (no byte for that long) ended it, not libcurl.
    """

    __slots__ = ("answered", "code", "connected", "head_done", "message", "proxied", "read_timeout")

    def __init__(
        self,
        code: int,
        message: str,
        *,
        proxied: bool,
        connected: bool,
        answered: bool,
        head_done: bool,
        read_timeout: bool = False,
    ) -> None:
        self.code = code
        self.message = message
        self.proxied = proxied
        self.connected = connected
        self.answered = answered
        self.head_done = head_done
        self.read_timeout = read_timeout


def as_requests_error(failure: Failure, request: requests.PreparedRequest) -> requests.RequestException:
    """The requests exception for ``failure`` of ``request``, with urllib3's layers under it."""
    code = failure.code
    text = redact_text(f"curl: ({code}) {failure.message}" if failure.message else f"curl: ({code})")
    if failure.read_timeout or (code == OPERATION_TIMEDOUT and failure.connected):
        timed_out = ReadTimeoutError(None, request.url, f"Read timed out. ({text})")  # type: ignore[arg-type]
        return requests.ReadTimeout(timed_out, request=request)
    if code == OPERATION_TIMEDOUT:
        if failure.proxied:
            return requests.exceptions.ProxyError(f"timed out connecting through the proxy ({text})", request=request)
        return requests.ConnectTimeout(ConnectTimeoutError(f"Connection timed out. ({text})"), request=request)
    if code in (COULDNT_RESOLVE_PROXY, PROXY) or (failure.proxied and not failure.connected and code in _NO_CONNECTION):
        return requests.exceptions.ProxyError(f"Unable to connect to proxy ({text})", request=request)
    if code in _NO_CONNECTION:
        return requests.ConnectionError(
            NewConnectionError(None, f"Failed to establish a new connection: {text}"),  # type: ignore[arg-type]
            request=request,
        )
    if code in _TLS:
        return requests.exceptions.SSLError(text, request=request)
    if code == WEIRD_SERVER_REPLY and "Content-Length" in failure.message:
        # libcurl ends the transfer at a Content-Length it cannot take (two that differ, one
        # that is no number), where urllib3 raises InvalidHeader, and requests after it.
        refused = InvalidHeader(f"Content-Length refused ({text})")
        return requests.exceptions.InvalidHeader(refused, request=request)
    if code == PARTIAL_FILE:
        incomplete = ProtocolError("Connection broken: IncompleteRead", http.client.IncompleteRead(b""))
        return requests.exceptions.ChunkedEncodingError(incomplete, request=request)
    if code in _BROKEN and not failure.answered:
        lost = ConnectionResetError(text) if code != GOT_NOTHING else http.client.RemoteDisconnected(text)
        return requests.ConnectionError(ProtocolError("Connection aborted.", lost), request=request)
    if code in _BROKEN and not failure.head_done:
        # Part of a head arrived and no whole one will (libcurl refuses a NUL byte in a header,
        # for one): bytes did arrive, so this is no lost connection, as urllib3 has it for a
        # status line it cannot read.
        unreadable = http.client.BadStatusLine(text)
        return requests.ConnectionError(ProtocolError("Connection aborted.", unreadable), request=request)
    if code in _BROKEN:
        return requests.exceptions.ChunkedEncodingError(
            ProtocolError("Connection broken", ConnectionResetError(text)), request=request
        )
    if code == URL_MALFORMAT:
        return requests.exceptions.InvalidURL(text, request=request)
    if code == UNSUPPORTED_PROTOCOL:
        return requests.exceptions.InvalidSchema(text, request=request)
    return requests.ConnectionError(text, request=request)
