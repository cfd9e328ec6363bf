"""Green threads: ThreadLocalPool refuses gevent's and eventlet's patched threads; QueuePool serves them.

Monkey patching cannot be undone, so none of it happens in the pytest
process: each scenario is a small script run by a fresh interpreter, which
patches first and then imports sessionpool (as gunicorn's and Celery's
green workers do), and prints one JSON line of results. The server is a
LocalServer of this (unpatched) process; the script gets its URL.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from sessionpool.testing import LocalServer

#: Seconds a script may run before it is killed (each takes 1 to 3 s here).
_SCRIPT_SECONDS = 20.0

_RESULT = "RESULT "

#: What each script runs first: the patching, and the same three helpers on
#: either library. ``join`` waits at most ``seconds`` and says how many of
#: the green threads had not finished by then.
_PRELUDES = {
    "gevent": """
        import gevent.monkey
        gevent.monkey.patch_all()
        import gevent

        def spawn(function, *args):
            return gevent.spawn(function, *args)

        def join(handles, seconds):
            gevent.joinall(handles, timeout=seconds)
            return sum(not handle.ready() for handle in handles)

        sleep = gevent.sleep
    """,
    "eventlet": """
        import eventlet
        eventlet.monkey_patch()

        def spawn(function, *args):
            return eventlet.spawn(function, *args)

        def join(handles, seconds):
            with eventlet.Timeout(seconds, False):
                for handle in handles:
                    handle.wait()
            return sum(not handle.dead for handle in handles)

        sleep = eventlet.sleep
    """,
}

#: Green libraries loaded without patching threads: real threads, so nothing to refuse.
_NOT_GREEN = {
    "gevent imported, nothing patched": ("gevent", "import gevent\nimport gevent.monkey\n"),
    "gevent patch_all(thread=False)": ("gevent", "import gevent.monkey\ngevent.monkey.patch_all(thread=False)\n"),
    "eventlet imported, nothing patched": ("eventlet", "import eventlet\nimport eventlet.patcher\n"),
}

_GREEN = sorted(_PRELUDES)


def _require(library: str) -> None:
    """Go on only where ``library`` is installed: the dev extra has it, so in CI a missing one fails."""
    if importlib.util.find_spec(library) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{library} is in the dev extra and is missing: CI should have installed it")
        pytest.skip(f"{library} is not installed here (pip install -e '.[dev]')")


def _run(prelude: str, body: str, url: str) -> dict[str, Any]:
    """Run ``prelude`` then ``body`` in a fresh interpreter (killed after _SCRIPT_SECONDS); its RESULT line."""
    script = textwrap.dedent(prelude) + textwrap.dedent(body)
    try:
        # On a timeout, run() kills the child and waits for it before raising.
        done = subprocess.run(
            [sys.executable, "-c", script, url],
            capture_output=True,
            text=True,
            timeout=_SCRIPT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the script ran past {_SCRIPT_SECONDS:g} s and was killed; stderr:\n{exc.stderr!r}")
    results = [line for line in done.stdout.splitlines() if line.startswith(_RESULT)]
    assert done.returncode == 0, f"exit {done.returncode}; stderr:\n{done.stderr[-4000:]}"
    assert len(results) == 1, f"{len(results)} result lines; stdout:\n{done.stdout[-4000:]}"
    return dict(json.loads(results[0][len(_RESULT) :]))


_MAKE_THREAD_LOCAL = """
    import json, sys
    import requests
    from sessionpool import GreenThreadsUnsupported, PoolError, ThreadLocalPool

    try:
        pool = ThreadLocalPool()
    except GreenThreadsUnsupported as exc:
        outcome = {
            "refused": True,
            "message": str(exc),
            "pool_error": isinstance(exc, PoolError),
            "request_exception": isinstance(exc, requests.RequestException),
        }
    else:
        with pool:
            body = pool.get(sys.argv[1] + "/").text
            outcome = {"refused": False, "body": body, "sessions": pool.stats().sessions_created}
    print("RESULT " + json.dumps(outcome))
"""


@pytest.mark.parametrize("library", _GREEN)
def test_a_thread_local_pool_is_refused_under_green_threads(library: str, server: LocalServer) -> None:
    _require(library)
    outcome = _run(_PRELUDES[library], _MAKE_THREAD_LOCAL, server.url)
    assert outcome["refused"]
    message = outcome["message"]
    assert library in message
    assert "greenlet" in message
    assert "QueuePool(size=N)" in message
    assert outcome["pool_error"]
    assert outcome["request_exception"]
    assert server.requests == []


@pytest.mark.parametrize("case", sorted(_NOT_GREEN))
def test_a_thread_local_pool_is_made_where_threads_are_real(case: str, server: LocalServer) -> None:
    library, prelude = _NOT_GREEN[case]
    _require(library)
    outcome = _run(prelude, _MAKE_THREAD_LOCAL, server.url)
    assert not outcome["refused"], outcome.get("message")
    assert outcome["body"] == "ok"
    assert outcome["sessions"] == 1


_MANY_GREEN_THREADS = """
    import json, sys
    from sessionpool import QueuePool

    url, greenlets, size = sys.argv[1], 500, 10
    failures = []

    with QueuePool(size=size, checkout_timeout=15.0) as pool:

        def get(index):
            try:
                body = pool.get(f"{url}/g{index}").content
            except Exception as exc:
                failures.append(repr(exc))
            else:
                if body != b"ok":
                    failures.append(f"/g{index} answered {body!r}")

        unfinished = join([spawn(get, index) for index in range(greenlets)], 15.0)
        stats = pool.stats()
    print("RESULT " + json.dumps({
        "failures": failures[:5],
        "failed": len(failures),
        "unfinished": unfinished,
        "requests": stats.requests,
        "checkouts": stats.checkouts,
        "sessions_created": stats.sessions_created,
        "connections_opened": stats.connections_opened,
        "checkout_timeouts": stats.checkout_timeouts,
        "checkout_wait_seconds_max": stats.checkout_wait_seconds_max,
    }))
"""


@pytest.mark.parametrize("library", _GREEN)
def test_a_queue_pool_serves_500_green_threads_on_at_most_size_connections(library: str, server: LocalServer) -> None:
    _require(library)
    outcome = _run(_PRELUDES[library], _MANY_GREEN_THREADS, server.url)
    assert outcome["failed"] == 0, outcome["failures"]
    assert outcome["unfinished"] == 0
    assert len(server.requests) == 500
    assert sorted(request.path for request in server.requests) == sorted(f"/g{i}" for i in range(500))
    assert server.connections_accepted <= 10
    assert outcome["connections_opened"] == server.connections_accepted
    assert outcome["requests"] == outcome["checkouts"] == 500
    assert outcome["sessions_created"] <= 10
    assert outcome["checkout_timeouts"] == 0
    # 500 green threads on 10 sessions: some waited, so the patched waits were really exercised.
    assert outcome["checkout_wait_seconds_max"] > 0


_CHECKOUT_TIMEOUT = """
    import json, time
    from sessionpool import PoolTimeout, QueuePool

    ticks, stop = [], []

    def tick():
        # Runs only while the other green threads yield to the hub.
        while not stop and len(ticks) < 2000:
            ticks.append(time.monotonic())
            sleep(0.01)

    def borrow(pool, outcome):
        started = time.monotonic()
        try:
            with pool.session():
                outcome["served_after"] = time.monotonic() - started
        except PoolTimeout as exc:
            outcome.update(timed_out=True, waited=exc.waited, limit=exc.checkout_timeout, message=str(exc))

    ticker = spawn(tick)
    timed = {}
    with QueuePool(size=1, checkout_timeout=0.3) as pool:
        with pool.session():  # the one session is out for as long as the borrower waits
            ticks_before = len(ticks)
            unfinished = join([spawn(borrow, pool, timed)], 5.0)
            ticks_during = len(ticks) - ticks_before
        timeouts = pool.stats().checkout_timeouts

    def hold(pool):
        with pool.session():
            sleep(0.2)

    served = {}
    with QueuePool(size=1, checkout_timeout=5.0) as pool:
        holder = spawn(hold, pool)
        sleep(0)  # the holder takes the session first
        unfinished += join([spawn(borrow, pool, served), holder], 5.0)
    stop.append(True)
    unfinished += join([ticker], 5.0)
    print("RESULT " + json.dumps({
        "timed": timed, "ticks_during": ticks_during, "timeouts": timeouts, "served": served,
        "unfinished": unfinished,
    }))
"""


@pytest.mark.parametrize("library", _GREEN)
def test_a_queue_pool_checkout_waits_cooperatively_and_times_out(library: str, server: LocalServer) -> None:
    _require(library)
    outcome = _run(_PRELUDES[library], _CHECKOUT_TIMEOUT, server.url)
    assert outcome["unfinished"] == 0
    timed = outcome["timed"]
    assert timed["timed_out"]
    assert timed["limit"] == 0.3
    assert 0.3 <= timed["waited"] < 3.0
    assert "checkout_timeout=0.3" in timed["message"]
    assert outcome["timeouts"] == 1
    # The wait yielded to the hub: another green thread ran all along (nominally 30 ticks).
    assert outcome["ticks_during"] >= 10
    # And a session given back wakes its waiter at once, not at the end of its checkout_timeout.
    assert 0.1 <= outcome["served"]["served_after"] < 2.0


_FETCH_ALL = """
    import json, sys
    from sessionpool import FetchOptions, GreenThreadsUnsupported, fetch_all

    url = sys.argv[1]
    try:
        fetch_all([url + "/refused"])
        refused = ""
    except GreenThreadsUnsupported as exc:
        refused = str(exc)
    options = FetchOptions(pool_kind="queue", threads=8)
    with fetch_all([f"{url}/f{index}" for index in range(40)], options=options) as fetch:
        results = list(fetch)
        stats = fetch.stats()
    print("RESULT " + json.dumps({
        "refused": refused,
        "results": len(results),
        "errors": [repr(result.error) for result in results if result.error is not None][:5],
        "requests": stats.requests,
        "connections_opened": stats.connections_opened,
    }))
"""


@pytest.mark.parametrize("library", _GREEN)
def test_fetch_all_refuses_its_default_pool_and_runs_on_a_queue_pool(library: str, server: LocalServer) -> None:
    _require(library)
    outcome = _run(_PRELUDES[library], _FETCH_ALL, server.url)
    assert library in outcome["refused"]
    assert "QueuePool(size=N)" in outcome["refused"]
    assert outcome["results"] == 40
    assert outcome["errors"] == []
    assert outcome["requests"] == 40
    assert server.count("GET", "/refused") == 0
    assert len(server.requests) == 40
    assert server.connections_accepted == outcome["connections_opened"] <= 8
