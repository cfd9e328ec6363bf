"""A prepared request as the options of a line's transfer: exactly what requests prepared, nothing of libcurl's own.

libcurl adds request headers of its own unless told not to: ``Accept: */*``
when the request has none, ``Expect: 100-continue`` before a larger body,
``Content-Type: application/x-www-form-urlencoded`` for a body without one.
Each is turned off here (an empty ``Name:`` line), so the server sees the
headers requests prepared, in their order, and the body as requests
encoded it. Redirects, cookies and authentication stay requests' work:
libcurl follows no redirect, keeps no cookie and answers no challenge.
libcurl's own proxy settings from the environment are never read: the
proxy is the one requests chose (none: ``CURLOPT_PROXY ""``).
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Iterator
from typing import Any

import requests
from curl_cffi import CurlHttpVersion, CurlOpt, ffi
from requests.models import PreparedRequest
from requests.utils import DEFAULT_CA_BUNDLE_PATH, prepend_scheme_if_needed, select_proxy
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from sessionpool._compat import body_start, headers_state
from sessionpool._curl.options import Option, Options, impersonation, long_option, string_option

__all__ = ["TLSFiles", "Wire", "set_request"]

_URL = int(CurlOpt.URL)
_NOBODY = int(CurlOpt.NOBODY)
_POST = int(CurlOpt.POST)
_CUSTOMREQUEST = int(CurlOpt.CUSTOMREQUEST)
_POSTFIELDS = int(CurlOpt.POSTFIELDS)
_POSTFIELDSIZE_LARGE = int(CurlOpt.POSTFIELDSIZE_LARGE)
_CONNECTTIMEOUT_MS = int(CurlOpt.CONNECTTIMEOUT_MS)
_TIMEOUT_MS = int(CurlOpt.TIMEOUT_MS)
_PROXY = int(CurlOpt.PROXY)
_FRESH_CONNECT = int(CurlOpt.FRESH_CONNECT)
_NOSIGNAL = int(CurlOpt.NOSIGNAL)
_PATH_AS_IS = int(CurlOpt.PATH_AS_IS)
_HTTP_VERSION = int(CurlOpt.HTTP_VERSION)
_SUPPRESS_CONNECT_HEADERS = int(CurlOpt.SUPPRESS_CONNECT_HEADERS)
_MAXAGE_CONN = int(CurlOpt.MAXAGE_CONN)
_BUFFERSIZE = int(CurlOpt.BUFFERSIZE)
_ACCEPT_ENCODING = int(CurlOpt.ACCEPT_ENCODING)
_HTTP_CONTENT_DECODING = int(CurlOpt.HTTP_CONTENT_DECODING)

#: libcurl has no "no limit" for connecting (0 means its default, 300 s): this is as good as none.
_FOREVER_MS = 2**31 - 1
_BODY_TYPES = (bytes, bytearray, memoryview, str)
#: The most sets of request headers a session keeps the lines of (past it, it starts again).
_MAX_HEADER_SETS = 64


class TLSFiles:
    """The TLS options for one ``(verify, cert)``, worked out once as requests' ``cert_verify`` would.

    :raises OSError: as requests raises it, for a CA bundle or a client
        certificate that is not there.
    """

    __slots__ = ("options",)

    def __init__(self, verify: Any, cert: Any) -> None:
        options: list[tuple[int, int | bytes]] = []
        if verify:
            location = DEFAULT_CA_BUNDLE_PATH if verify is True else verify
            if not location or not os.path.exists(location):
                raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: {location}")
            which = (
                (CurlOpt.CAPATH, CurlOpt.PROXY_CAPATH)
                if os.path.isdir(location)
                else (CurlOpt.CAINFO, CurlOpt.PROXY_CAINFO)
            )
            options += [(int(which[0]), os.fsencode(location)), (int(which[1]), os.fsencode(location))]
            options += [(int(CurlOpt.SSL_VERIFYPEER), 1), (int(CurlOpt.SSL_VERIFYHOST), 2)]
        else:
            options += [(int(CurlOpt.SSL_VERIFYPEER), 0), (int(CurlOpt.SSL_VERIFYHOST), 0)]
            options += [(int(CurlOpt.PROXY_SSL_VERIFYPEER), 0), (int(CurlOpt.PROXY_SSL_VERIFYHOST), 0)]
        if cert:
            cert_file, key_file = (cert, None) if isinstance(cert, str) else cert
            if not os.path.exists(cert_file):
                raise OSError(f"Could not find the TLS certificate file, invalid path: {cert_file}")
            options.append((int(CurlOpt.SSLCERT), os.fsencode(cert_file)))
            if key_file:
                if not os.path.exists(key_file):
                    raise OSError(f"Could not find the TLS key file, invalid path: {key_file}")
                options.append((int(CurlOpt.SSLKEY), os.fsencode(key_file)))
        self.options = tuple(options)


class Wire:
    """What every transfer of one adapter is set up with, beyond the request: the config's transport options.

    :param http2: offer HTTP/2 (by ALPN, for https); else HTTP/1.1 only.
    :param impersonate: curl_cffi's name of a browser whose TLS and HTTP/2
        fingerprint to send, as bytes; None for libcurl's own.
    :param keepalive_expiry: seconds an idle connection may be reused (None: as long as the server keeps it).
    :param source_address: ``(host, port)`` to connect from, or None.
    """

    __slots__ = ("_header_lines", "common")

    def __init__(
        self, *, http2: bool, impersonate: bytes | None, keepalive_expiry: float | None, source_address: Any
    ) -> None:
        common: list[Option] = []
        if impersonate is not None:
            common.append(impersonation(impersonate))
            common.append(string_option(_ACCEPT_ENCODING, None))  # the body is decoded as requests decodes it
            common.append(long_option(_HTTP_CONTENT_DECODING, 0))
        common += [
            long_option(_NOSIGNAL, 1),
            long_option(_PATH_AS_IS, 1),
            long_option(_SUPPRESS_CONNECT_HEADERS, 1),
            long_option(_HTTP_VERSION, int(CurlHttpVersion.V2TLS if http2 else CurlHttpVersion.V1_1)),
            # libcurl counts idle ages in whole seconds; the adapter also opens a
            # fresh connection for a request after a longer idle time than the expiry.
            long_option(_MAXAGE_CONN, 2**31 - 1 if keepalive_expiry is None else max(1, math.ceil(keepalive_expiry))),
            long_option(_BUFFERSIZE, 64 * 1024),
        ]
        if source_address is not None:
            common.append(string_option(int(CurlOpt.INTERFACE), b"host!" + source_address[0].encode("ascii")))
            if source_address[1]:
                common.append(long_option(int(CurlOpt.LOCALPORT), int(source_address[1])))
        #: The options every transfer starts with, in order.
        self.common = tuple(common)
        self._header_lines: dict[Any, tuple[bytes, ...]] = {}

    def header_lines(self, headers: Any, with_body: bool) -> tuple[bytes, ...]:
        """The ``HTTPHEADER`` lines for ``headers``: each as http.client encodes it, libcurl's own turned off.

        Worked out once for each set of headers (a crawl's requests mostly
        have the same), for the handles of one session.
        """
        try:
            key = (headers_state(headers), with_body)
            lines = self._header_lines.get(key)
        except (AttributeError, TypeError):  # headers that are no CaseInsensitiveDict, or an unhashable value
            return _header_lines(headers, with_body)
        if lines is None:
            if len(self._header_lines) >= _MAX_HEADER_SETS:
                self._header_lines.clear()
            lines = self._header_lines[key] = _header_lines(headers, with_body)
        return lines


def set_request(
    options: Options,
    wire: Wire,
    request: PreparedRequest,
    url: str,
    *,
    connect_timeout: float | None,
    total_ms: int | None,
    proxy: str | None,
    tls: TLSFiles | None,
    fresh: bool,
) -> None:
    """Set the handle's options for sending ``request``, and only those (see :meth:`Options.commit`)."""
    options.begin(wire.common)
    options.set_bytes(_URL, url.encode("utf-8"))
    options.set_bytes(_PROXY, b"" if proxy is None else proxy.encode("utf-8"))
    if tls is not None:
        for option, value in tls.options:
            if isinstance(value, int):
                options.set_long(option, value)
            else:
                options.set_bytes(option, value)
    options.set_long(
        _CONNECTTIMEOUT_MS, _FOREVER_MS if connect_timeout is None else max(1, int(connect_timeout * 1000))
    )
    # Set whatever their values (0 is libcurl's "none" and "no"), so that a
    # request with and one without them hold the same options.
    options.set_long(_TIMEOUT_MS, 0 if total_ms is None else max(1, total_ms))
    options.set_long(_FRESH_CONNECT, 1 if fresh else 0)
    method = request.method or "GET"
    if method != "GET":
        method = method.upper()
    body = request.body
    if method == "HEAD":
        options.set_long(_NOBODY, 1)
    elif body is not None:
        _set_body(options, request, body, method)
    elif method != "GET":
        options.set_bytes(_CUSTOMREQUEST, method.encode("ascii"))
    options.set_headers(wire.header_lines(request.headers, body is not None))
    options.commit()


def _header_lines(headers: Any, with_body: bool) -> tuple[bytes, ...]:
    lines = [_header_line(name, value) for name, value in headers.items()]
    if "Accept" not in headers:
        lines.append(b"Accept:")
    lines.append(b"Expect:")
    if with_body and "Content-Type" not in headers:
        lines.append(b"Content-Type:")
    return tuple(lines)


def _header_line(name: str | bytes, value: str | bytes) -> bytes:
    """``Name: value`` as http.client encodes it (ISO-8859-1); an empty value as libcurl's ``Name;``."""
    name_bytes = name if isinstance(name, bytes) else name.encode("iso-8859-1")
    value_bytes = value if isinstance(value, bytes) else value.encode("iso-8859-1")
    if not value_bytes:
        return name_bytes + b";"
    return name_bytes + b": " + value_bytes


def _set_body(options: Options, request: PreparedRequest, body: Any, method: str) -> None:
    if method != "POST":
        options.set_bytes(_CUSTOMREQUEST, method.encode("ascii"))
    if isinstance(body, _BODY_TYPES):
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        options.set_int64(_POSTFIELDSIZE_LARGE, len(data))
        options.keep(data)  # libcurl reads the body from its buffer, not a copy
        options.set_pointer(_POSTFIELDS, ffi.from_buffer(data))
        return
    length = request.headers.get("Content-Length")
    size = int(length) if isinstance(length, str) and length.isdigit() else -1
    options.set_long(_POST, 1)
    options.set_int64(_POSTFIELDSIZE_LARGE, size)
    if hasattr(body, "read"):
        start = body_start(request)
        seek = None
        if start is not None:

            def seek(offset: int, origin: int, file: Any = body, start: int = start) -> None:
                file.seek(start + offset if origin == os.SEEK_SET else offset, origin)

        options.set_upload(_file_reader(body), seek)
    else:
        options.set_upload(_iterator_reader(iter(body)), None)


def _file_reader(file: Any) -> Any:
    def read(size: int) -> bytes:
        data = file.read(size)
        return data.encode("utf-8") if isinstance(data, str) else (data or b"")

    return read


def _iterator_reader(chunks: Iterator[Any]) -> Any:
    left = b""

    def read(size: int) -> bytes:
        nonlocal left
        while not left:
            chunk = next(chunks, None)
            if chunk is None:
                return b""
            left = chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
        data, left = left[:size], left[size:]
        return data

    return read


def chosen_proxy(request: PreparedRequest, proxies: Any) -> str | None:
    """The proxy requests would send ``request`` through (its scheme added if missing), or None."""
    if not proxies:
        return None
    proxy = select_proxy(request.url, proxies)  # type: ignore[arg-type]
    if not proxy:
        return None
    proxy = prepend_scheme_if_needed(proxy, "http")
    if proxy[:10].lower() == "socks4a://" and _is_ip_literal(request.url or ""):
        # SOCKS4a sends a name for the proxy to resolve; libcurl sends an IP
        # address that way too, which some proxies (Dante) refuse. For an
        # address, SOCKS4 says the same thing, and PySocks sends it so.
        proxy = "socks4://" + proxy[10:]
    return proxy


def _is_ip_literal(url: str) -> bool:
    host = url.partition("://")[2].split("/", 1)[0].rpartition("@")[2]
    host = host[1:].partition("]")[0] if host.startswith("[") else (host.rpartition(":")[0] or host)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def invalid_proxy(proxy: str, request: PreparedRequest) -> requests.RequestException | None:
    """Requests' error for a proxy URL without a host (judged by urllib3's ``parse_url``, as requests does), or None."""
    try:
        host = parse_url(proxy).host
    except LocationParseError:
        host = None
    if not host:
        return requests.exceptions.InvalidProxyURL(
            "Please check proxy URL. It is malformed and could be missing the host.", request=request
        )
    return None
