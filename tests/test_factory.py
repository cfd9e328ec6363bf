"""make_session: a factory's adapters on the pool's prefixes are refused, never silently replaced."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from requests.adapters import HTTPAdapter
from requests_ratelimiter import LimiterAdapter
from requests_toolbelt.adapters.host_header_ssl import HostHeaderSSLAdapter
from requests_toolbelt.adapters.source import SourceAddressAdapter
from requests_toolbelt.adapters.ssl import SSLAdapter

from helpers import PoolMaker
from sessionpool import PoolError, SessionFactoryError, ThreadLocalPool
from sessionpool.testing import LocalServer


def _mounting(prefix: str, make_adapter: Callable[[], requests.adapters.BaseAdapter]) -> Callable[[], requests.Session]:
    def factory() -> requests.Session:
        session = requests.Session()
        session.mount(prefix, make_adapter())
        return session

    return factory


REFUSED = {
    "HTTPAdapter(pool_maxsize=50)": ("https://", lambda: HTTPAdapter(pool_maxsize=50)),
    "HTTPAdapter(max_retries=3)": ("http://", lambda: HTTPAdapter(max_retries=3)),
    "SSLAdapter(TLSv1_2)": ("https://", lambda: SSLAdapter("TLSv1_2")),
    "HostHeaderSSLAdapter": ("https://", HostHeaderSSLAdapter),
    "SourceAddressAdapter": ("http://", lambda: SourceAddressAdapter("127.0.0.2")),
    "LimiterAdapter": ("https://", lambda: LimiterAdapter(per_second=5)),
    "a longer prefix": ("https://api.example.org/", HTTPAdapter),
    "a prefix covering both": ("http", HTTPAdapter),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_an_adapter_the_pool_would_replace_or_bypass_is_refused(
    make_pool: PoolMaker, server: LocalServer, case: str
) -> None:
    prefix, make_adapter = REFUSED[case]
    pool = make_pool(session_factory=_mounting(prefix, make_adapter))
    with pool, pytest.raises(SessionFactoryError) as raised:
        pool.get(server.url + "/")  # the first checkout makes the first session
    message = str(raised.value)
    assert repr(prefix) in message
    assert "ssl_context, socket_options, source_address" in message
    assert isinstance(raised.value, PoolError)
    assert server.requests == []


def test_the_message_says_whether_the_adapter_is_replaced_or_bypassed(server: LocalServer) -> None:
    from sessionpool import QueuePool

    replaced = QueuePool(session_factory=_mounting("https://", lambda: HTTPAdapter(pool_maxsize=50)))
    bypassed = QueuePool(session_factory=_mounting("https://api.example.org/", HTTPAdapter))
    for pool, words in [(replaced, "be replaced by the pool's adapter"), (bypassed, "bypass the pool's adapter")]:
        with pool, pytest.raises(SessionFactoryError, match=words):
            pool.get(server.url + "/")


def test_adapters_for_other_schemes_and_requests_own_defaults_are_kept(
    make_pool: PoolMaker, server: LocalServer
) -> None:
    other = HTTPAdapter()
    with make_pool(session_factory=_mounting("mock://", lambda: other)) as pool, pool.session() as session:
        assert session.get(server.url + "/").content == b"ok"
        assert session.adapters["mock://"] is other


class _KeepsItsKeyAtHome(requests.Session):
    """The recipe of docs/hostile.md: a header that carries credentials is dropped when a redirect leaves its host."""

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)
        if self.should_strip_auth(response.request.url, prepared_request.url):  # type: ignore[arg-type]
            prepared_request.headers.pop("X-Api-Key", None)


def test_a_custom_credential_header_crosses_hosts_on_redirect_unless_the_session_drops_it() -> None:
    with LocalServer(host="127.0.0.2") as other, LocalServer() as home:
        away = f"{home.url}/respond?status=302&header=Location:%20{other.url}/echo"
        here = f"{home.url}/respond?status=302&header=Location:%20/echo"
        for factory, crosses in ((requests.Session, True), (_KeepsItsKeyAtHome, False)):
            with ThreadLocalPool(session_factory=factory, headers={"X-Api-Key": "k"}, auth=("u", "p")) as pool:
                landed = pool.get(away).json()["headers"]
                stayed = pool.get(here).json()["headers"]
            assert ("X-Api-Key" in landed) is crosses  # requests strips Authorization only
            assert "Authorization" not in landed
            assert stayed["X-Api-Key"] == "k"  # the same host keeps it either way
