"""SOCKS proxies under a pool's adapter: urllib3's SOCKS support, with the managed connections in front.

urllib3's ``contrib.socks`` needs PySocks (the ``socks`` extra): SOCKS4,
SOCKS4a, SOCKS5 and SOCKS5h proxies, the ``a`` and ``h`` forms letting the
proxy resolve names. Each of its classes gets the managed class of
:mod:`sessionpool._transport` in front, so a socket through a SOCKS proxy
is counted, aged and marked like a direct one.
"""

from __future__ import annotations

import importlib.util
from typing import Any, ClassVar

import requests
from urllib3 import HTTPConnectionPool, PoolManager

from sessionpool._transport import (
    ManagedHTTPConnection,
    ManagedHTTPConnectionPool,
    ManagedHTTPSConnectionPool,
    ManagedPoolManager,
    TransportSettings,
)

__all__ = ["SOCKS_SUPPORTED", "managed_socks_manager"]

# Without PySocks urllib3 warns (DependencyWarning) and then fails to import;
# looking for it first keeps the warning away.
try:
    if importlib.util.find_spec("socks") is None:
        raise ImportError("PySocks is not installed")
    from urllib3.contrib.socks import (
        SOCKSConnection,
        SOCKSHTTPConnectionPool,
        SOCKSHTTPSConnection,
        SOCKSHTTPSConnectionPool,
        SOCKSProxyManager,
    )
except ImportError:
    #: Whether SOCKS proxies can be used: PySocks is installed.
    SOCKS_SUPPORTED = False
else:
    SOCKS_SUPPORTED = True

if SOCKS_SUPPORTED:
    # urllib3's SOCKS classes have the shape of its own (urllib3 2.0 to 2.8):
    # a connection takes ``_socks_options`` (what to tell the proxy, put in
    # every pool's ``conn_kw`` by SOCKSProxyManager) as its first parameter,
    # then host and port, and opens its socket through the proxy in
    # ``_new_conn``; each pool class only names its connection class; the
    # manager is a PoolManager that picks those pool classes. The managed
    # classes put ours in front, so a socket through the proxy is counted,
    # and its pools age and mark connections like direct ones; their
    # connections serve the target, which reports name them by.

    class _ManagedSOCKSConnection(ManagedHTTPConnection, SOCKSConnection):
        """A connection through a SOCKS proxy that counts its sockets and remembers when it went idle."""

    class _ManagedSOCKSHTTPSConnection(_ManagedSOCKSConnection, SOCKSHTTPSConnection):
        """An HTTPS connection through a SOCKS proxy (TLS with the target, over the proxy's tunnel)."""

    # The managed connections take the transport's keywords beside urllib3's
    # (their pools pass every one by keyword), which mypy's check of the
    # constructor against urllib3's SOCKS classes cannot see.
    class _ManagedSOCKSHTTPConnectionPool(ManagedHTTPConnectionPool, SOCKSHTTPConnectionPool):
        ConnectionCls = _ManagedSOCKSConnection  # type: ignore[assignment]

    class _ManagedSOCKSHTTPSConnectionPool(ManagedHTTPSConnectionPool, SOCKSHTTPSConnectionPool):
        ConnectionCls = _ManagedSOCKSHTTPSConnection  # type: ignore[assignment]

    class _ManagedSOCKSProxyManager(ManagedPoolManager, SOCKSProxyManager):
        """A SOCKS proxy manager whose connection pools are the managed SOCKS ones."""

        sessionpool_pool_classes: ClassVar[dict[str, type[HTTPConnectionPool]]] = {
            "http": _ManagedSOCKSHTTPConnectionPool,
            "https": _ManagedSOCKSHTTPSConnectionPool,
        }


#: What a SOCKS proxy without PySocks raises: requests' own error type, with the extra to install.
_NO_SOCKS = "SOCKS proxies need PySocks, which is not installed: pip install 'sessionpool[socks]'"


def managed_socks_manager(proxy_url: str, settings: TransportSettings, **kwargs: Any) -> PoolManager:
    """urllib3's ``SOCKSProxyManager`` for ``proxy_url`` taking ``kwargs``, whose pools use ``settings``.

    ``proxy_url``'s scheme is ``socks4``, ``socks4a``, ``socks5`` or
    ``socks5h`` (the ``a`` and ``h`` forms let the proxy resolve names).
    Raises :class:`requests.exceptions.InvalidSchema`, as requests does, if
    PySocks is not installed.
    """
    if not SOCKS_SUPPORTED:
        raise requests.exceptions.InvalidSchema(_NO_SOCKS)
    return _ManagedSOCKSProxyManager(proxy_url, settings=settings, **kwargs)
