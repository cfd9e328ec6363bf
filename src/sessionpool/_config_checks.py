"""The checks :class:`~sessionpool.PoolConfig` runs on its fields when it is made.

Each names the field and the values it allows, so a bad setting is refused
where it was written, not deep inside a request.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import Union
from urllib.parse import urlsplit

from requests.exceptions import InvalidHeader
from requests.utils import check_header_validity

from sessionpool._frozendict import FrozenDict
from sessionpool._validate import check_existing_path, check_seconds, check_str_mapping, describe

__all__ = [
    "SocketOption",
    "check_auth",
    "check_cert",
    "check_headers",
    "check_proxy_rotation",
    "check_socket_options",
    "check_source_address",
    "check_ssl_context",
    "check_timeout",
    "check_verify",
]

#: One socket option as urllib3 takes it: ``(level, option, value)``, passed
#: to ``socket.setsockopt``, e.g. ``(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)``.
SocketOption = tuple[int, int, Union[int, bytes]]


def check_timeout(timeout: object) -> None:
    where = "PoolConfig.timeout"
    if timeout is None:
        return
    if isinstance(timeout, tuple):
        if len(timeout) != 2:
            raise ValueError(f"{where} must be seconds, a (connect, read) pair, or None; got a tuple of {len(timeout)}")
        for part, value in zip(("connect", "read"), timeout, strict=True):
            if value is not None:
                check_seconds(f"{where} ({part} part)", value, allow_zero=False)
        return
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        check_seconds(where, timeout, allow_zero=False)
        return
    raise TypeError(f"{where} must be seconds, a (connect, read) pair, or None; got {describe(timeout)}")


def check_headers(headers: object) -> Mapping[str, str]:
    copy = check_str_mapping("PoolConfig.headers", headers, values=(str, bytes))
    for item in copy.items():
        try:
            check_header_validity(item)
        except InvalidHeader as exc:
            raise ValueError(f"PoolConfig.headers[{item[0]!r}] is not a valid header: {exc}") from None
    return FrozenDict(copy)


def check_auth(auth: object) -> None:
    if auth is None or callable(auth):
        return
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(part, str) for part in auth):
        return
    allowed = "a (user, password) pair of str, an AuthBase, or None"
    raise TypeError(f"PoolConfig.auth must be {allowed}; got {describe(auth)}")


def check_verify(verify: object) -> None:
    if isinstance(verify, bool):
        return
    if isinstance(verify, str):
        check_existing_path("PoolConfig.verify", verify, directory_allowed=True)  # a CA file or c_rehash dir
        return
    raise TypeError(f"PoolConfig.verify must be True, False, or the path of a CA bundle; got {describe(verify)}")


def check_cert(cert: object) -> None:
    where = "PoolConfig.cert"
    if cert is None:
        return
    if isinstance(cert, str):
        check_existing_path(where, cert, directory_allowed=False)
        return
    if isinstance(cert, tuple) and len(cert) == 2:
        check_existing_path(f"{where} (certificate)", cert[0], directory_allowed=False)
        check_existing_path(f"{where} (key)", cert[1], directory_allowed=False)
        return
    raise TypeError(f"{where} must be a PEM path, a (certificate, key) pair of paths, or None; got {describe(cert)}")


def check_ssl_context(context: object, verify: object, cert: object) -> None:
    if context is None:
        return
    if not isinstance(context, ssl.SSLContext):
        raise TypeError(f"PoolConfig.ssl_context must be an ssl.SSLContext or None; got {describe(context)}")
    if verify is not True:
        raise ValueError(
            "PoolConfig.ssl_context decides trust, so PoolConfig.verify must stay True beside it; got"
            f" verify={verify!r}: load the CA into the context (context.load_verify_locations), or drop ssl_context"
        )
    if cert is not None:
        raise ValueError(
            "PoolConfig.cert cannot be combined with PoolConfig.ssl_context: load the client certificate"
            " into the context (context.load_cert_chain), or drop ssl_context"
        )


def check_socket_options(options: object) -> tuple[SocketOption, ...]:
    where = "PoolConfig.socket_options"
    allowed = "a sequence of (level, option, value) triples of int (value: int or bytes), or None"
    if isinstance(options, (str, bytes)) or not isinstance(options, (list, tuple)):
        raise TypeError(f"{where} must be {allowed}; got {describe(options)}")
    checked: list[SocketOption] = []
    for option in options:
        if not (
            isinstance(option, tuple)
            and len(option) == 3
            and all(isinstance(part, int) and not isinstance(part, bool) for part in option[:2])
            and isinstance(option[2], (int, bytes))
            and not isinstance(option[2], bool)
        ):
            raise TypeError(f"{where} must be {allowed}; {describe(option)} is not such a triple")
        checked.append((option[0], option[1], option[2]))
    return tuple(checked)


def check_source_address(address: object) -> None:
    where = "PoolConfig.source_address"
    if address is None:
        return
    if not (isinstance(address, tuple) and len(address) == 2 and isinstance(address[0], str)):
        allowed = "a (host, port) pair such as ('127.0.0.2', 0), or None"
        raise TypeError(f"{where} must be {allowed}; got {describe(address)}")
    port = address[1]
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"{where} port must be an int from 0 to 65535 (0: any); got {describe(port)}")
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in address[0] else socket.AF_INET, address[0])
    except OSError:
        allowed = "an IP address of this machine, such as '127.0.0.2'"
        raise ValueError(f"{where} host must be {allowed}; got {address[0]!r}") from None


#: The proxy schemes ``PoolConfig.proxy_rotation`` takes (requests' own, SOCKS through PySocks).
PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
#: The ``proxies`` keys that a rotation would contradict: every http and https request's proxy.
_ROTATED_KEYS = ("all", "http", "https")


def check_proxy_rotation(rotation: object, proxies: Mapping[str, str]) -> tuple[str, ...]:
    """``rotation`` as a tuple of proxy URLs, each with a scheme of :data:`PROXY_SCHEMES` and a host.

    Refused beside ``proxies`` entries for ``http`` or ``https`` (by scheme,
    ``all``, or ``scheme://host``): the two would both claim the same requests.
    """
    where = "PoolConfig.proxy_rotation"
    if isinstance(rotation, (str, bytes)) or not isinstance(rotation, (tuple, list)):
        raise TypeError(f"{where} must be a tuple of proxy URLs, got {describe(rotation)}")
    allowed = ", ".join(f"{scheme}://" for scheme in PROXY_SCHEMES)
    for index, url in enumerate(rotation):
        if not isinstance(url, str):
            raise TypeError(f"{where}[{index}] must be a proxy URL (str), got {describe(url)}")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError:
            # urllib's message quotes the URL, credentials and all: it is not passed on.
            raise ValueError(f"{where}[{index}] is not a proxy URL (it cannot be parsed)") from None
        if parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
            # The URL itself may carry credentials: the message names only its place.
            raise ValueError(f"{where}[{index}] must be a URL starting with one of {allowed}, with a host")
    if rotation:
        clashing = sorted(key for key in proxies if key.lower().partition("://")[0] in _ROTATED_KEYS)
        if clashing:
            raise ValueError(
                f"PoolConfig.proxy_rotation and PoolConfig.proxies both set the proxy of http and https"
                f" requests (proxies has {', '.join(repr(key) for key in clashing)}): give one of them"
            )
    return tuple(rotation)


#: The transports a pool can send through.
TRANSPORTS = ("urllib3", "curl")


def check_transport(
    transport: object, impersonate: object, http2: object, ssl_context: object, socket_options: object
) -> None:
    """``PoolConfig.transport`` and the settings only the curl transport has, or refuses.

    :raises ImportError: for ``"curl"`` when curl_cffi (the ``curl`` extra) is not installed.
    """
    if not isinstance(transport, str):
        raise TypeError(f"PoolConfig.transport must be a str ('urllib3' or 'curl'), got {describe(transport)}")
    if transport not in TRANSPORTS:
        allowed = " or ".join(repr(name) for name in TRANSPORTS)
        raise ValueError(f"PoolConfig.transport must be {allowed}, got {describe(transport)}")
    if not isinstance(http2, bool):
        raise TypeError(f"PoolConfig.http2 must be a bool, got {describe(http2)}")
    if transport != "curl":
        for name, value, default in (("impersonate", impersonate, None), ("http2", http2, False)):
            if value != default:
                raise ValueError(
                    f"PoolConfig.{name} is a setting of the curl transport, and transport is {transport!r}:"
                    f" give transport='curl' too, or leave {name} out"
                )
        return
    from sessionpool._curl import curl_missing  # the transport's package, not curl_cffi: nothing is imported yet

    missing = curl_missing()
    if missing is not None:
        raise ImportError(missing)
    for name, value, why in (
        ("ssl_context", ssl_context, "give verify the path of a CA bundle (and cert a client certificate) instead"),
        ("socket_options", socket_options, "libcurl sets TCP_NODELAY itself; leave socket_options out"),
    ):
        if value is not None:
            raise ValueError(
                f"PoolConfig.{name} cannot be used with transport='curl': libcurl makes its own"
                f" connections, so a Python {name} would be dropped; {why}"
            )
    if impersonate is not None and impersonation_target(impersonate) is None:
        from curl_cffi import BrowserType

        names = ", ".join(["chrome", "edge", "firefox", "safari", "safari_ios", "chrome_android", "tor"])
        versions = ", ".join(str(member.value) for member in BrowserType)
        raise ValueError(
            f"PoolConfig.impersonate must be None, a browser ({names}: its newest fingerprint)"
            f" or one of curl_cffi's versions ({versions}); got {describe(impersonate)}"
        )


def impersonation_target(name: object) -> str | None:
    """curl_cffi's fingerprint for ``name`` (a browser's newest for a bare name such as ``"chrome"``), or None."""
    from curl_cffi import BrowserType
    from curl_cffi.requests.impersonate import resolve_latest_browser_type

    if not isinstance(name, str):
        return None
    target = resolve_latest_browser_type(name)  # type: ignore[no-untyped-call]
    return target if target in {str(member.value) for member in BrowserType} else None
