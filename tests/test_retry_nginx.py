"""Retries against a real nginx that closes idle keep-alive connections after 1 s and after 5 requests."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest
import requests

from sessionpool import ThreadLocalPool
from sessionpool.testing import Nginx, run_threads


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_pauses_around_the_keepalive_timeout_fail_no_get_and_send_no_post_twice(nginx: Nginx, transport: str) -> None:
    threads, per_thread, pause_every = 8, 250, 23
    failures: Counter[str] = Counter()
    lock = threading.Lock()
    with ThreadLocalPool(transport=transport) as pool:

        def work(index: int) -> None:
            chance = random.Random(index)
            for n in range(per_thread):
                if n and n % pause_every == 0:
                    # Within a few ms of nginx's keepalive_timeout: now and
                    # then nginx closes the connection just as it is reused
                    # (urllib3 notices a close that came earlier and reconnects).
                    time.sleep(chance.uniform(0.995, 1.005))
                method = "POST" if n % 3 == 0 else "GET"
                try:
                    response = pool.request(method, f"{nginx.url}/{method.lower()}/{index}/{n}", data=b"x")
                    ok = response.content == b"ok"
                except requests.ConnectionError:
                    ok = False
                if not ok:
                    with lock:
                        failures[method] += 1

        run_threads(threads, work, seconds=120)
        stats = pool.stats()
    log = nginx.access_log()
    posts = Counter(entry.uri for entry in log if entry.method == "POST")
    assert failures["GET"] == 0
    assert [uri for uri, count in posts.items() if count > 1] == []
    # nginx answered every request once: a stale connection dies before
    # nginx reads the request, so neither a retried GET nor a failed POST
    # reached it twice.
    assert len(log) == threads * per_thread - failures["POST"]
    # nginx closed connections after 5 requests, so many were opened; all were reused while they lasted.
    assert stats.connections_opened >= threads * per_thread // 5
