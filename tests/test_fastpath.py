"""The fast request path: when a pool's session takes it, what it keeps, and when it steps aside.

That its results are requests' own, field by field, is proven on generated
requests in test_fastpath_identity.py; these tests cover the mechanics: a
kept preparation never leaks one call's changes into the next, the session's
state is read on every call, and anything that replaced requests' methods
sees every request.
"""

from __future__ import annotations

import functools
import threading
from collections import Counter
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from helpers import PoolMaker, TLSFiles
from sessionpool import PoolConfig, QueuePool, ThreadLocalPool
from sessionpool.testing import LocalServer


def _last_headers(server: LocalServer) -> dict[str, str]:
    return {name.lower(): value for name, value in server.requests[-1].headers.items()}


def test_a_plain_sessions_pool_takes_the_fast_path(make_pool: PoolMaker) -> None:
    with make_pool() as pool, pool.session() as session:
        assert "request" in vars(session)


def test_a_session_class_with_its_own_send_sees_every_request(server: LocalServer, make_pool: PoolMaker) -> None:
    sent: list[str] = []

    class CountingSession(requests.Session):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            sent.append(str(request.url))
            return super().send(request, **kwargs)

    with make_pool(session_factory=CountingSession) as pool:
        for _ in range(3):
            pool.get(server.url + "/a")
        with pool.session() as session:
            assert "request" not in vars(session)
    assert sent == [server.url + "/a"] * 3


def test_requests_methods_replaced_after_the_pool_was_made_see_every_request(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What an instrumentation (OpenTelemetry's wraps Session.send) or a test
    # double does, after the pool's sessions were made.
    seen: dict[str, int] = {"send": 0, "build_response": 0}
    original_send = requests.Session.send
    original_build = HTTPAdapter.build_response

    @functools.wraps(original_send)
    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        seen["send"] += 1
        return original_send(self, request, **kwargs)

    def build_response(self: HTTPAdapter, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        seen["build_response"] += 1
        return original_build(self, req, resp)

    with ThreadLocalPool() as pool:
        assert pool.get(server.url).status_code == 200  # the session is made, with the fast path
        monkeypatch.setattr(requests.Session, "send", send)
        monkeypatch.setattr(HTTPAdapter, "build_response", build_response)
        assert pool.get(server.url).text == "ok"
        assert seen == {"send": 1, "build_response": 1}
        monkeypatch.undo()
        pool.get(server.url)
    assert seen == {"send": 1, "build_response": 1}


def test_a_kept_preparation_is_copied_for_each_call(server: LocalServer, make_pool: PoolMaker) -> None:
    with make_pool(headers={"X-Pool": "1"}) as pool:
        first = pool.get(server.url + "/same")
        first.request.headers["X-Changed"] = "by the caller"
        first.request.hooks["response"].append(lambda response, **kwargs: None)
        second = pool.get(server.url + "/same")
    assert second.request is not first.request
    assert "X-Changed" not in second.request.headers
    assert second.request.hooks == {"response": []}
    assert "x-changed" not in _last_headers(server)
    assert _last_headers(server)["x-pool"] == "1"


def test_the_sessions_state_is_read_on_every_call(server: LocalServer, make_pool: PoolMaker) -> None:
    url = server.url + "/state"
    with make_pool() as pool, pool.session() as session:
        session.get(url)
        assert "x-later" not in _last_headers(server)
        session.headers["X-Later"] = "yes"
        session.get(url)
        assert _last_headers(server)["x-later"] == "yes"
        session.headers["X-Later"] = "changed"
        session.get(url)
        assert _last_headers(server)["x-later"] == "changed"
        session.cookies.set("flavour", "oat")
        session.get(url)
        assert _last_headers(server)["cookie"] == "flavour=oat"
        session.cookies.clear()
        session.auth = ("user", "secret")
        session.get(url)
        assert _last_headers(server)["authorization"].startswith("Basic ")
        session.auth = None
        session.params = {"page": "2"}
        session.get(url)
        assert server.requests[-1].path == "/state?page=2"
        session.params = {}
        hooked: list[int] = []
        session.hooks["response"].append(lambda response, **kwargs: hooked.append(response.status_code))
        session.get(url)
        assert hooked == [200]
        assert "authorization" not in _last_headers(server)
        assert server.requests[-1].path == "/state"


def test_each_call_gets_its_own_cookie_jar_and_hooks(server: LocalServer) -> None:
    with QueuePool(size=1) as pool:
        first, second = pool.get(server.url), pool.get(server.url)
    assert first.request._cookies is not second.request._cookies  # type: ignore[attr-defined]
    assert first.request.hooks["response"] is not second.request.hooks["response"]


def test_a_call_with_its_own_settings_is_prepared_by_requests(server: LocalServer, make_pool: PoolMaker) -> None:
    with make_pool() as pool:
        pool.get(server.url + "/p", params={"q": "a b"}, headers={"X-Call": "1"}, cookies={"c": "1"})
        recorded = server.requests[-1]
        pool.post(server.url + "/p", json={"k": 1})
        posted = server.requests[-1]
    assert recorded.path == "/p?q=a+b"
    assert {name.lower(): value for name, value in recorded.headers.items()}["cookie"] == "c=1"
    assert posted.body == b'{"k": 1}'


def test_an_invalid_header_is_refused_as_requests_refuses_it(server: LocalServer, make_pool: PoolMaker) -> None:
    with make_pool() as pool:
        with pytest.raises(requests.exceptions.InvalidHeader):
            pool.get(server.url, headers={"X-Bad": "a\nb"})
        with pytest.raises(requests.exceptions.InvalidHeader):
            pool.get(server.url, headers={"X-Number": 1})
    assert server.requests == []


def test_more_urls_than_are_kept_still_go_right(server: LocalServer) -> None:
    with ThreadLocalPool() as pool:
        for index in range(1100):  # more than the 1,024 kept
            pool.get(f"{server.url}/n/{index}")
    assert [r.path for r in server.requests[-2:]] == ["/n/1098", "/n/1099"]


def test_tls_settings_follow_each_calls_verify(tls_server: LocalServer, tls_files: TLSFiles, tmp_path: Any) -> None:
    missing = str(tmp_path / "no-such-bundle.pem")
    with ThreadLocalPool(verify=tls_files.ca_bundle) as pool:
        assert pool.get(tls_server.url).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            pool.get(tls_server.url, verify=True)  # the system's CAs do not know the test CA
        with pytest.raises(OSError, match="Could not find a suitable TLS CA certificate bundle"):
            pool.get(tls_server.url, verify=missing)
        assert pool.get(tls_server.url).status_code == 200


def test_a_pools_sessions_share_what_requests_works_out_per_origin(
    tls_server: LocalServer, tls_files: TLSFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests' connection-pool key of an origin (and its look at the CA path
    # on disk) is worked out once for the pool, not once per session.
    looked_up: list[str] = []
    original = requests.adapters._urllib3_request_context

    def counting(request: requests.PreparedRequest, *args: Any) -> Any:
        looked_up.append(str(request.url))
        return original(request, *args)

    monkeypatch.setattr(requests.adapters, "_urllib3_request_context", counting)
    with QueuePool(size=3, verify=tls_files.ca_bundle) as pool:
        with pool.session() as one, pool.session() as two, pool.session() as three:
            for session in (one, two, three):
                assert session.get(tls_server.url + "/a").status_code == 200
                assert session.get(tls_server.url + "/b").status_code == 200
        assert looked_up == [tls_server.url + "/a"]
        pool.invalidate()
        assert pool.get(tls_server.url + "/c").status_code == 200
    assert looked_up == [tls_server.url + "/a", tls_server.url + "/c"]


def test_invalidate_forgets_kept_preparations(
    server: LocalServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login first password one\n")
    monkeypatch.setenv("NETRC", str(netrc))
    with ThreadLocalPool(config=PoolConfig()) as pool:
        pool.get(server.url + "/n")
        before = _last_headers(server)["authorization"]
        netrc.write_text("machine 127.0.0.1 login second password two\n")
        pool.get(server.url + "/n")
        assert _last_headers(server)["authorization"] == before  # read once, as documented
        pool.invalidate()
        pool.get(server.url + "/n")
        assert _last_headers(server)["authorization"] != before


def test_new_urls_of_a_known_origin_are_sent_as_requests_sends_them(
    server: LocalServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # After the first URL of an origin, a new one is prepared from that
    # origin's kept request: its own URL and its host's .netrc auth; another
    # host gets its own (none), and a URL that names a user is sent with that user.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login first password one\n")
    monkeypatch.setenv("NETRC", str(netrc))
    other = server.url.replace("127.0.0.1", "localhost")
    user = other.replace("http://", "http://someone:pw@")  # a host .netrc does not name: the URL's user is sent
    urls = [
        *(server.url + path for path in ("/a", "/b?x=1&y", "/c%20d", "/é?q=ü", "/a#top", "//twice", "?only")),
        *(other + "/other", user + "/u", other + "/after-user", server.url + "/last"),
    ]

    def received(since: int) -> list[tuple[str, str | None, str | None]]:
        return [(r.path, r.headers.get("Authorization"), r.headers.get("X-Call")) for r in server.requests[since:]]

    for headers in (None, {"X-Call": "1"}):
        start = len(server.requests)
        with requests.Session() as plain:
            for url in urls:
                plain.get(url, headers=headers)
        expected = received(start)
        start = len(server.requests)
        with ThreadLocalPool() as pool:
            for url in urls:
                pool.get(url, headers=headers)
        assert received(start) == expected
        assert len({auth for _, auth, _ in expected}) == 3  # the host's, the URL's user's, and none


def test_threads_sharing_kept_preparations_never_see_each_others_requests(
    server: LocalServer, make_pool: PoolMaker, tiny_switch_interval: None
) -> None:
    # Every thread asks for the same URLs, each with its own header; 8 x 140
    # preparations are more than the 1,024 kept, so the cache starts again under load.
    threads, urls = 8, 140
    failures: list[str] = []

    def crawl(pool: Any, thread: int) -> None:
        for index in range(urls):
            url = f"{server.url}/s/{index}"
            response = pool.get(url, headers={"X-Thread": str(thread)})
            sent = response.request
            if sent.url != url or sent.headers["X-Thread"] != str(thread) or response.url != url:
                failures.append(f"thread {thread} asked for {url}, got {sent.url} as {sent.headers['X-Thread']}")

    with make_pool() as pool:
        workers = [threading.Thread(target=crawl, args=(pool, thread)) for thread in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert not any(worker.is_alive() for worker in workers)
    assert failures == []
    received = Counter(
        (recorded.path, {name.lower(): value for name, value in recorded.headers.items()}["x-thread"])
        for recorded in server.requests
    )
    assert received == Counter((f"/s/{index}", str(thread)) for index in range(urls) for thread in range(threads))
