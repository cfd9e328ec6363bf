"""requests' per-request answers about an origin, worked out once: :class:`RoutedAdapter`.

For every request, requests' :class:`~requests.adapters.HTTPAdapter` parses
the URL into a connection-pool key, looks the CA and certificate paths up on
disk, and sets the TLS settings on the connection pool; it builds the
response's headers and cookies as it goes. None of that depends on more than
the origin, ``verify`` and ``cert`` (and the pool's ``ssl_context``), so a
:class:`RoutedAdapter` keeps each answer in the pool's :class:`RouteCache`
and takes it from there, with requests' own results.

Each short cut holds only while requests' methods are its own: a tool that
replaced one (a test double, an instrumentation) expects every adapter to
call it, and then this one does. A request through a proxy goes requests'
own way too.
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.models import PreparedRequest, Response
from requests.utils import get_encoding_from_headers

from sessionpool._compat import is_requests_own, may_set_cookies, response_headers
from sessionpool._environment import origin

__all__ = ["RouteCache", "RoutedAdapter"]

#: Origins and TLS settings kept per pool; past this, start again.
_MAX_KEPT = 1024


class RouteCache:
    """What requests works out for an origin, kept once for every adapter of a pool.

    The connection-pool key of an origin (with ``verify`` and ``cert``) and
    the TLS settings of a connection depend on nothing an adapter holds
    (requests' rules, and the pool's ``ssl_context``, which all its adapters
    share), so a pool keeps one copy of each answer rather than one per
    session. Each is a plain dict: a lookup or a store is atomic; two threads
    that miss at once both work the answer out, and one is kept.
    """

    def __init__(self) -> None:
        self.routes: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, Any]]] = {}
        self.tls_settings: dict[tuple[Any, ...], dict[str, Any]] = {}
        #: What a transport keeps for the whole pool (the curl transport's share handle), if anything.
        self.transport_state: Any = None

    def clear(self) -> None:
        """Forget every answer (the pool's ``invalidate``: a CA file may have changed)."""
        self.routes = {}
        self.tls_settings = {}


class RoutedAdapter(HTTPAdapter):
    """requests' ``HTTPAdapter``, with its answers about an origin kept in a :class:`RouteCache`.

    :param routes: where the answers are kept (a pool shares one among its
        sessions' adapters); None: one of its own.
    :param ssl_context: the pool's ``ssl_context``: trust is left to it for
        every request that brings no TLS settings of its own.

    The remaining keywords are requests' adapter sizes.
    """

    def __init__(
        self,
        *,
        routes: RouteCache | None,
        ssl_context: ssl.SSLContext | None,
        pool_connections: int,
        pool_maxsize: int,
        pool_block: bool,
    ) -> None:
        self._routes = routes if routes is not None else RouteCache()
        self._ssl_context = ssl_context
        super().__init__(pool_connections=pool_connections, pool_maxsize=pool_maxsize, pool_block=pool_block)

    def get_connection_with_tls_context(
        self, request: PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        """The connection pool for ``request``, its pool key worked out once per origin, ``verify`` and ``cert``.

        requests parses the URL and looks at the CA path on disk for every
        request; the answer depends on nothing else, so it is kept. A request
        through a proxy goes requests' own way.
        """
        url = request.url
        if proxies or type(url) is not str or not _requests_own_adapter():
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        key = (origin(url), verify, cert)
        try:
            route = self._routes.routes.get(key)
        except TypeError:  # an unhashable verify or cert: requests says what is wrong with it
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        if route is None:
            try:
                route = self.build_connection_pool_key_attributes(request, verify, cert)
            except ValueError as error:
                raise requests.exceptions.InvalidURL(error, request=request) from error
            if len(self._routes.routes) >= _MAX_KEPT:
                self._routes.routes = {}
            self._routes.routes[key] = route
        host_params, pool_kwargs = route
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)

    def request_url(self, request: PreparedRequest, proxies: Any) -> str:
        """The path to send (requests' rule); without proxies, that is the URL's path and query."""
        if proxies or not _requests_own_adapter():
            return super().request_url(request, proxies)
        path = request.path_url
        return "/" + path.lstrip("/") if path.startswith("//") else path

    def build_response(self, req: PreparedRequest, resp: Any) -> Response:
        """The response requests builds for ``resp``, headers copied at once, cookies read only if it sets some."""
        if not _requests_own_adapter():
            return super().build_response(req, resp)
        response = Response()
        response.status_code = getattr(resp, "status", None)  # type: ignore[assignment]
        response.headers = response_headers(resp)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url.decode("utf-8") if isinstance(req.url, bytes) else req.url  # type: ignore[assignment]
        if may_set_cookies(resp):
            extract_cookies_to_jar(response.cookies, req, resp)
        response.request = req
        response.connection = self
        return response

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Requests' connection pool key, without the pool's ``ssl_context`` for a call with its own TLS settings."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if self._ssl_context is not None and not self._uses_ssl_context(verify, cert):
            # None removes the manager's ssl_context for this pool key: urllib3
            # makes a context of its own, as for a plain session, rather than
            # change the pool's (turning verification off on a shared context
            # would reach every other connection made with it).
            pool_kwargs["ssl_context"] = None
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Leave trust to the pool's ``ssl_context``, unless the call brought TLS settings of its own.

        requests' own rule looks the CA and certificate paths up on disk for
        every request; what it sets on the connection pool depends only on
        the scheme, ``verify`` and ``cert``, so it is worked out once and
        set again from there.
        """
        if self._ssl_context is None or not self._uses_ssl_context(verify, cert):
            if not _requests_own_adapter():
                super().cert_verify(conn, url, verify, cert)
                return
            key = (url[:5].lower() == "https", verify, cert)
            try:
                settings = self._routes.tls_settings.get(key)
            except TypeError:  # an unhashable verify or cert
                super().cert_verify(conn, url, verify, cert)
                return
            if settings is None:
                recorder = _Settings()
                super().cert_verify(recorder, url, verify, cert)
                settings = vars(recorder)
                if len(self._routes.tls_settings) >= _MAX_KEPT:
                    self._routes.tls_settings = {}
                self._routes.tls_settings[key] = settings
            for name, value in settings.items():
                setattr(conn, name, value)
            return
        # No CA file: urllib3 would load it into the shared context. The
        # verify mode is the context's own, which urllib3 sets back on it.
        conn.ca_certs = None
        conn.ca_cert_dir = None
        conn.cert_reqs = self._ssl_context.verify_mode

    @staticmethod
    def _uses_ssl_context(verify: Any, cert: Any) -> bool:
        return verify is True and cert is None


_OWN_GET_CONNECTION = HTTPAdapter.get_connection_with_tls_context
_OWN_REQUEST_URL = HTTPAdapter.request_url
_OWN_BUILD_RESPONSE = HTTPAdapter.build_response
_OWN_CERT_VERIFY = HTTPAdapter.cert_verify
#: Whether requests' adapter methods were its own when sessionpool was imported.
_ADAPTER_UNPATCHED = (
    is_requests_own(_OWN_GET_CONNECTION, "requests.adapters", "HTTPAdapter.get_connection_with_tls_context")
    and is_requests_own(_OWN_REQUEST_URL, "requests.adapters", "HTTPAdapter.request_url")
    and is_requests_own(_OWN_BUILD_RESPONSE, "requests.adapters", "HTTPAdapter.build_response")
    and is_requests_own(_OWN_CERT_VERIFY, "requests.adapters", "HTTPAdapter.cert_verify")
)


def _requests_own_adapter() -> bool:
    """Whether requests' ``HTTPAdapter`` methods the pool's adapter short-cuts are still requests' own.

    A tool that replaced one (a test double, an instrumentation) expects
    every adapter to call it: then the pool's adapter does.
    """
    return (
        _ADAPTER_UNPATCHED
        and HTTPAdapter.get_connection_with_tls_context is _OWN_GET_CONNECTION
        and HTTPAdapter.request_url is _OWN_REQUEST_URL
        and HTTPAdapter.build_response is _OWN_BUILD_RESPONSE
        and HTTPAdapter.cert_verify is _OWN_CERT_VERIFY
    )


class _Settings:
    """Records the attributes requests' ``cert_verify`` sets on a connection pool."""
