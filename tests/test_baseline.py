"""SessionBaseline, and the QueuePool reset that gives each borrower the session as configured."""

from __future__ import annotations

import base64
from typing import Any

import requests
from requests.cookies import RequestsCookieJar

from sessionpool import QueuePool
from sessionpool._baseline import SessionBaseline
from sessionpool._cookies import SharedCookieJar
from sessionpool.testing import LocalServer


def _base_hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A hook the session has from the start."""


def _borrower_hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A hook a borrower adds."""


def _configured_session() -> requests.Session:
    session = requests.Session()
    session.headers["X-Base"] = "1"
    session.auth = ("base", "pw")
    session.params = {"base": "1"}
    session.hooks["response"].append(_base_hook)
    session.proxies = {"https": "http://proxy.example:3128"}
    session.cookies.set("base", "1", domain="127.0.0.1", path="/")
    return session


def _state(session: requests.Session) -> dict[str, Any]:
    """Everything a baseline covers, as plain values to compare."""
    return {
        "headers": dict(session.headers),
        "auth": session.auth,
        "params": dict(session.params),
        "hooks": {event: list(hooks) for event, hooks in session.hooks.items()},
        "proxies": dict(session.proxies),
        "verify": session.verify,
        "cert": session.cert,
        "trust_env": session.trust_env,
        "stream": session.stream,
        "max_redirects": session.max_redirects,
        "cookies": sorted((c.domain, c.path, c.name, c.value) for c in session.cookies),
    }


def _mutate(session: requests.Session) -> None:
    """All a borrower might change, in place where it can be."""
    session.headers["X-Borrower"] = "A"
    session.headers["X-Base"] = "changed"
    del session.headers["Accept"]
    session.auth = ("a", "pw")
    session.params["q"] = "1"
    session.hooks["response"].append(_borrower_hook)
    session.proxies["http"] = "http://borrower.example:8080"
    session.verify = False
    session.cert = "/tmp/client.pem"
    session.trust_env = False
    session.stream = True
    session.max_redirects = 3
    session.cookies.set("sid", "A")
    session.cookies.set("base", "changed", domain="127.0.0.1", path="/")


def test_restore_puts_back_every_captured_attribute_in_new_containers() -> None:
    session = _configured_session()
    before = _state(session)
    baseline = SessionBaseline.capture(session)
    kept = (session.headers, session.params, session.hooks, session.hooks["response"], session.proxies)
    _mutate(session)
    assert _state(session) != before
    baseline.restore(session, shared_cookies=None)
    assert _state(session) == before
    restored = (session.headers, session.params, session.hooks, session.hooks["response"], session.proxies)
    assert all(new is not old for new, old in zip(restored, kept, strict=True))
    # A borrower who kept a reference to a container cannot reach the next borrower.
    kept[0]["X-Late"] = "1"
    kept[1]["late"] = "1"
    kept[3].append(_borrower_hook)
    kept[4]["ftp"] = "http://late.example"
    assert _state(session) == before
    # Nor can the next borrower's changes reach the baseline: a second round restores as well.
    _mutate(session)
    baseline.restore(session, shared_cookies=None)
    assert _state(session) == before


def test_restore_gives_back_the_shared_jar_with_its_cookies() -> None:
    session = _configured_session()
    shared = SharedCookieJar()
    session.cookies = shared
    baseline = SessionBaseline.capture(session)
    _mutate(session)  # sets cookies in the shared jar
    session.cookies = RequestsCookieJar()  # and a borrower even swaps the jar out
    baseline.restore(session, shared_cookies=shared)
    assert session.cookies is shared
    assert shared.get("sid") == "A"  # shared cookies are everyone's: not reset


def test_a_kept_reference_to_the_jar_cannot_reach_the_next_borrower() -> None:
    session = _configured_session()
    baseline = SessionBaseline.capture(session)
    kept = session.cookies
    baseline.restore(session, shared_cookies=None)
    kept.set("late", "1")
    assert session.cookies is not kept
    assert session.cookies.get("late") is None


def test_the_baseline_is_a_copy_that_later_changes_do_not_reach() -> None:
    session = _configured_session()
    before = _state(session)
    baseline = SessionBaseline.capture(session)
    _mutate(session)
    for cookie in session.cookies:
        cookie.value = "mutated in place"
    assert _state(session) != before
    assert dict(baseline.headers) == before["headers"]
    assert (baseline.params, baseline.hooks, baseline.proxies) == (before["params"], before["hooks"], before["proxies"])
    assert sorted((c.domain, c.path, c.name, c.value) for c in baseline.cookies) == before["cookies"]
    baseline.restore(session, shared_cookies=None)
    assert _state(session) == before
    # The restored cookies are copies too: changing them in place does not change the baseline.
    for cookie in session.cookies:
        cookie.value = "mutated again"
    baseline.restore(session, shared_cookies=None)
    assert _state(session) == before


def _borrow_as_a_then_echo_as_b(pool: QueuePool, url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Borrower A changes its session; borrower B, given the same one, asks the server what it sends."""
    with pool.session() as a:
        a.cookies.set("sid", "A")
        a.headers["Authorization"] = "Bearer A"
        a.headers["X-Borrower"] = "A"
        a.auth = ("a", "pw")
        seen_by_a = a.get(url + "/echo").json()["headers"]
    with pool.session() as b:
        assert b is a
        seen_by_b = b.get(url + "/echo").json()["headers"]
    return seen_by_a, seen_by_b


A_BASIC = "Basic " + base64.b64encode(b"a:pw").decode()


def test_a_returned_session_reaches_the_next_borrower_without_the_last_ones_state(server: LocalServer) -> None:
    with QueuePool(size=1) as pool:
        seen_by_a, seen_by_b = _borrow_as_a_then_echo_as_b(pool, server.url)
    assert (seen_by_a["Cookie"], seen_by_a["Authorization"], seen_by_a["X-Borrower"]) == ("sid=A", A_BASIC, "A")
    assert "Cookie" not in seen_by_b
    assert "Authorization" not in seen_by_b
    assert "X-Borrower" not in seen_by_b


def test_without_reset_on_return_the_next_borrower_inherits_the_state(server: LocalServer) -> None:
    with QueuePool(size=1, reset_on_return=False) as pool:
        seen_by_a, seen_by_b = _borrow_as_a_then_echo_as_b(pool, server.url)
    expected = {"Cookie": "sid=A", "Authorization": A_BASIC, "X-Borrower": "A"}
    assert {name: seen_by_a.get(name) for name in expected} == expected
    assert {name: seen_by_b.get(name) for name in expected} == expected


def test_headers_configured_through_the_pool_survive_the_reset(server: LocalServer) -> None:
    with QueuePool(size=1, headers={"X-Base": "1"}) as pool:
        with pool.session() as first:
            del first.headers["X-Base"]
            seen_by_first = first.get(server.url + "/echo").json()["headers"]
        with pool.session() as second:
            second.headers["X-Base"] = "2"
            seen_by_second = second.get(server.url + "/echo").json()["headers"]
        with pool.session() as third:
            assert third is first
            seen_by_third = third.get(server.url + "/echo").json()["headers"]
    assert "X-Base" not in seen_by_first
    assert seen_by_second["X-Base"] == "2"
    assert seen_by_third["X-Base"] == "1"


def test_an_untouched_session_keeps_its_containers() -> None:
    session = _configured_session()
    baseline = SessionBaseline.capture(session)
    before = (session.headers, session.params, session.hooks, session.proxies, session.cookies)
    baseline.restore(session, shared_cookies=None)
    after = (session.headers, session.params, session.hooks, session.proxies, session.cookies)
    assert all(a is b for a, b in zip(after[:4], before[:4], strict=True))
    assert _state(session) == _state(_configured_session())
