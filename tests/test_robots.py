"""robots.txt in the fetch engine (``FetchOptions(robots=True)``), against a real server on loopback."""

from __future__ import annotations

import itertools
import socket

import pytest

from sessionpool import FetchOptions, ThreadLocalPool, fetch_all, fetch_one
from sessionpool._fetch.robots import MAX_ROBOTS_BYTES
from sessionpool.testing import LocalServer, run_threads

ROBOTS = FetchOptions(robots=True)


def test_a_disallowed_url_is_not_sent_and_its_result_says_why() -> None:
    with LocalServer(bodies={"/robots.txt": b"User-agent: *\nDisallow: /private\n"}) as server:
        with ThreadLocalPool() as pool:
            allowed = fetch_one(pool, server.url + "/public", ROBOTS)
            refused = fetch_one(pool, server.url + "/private/page", ROBOTS)
        sent = [r.path for r in server.requests]
    assert (allowed.status, allowed.error) == (200, None)
    assert refused.error is not None
    assert (refused.status, refused.attempts, refused.error.type) == (None, 0, "DisallowedByRobots")
    assert "python-requests/" in refused.error.message
    assert sent == ["/robots.txt", "/public"]


def test_without_the_option_robots_txt_is_neither_read_nor_obeyed() -> None:
    with LocalServer(bodies={"/robots.txt": b"User-agent: *\nDisallow: /\n"}) as server:
        with ThreadLocalPool() as pool:
            assert fetch_one(pool, server.url + "/page").status == 200
        assert [r.path for r in server.requests] == ["/page"]


def test_robots_txt_is_read_once_per_host_however_many_threads_ask(tiny_switch_interval: None) -> None:
    with LocalServer(bodies={"/robots.txt": b"User-agent: *\nDisallow: /no\n"}) as server:
        urls = [f"{server.url}/{'no' if n % 4 == 0 else 'yes'}/{n}" for n in range(64)]
        with fetch_all(urls, options=FetchOptions(threads=16, robots=True)) as fetch:
            results = list(fetch)
        assert server.count("GET", "/robots.txt") == 1
        sent = {r.path for r in server.requests}
    refused = [r for r in results if r.error is not None]
    assert {r.url for r in refused} == {url for url in urls if "/no/" in url}
    assert all(r.error is not None and r.error.type == "DisallowedByRobots" for r in refused)
    assert not {path for path in sent if path.startswith("/no/")}


def test_the_pools_user_agent_is_the_one_robots_txt_is_read_for() -> None:
    robots = b"User-agent: examplebot\nDisallow: /\n\nUser-agent: *\nDisallow:\n"
    with LocalServer(bodies={"/robots.txt": robots}) as server:
        with ThreadLocalPool(headers={"User-Agent": "examplebot/2.0"}) as bot:
            assert fetch_one(bot, server.url + "/a", ROBOTS).error is not None
        with ThreadLocalPool() as plain:
            assert fetch_one(plain, server.url + "/a", ROBOTS).status == 200


@pytest.mark.parametrize(("status", "allowed"), [(401, False), (403, False), (404, True), (410, True), (500, False)])
def test_a_robots_txt_answer_without_rules_decides_as_robotparser_does(status: int, allowed: bool) -> None:
    with LocalServer(statuses={"/robots.txt": [status]}) as server, ThreadLocalPool() as pool:
        result = fetch_one(pool, server.url + "/page", ROBOTS)
    assert (result.status == 200) is allowed
    assert (result.error is None) is allowed


def test_an_unreachable_robots_txt_leaves_the_urls_to_fail_on_their_own() -> None:
    with socket.socket() as sock:  # a port nothing listens on any more
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/page"
    with ThreadLocalPool() as pool:
        result = fetch_one(pool, url, ROBOTS)
    assert result.error is not None
    assert result.error.type == "ConnectionError"


def test_crawl_delay_becomes_the_hosts_delay_in_the_pool(server: LocalServer) -> None:
    with LocalServer(bodies={"/robots.txt": b"User-agent: *\nCrawl-delay: 1\n"}) as polite, ThreadLocalPool() as pool:
        run_threads(3, lambda n: fetch_one(pool, f"{polite.url}/{n}", ROBOTS))
        assert fetch_one(pool, server.url + "/elsewhere").status == 200
        hosts = pool.stats().hosts
        received = sorted(r.received for r in polite.requests)
    assert hosts[polite.url].delay == 1.0
    assert hosts[server.url].delay == 0.0
    assert len(received) == 4  # robots.txt and three pages, each at least the delay after the one before
    assert all(later - earlier >= 0.9 for earlier, later in itertools.pairwise(received))


@pytest.mark.parametrize(
    "rules",
    [
        "User-agent: *\nCrawl-delay: \xb2\nDisallow: /private\n",  # passes str.isdigit, fails int()
        "User-agent: *\nCrawl-delay: " + "9" * 5000 + "\nDisallow: /private\n",  # past int()'s digit limit
        "User-agent: *\nRequest-rate: \xb9/\xb3\nDisallow: /private\n",
        "User-agent: *\nCrawl-delay: \u0661\nDisallow: /private\n",  # ARABIC-INDIC DIGIT ONE
    ],
)
def test_a_robots_txt_with_numbers_robotparser_fails_on_is_read_without_them(rules: str) -> None:
    body = rules.encode("latin-1", "replace")
    with LocalServer(bodies={"/robots.txt": body}) as server, ThreadLocalPool() as pool:
        page = fetch_one(pool, server.url + "/page", ROBOTS)
        private = fetch_one(pool, server.url + "/private", ROBOTS)
        delay = pool.stats().hosts[server.url].delay
    assert page.status == 200
    assert page.error is None
    assert private.error is not None
    assert private.error.type == "DisallowedByRobots"  # the other rules still hold
    assert delay == 0.0


def test_a_crawl_delay_is_cut_to_per_host_pause_max(server: LocalServer) -> None:
    robots = b"User-agent: *\nCrawl-delay: 86400\n"
    with LocalServer(bodies={"/robots.txt": robots}) as slow, ThreadLocalPool(per_host_pause_max=5) as pool:
        assert fetch_one(pool, slow.url + "/page", ROBOTS).status == 200
        assert pool.stats().hosts[slow.url].delay == 5.0


def test_a_huge_robots_txt_body_is_cut_at_the_limit() -> None:
    big = b"User-agent: *\n" + b"Disallow: /nothing-here\n" * 40_000  # 960 KiB of rules
    with LocalServer(bodies={"/robots.txt": big + b"Disallow: /late\n"}) as server, ThreadLocalPool() as pool:
        late = fetch_one(pool, server.url + "/late", ROBOTS)
    assert late.status == 200  # the rule past the first 500 KiB was never read
    assert len(big) > MAX_ROBOTS_BYTES
