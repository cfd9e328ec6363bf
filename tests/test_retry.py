"""Retries against a server that breaks connections on a script: what is sent again, and what never is."""

from __future__ import annotations

import http.client
import io
import logging
import math
import ssl
import threading
from collections.abc import Iterator

import pytest
import requests
import trustme
from hypothesis import given
from hypothesis import strategies as st
from urllib3.exceptions import ProtocolError

import sessionpool._retry
from helpers import TLSFiles
from sessionpool import QueuePool, RetryPolicy, ThreadLocalPool
from sessionpool._classify import mark_reused_connection_failure
from sessionpool._events import EventDispatcher, PoolListener
from sessionpool._retry import attempts, parse_retry_after, retry
from sessionpool._stats import StatsRecorder
from sessionpool.testing import Faults, LocalServer, run_threads

# Every connection serves one response, then dies under the next request it
# receives: each reuse of a connection meets the race a real server's idle
# timeout causes now and then.
CLOSE_ON_REUSE = Faults(after=1, on="request", how="fin")
RESET_ON_REUSE = Faults(after=1, on="request", how="rst")


def _hammer(pool: ThreadLocalPool, url: str, threads: int, total: int) -> tuple[int, int]:
    """Send ``total`` GETs to distinct paths from ``threads`` threads; return (answered, failed)."""
    outcomes = {"answered": 0, "failed": 0}
    lock = threading.Lock()

    def work(index: int) -> None:
        for n in range(index, total, threads):
            try:
                ok = pool.get(f"{url}/item/{n}").content == b"ok"
            except requests.ConnectionError:
                ok = False
            with lock:
                outcomes["answered" if ok else "failed"] += 1

    run_threads(threads, work)
    return outcomes["answered"], outcomes["failed"]


@pytest.mark.parametrize("fault", [CLOSE_ON_REUSE, RESET_ON_REUSE], ids=["fin", "rst"])
def test_the_reuse_race_costs_no_request(fault: Faults) -> None:
    total = 1000
    with LocalServer(faults=fault) as server, ThreadLocalPool() as pool:
        answered, failed = _hammer(pool, server.url, threads=8, total=total)
        stats = pool.stats()
    assert (answered, failed) == (total, 0)
    assert stats.stale_retries >= total - 8 * 2  # nearly every reuse met a dead connection
    answered_paths = [r.path for r in server.requests if r.answered]
    assert sorted(answered_paths) == sorted(f"/item/{n}" for n in range(total))  # each answered exactly once


def test_the_reuse_race_over_tls_costs_no_request(ca: trustme.CA, tls_files: TLSFiles) -> None:
    total = 120
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    pool = ThreadLocalPool(verify=tls_files.ca_bundle, trust_env=False)
    with LocalServer(faults=CLOSE_ON_REUSE, tls=context) as server, pool:
        answered, failed = _hammer(pool, server.url, threads=4, total=total)
        stats = pool.stats()
    assert (answered, failed) == (total, 0)
    assert stats.stale_retries >= total - 4 * 2


def test_without_retries_the_same_race_fails_requests() -> None:
    total = 200
    with LocalServer(faults=CLOSE_ON_REUSE) as server, ThreadLocalPool(retry=RetryPolicy.disabled()) as pool:
        answered, failed = _hammer(pool, server.url, threads=8, total=total)
        stats = pool.stats()
    # The race is real: every reused connection fails (each failure is followed
    # by a fresh connection that succeeds). The policy is what hides it.
    assert failed >= total // 3
    assert answered + failed == total
    assert stats.stale_retries == 0


def test_a_post_whose_connection_dies_is_never_sent_again(caplog: pytest.LogCaptureFixture) -> None:
    with LocalServer(faults=RESET_ON_REUSE) as server, QueuePool(size=1) as pool:
        pool.get(server.url + "/warm-up")
        with caplog.at_level(logging.DEBUG, logger="sessionpool"), pytest.raises(requests.ConnectionError) as raised:
            pool.post(server.url + "/orders", data=b"one order")
        stats = pool.stats()
    # The server got the POST once (and broke the connection after reading it).
    assert server.count("POST", "/orders") == 1
    assert isinstance(raised.value.args[0], Exception)  # requests' own error, not wrapped
    assert stats.unsafe_not_retried == 1
    assert stats.stale_retries == 0
    assert "not sending POST" in caplog.text
    assert "Idempotency-Key" in caplog.text


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Idempotency-Key", "idempotency-key"])
def test_a_post_with_an_idempotency_key_is_retried(header: str) -> None:
    with LocalServer(faults=RESET_ON_REUSE) as server, QueuePool(size=1) as pool:
        pool.get(server.url + "/warm-up")
        response = pool.post(server.url + "/orders", data=b"one order", headers={header: "order-17"})
        stats = pool.stats()
    assert response.content == b"ok"
    orders = [r for r in server.requests if r.path == "/orders"]
    assert [r.answered for r in orders] == [False, True]
    assert stats.stale_retries == 1


def test_the_retry_methods_can_be_widened_explicitly() -> None:
    policy = RetryPolicy(retry_methods={"GET", "POST"})
    with LocalServer(faults=CLOSE_ON_REUSE) as server, QueuePool(size=1, retry=policy) as pool:
        pool.get(server.url + "/warm-up")
        assert pool.post(server.url + "/idempotent-by-contract", json={"a": 1}).content == b"ok"
    assert server.count("POST", "/idempotent-by-contract") == 2


def _generated_body() -> Iterator[bytes]:
    yield b"part one, "
    yield b"part two"


def test_a_generator_body_is_never_retried() -> None:
    with LocalServer(faults=CLOSE_ON_REUSE) as server, QueuePool(size=1) as pool:
        pool.get(server.url + "/warm-up")
        with pytest.raises(requests.ConnectionError):
            pool.put(server.url + "/upload", data=_generated_body())
        assert pool.stats().unsafe_not_retried == 1
    assert server.count("PUT", "/upload") == 1


def test_a_seekable_file_body_is_rewound_and_retried() -> None:
    payload = b"x" * 5000
    body = io.BytesIO(b"header to skip|" + payload)
    body.seek(len(b"header to skip|"))  # the body starts here, not at 0
    with LocalServer(faults=CLOSE_ON_REUSE) as server, QueuePool(size=1) as pool:
        pool.get(server.url + "/warm-up")
        assert pool.put(server.url + "/upload", data=body).content == b"ok"
    uploads = [r for r in server.requests if r.path == "/upload"]
    assert [(r.body_size, r.answered) for r in uploads] == [(len(payload), False), (len(payload), True)]


def test_a_failure_on_a_fresh_connection_is_not_retried_as_stale() -> None:
    fault = Faults(after=0, on="request", how="fin")  # every connection dies on its first request
    with LocalServer(faults=fault) as server, QueuePool(size=1) as pool:
        with pytest.raises(requests.ConnectionError):
            pool.get(server.url + "/first")
        stats = pool.stats()
    assert server.count("GET", "/first") == 1
    assert stats.stale_retries == 0


def test_a_read_timeout_is_not_retried_by_default() -> None:
    with LocalServer() as server, QueuePool(size=1, timeout=(5, 0.2)) as pool:
        pool.get(server.url + "/")
        with pytest.raises(requests.ReadTimeout):
            pool.get(server.url + "/sleep/1")
        stats = pool.stats()
    assert [r.path for r in server.requests].count("/sleep/1") == 1
    assert (stats.stale_retries, stats.transient_retries, stats.unsafe_not_retried) == (0, 0, 0)


def _stale_error(n: int) -> requests.ConnectionError:
    """A stale-connection failure as requests raises it, marked as the transport marks it."""
    cause = http.client.RemoteDisconnected(f"closed under request {n}")
    mark_reused_connection_failure(cause)
    return requests.ConnectionError(ProtocolError("Connection aborted.", cause))


def test_retries_stop_at_stale_attempts_and_raise_the_last_error_unchanged() -> None:
    # urllib3 puts the failed connection's slot back empty and on top of its
    # LIFO queue, so a real retry goes out on a new connection; to see the
    # bound, every attempt here fails as stale.
    errors = [_stale_error(n) for n in range(4)]
    attempts = iter(errors[1:])

    def send_once() -> requests.Response:
        raise next(attempts)

    stats = StatsRecorder()
    request = requests.Request("GET", "http://127.0.0.1:9/").prepare()
    with pytest.raises(requests.ConnectionError) as raised:
        retry(RetryPolicy(stale_attempts=2), request, send_once, errors[0], stats, EventDispatcher())
    assert raised.value is errors[2]  # the last attempt's own error, not wrapped
    assert stats.snapshot().stale_retries == 2


def test_after_a_stale_failure_older_idle_connections_are_dropped() -> None:
    with LocalServer(faults=CLOSE_ON_REUSE) as server:
        with QueuePool(size=1, keepalive_expiry=None) as pool, pool.session() as session:
            _open_idle_connections(session, server.url, 3)
            assert session.get(server.url + "/after-pause").content == b"ok"
        stats = pool.stats()
    # One dead connection was tried; the two older ones were closed unused,
    # and the retry went out on a new connection.
    assert server.count("GET", "/after-pause") == 2
    assert stats.stale_retries == 1
    assert stats.idle_connections_discarded == 2


def _open_idle_connections(session: requests.Session, url: str, count: int) -> None:
    """Leave ``count`` idle connections to ``url`` in the session's pool, each after one response."""
    responses = [session.get(f"{url}/open/{n}", stream=True) for n in range(count)]
    for response in responses:
        assert response.content == b"ok"
        response.close()
    assert len(_idle_connections(session, url)) == count


def _idle_connections(session: requests.Session, url: str) -> list[object]:
    manager = session.get_adapter(url).poolmanager  # type: ignore[attr-defined]
    pools = [manager.pools[key] for key in manager.pools.keys()]  # noqa: SIM118 - the container is not iterable
    return [conn for pool in pools for conn in pool.pool.queue if conn is not None and conn.sock is not None]


def test_keepalive_expiry_opens_a_new_connection_instead_of_reusing_an_old_one() -> None:
    # Retries are off: the test proves no failure happened at all.
    pool = QueuePool(size=1, keepalive_expiry=0.2, retry=RetryPolicy.disabled())
    with LocalServer(faults=CLOSE_ON_REUSE) as server, pool:
        assert pool.get(server.url + "/before").content == b"ok"
        threading.Event().wait(0.4)  # a pause longer than the expiry
        assert pool.get(server.url + "/after").content == b"ok"
        stats = pool.stats()
    assert stats.connections_opened == server.connections_accepted == 2
    assert stats.idle_connections_discarded == 1
    assert [r.answered for r in server.requests] == [True, True]


def test_transient_statuses_are_retried_only_when_asked(no_sleep: list[float]) -> None:
    statuses = {"/busy": [503, 503], "/off": [503]}
    policy = RetryPolicy(retry_transient=True, sleep=no_sleep.append)
    with LocalServer(statuses=statuses) as server:
        with QueuePool(size=1, retry=policy) as pool:
            assert pool.get(server.url + "/busy").status_code == 200
            stats = pool.stats()
        with QueuePool(size=1) as default_pool:
            assert default_pool.get(server.url + "/off").status_code == 503
    assert server.count("GET", "/busy") == 3
    assert server.count("GET", "/off") == 1
    assert stats.transient_retries == 2
    assert no_sleep == []  # the server's Retry-After: 0, honoured: no wait, so no sleep call


def test_transient_retries_give_the_last_response_when_they_run_out(no_sleep: list[float]) -> None:
    policy = RetryPolicy(retry_transient=True, transient_attempts=2, sleep=no_sleep.append)
    with LocalServer(statuses={"/down": [502] * 10}) as server, QueuePool(size=1, retry=policy) as pool:
        response = pool.get(server.url + "/down")
    assert response.status_code == 502
    assert server.count("GET", "/down") == 3
    assert len(no_sleep) == 2
    assert 0 < no_sleep[0] <= policy.backoff_initial + policy.backoff_jitter  # no Retry-After on 502: backoff


def test_a_post_answered_503_is_not_retried(no_sleep: list[float]) -> None:
    policy = RetryPolicy(retry_transient=True, sleep=no_sleep.append)
    with LocalServer(statuses={"/pay": [503]}) as server, QueuePool(size=1, retry=policy) as pool:
        assert pool.post(server.url + "/pay", data=b"1").status_code == 503
        assert pool.stats().unsafe_not_retried == 1
    assert server.count("POST", "/pay") == 1
    assert no_sleep == []


def test_retry_after_is_capped(no_sleep: list[float]) -> None:
    policy = RetryPolicy(retry_transient=True, retry_after_max=1.5, sleep=no_sleep.append)
    with LocalServer(statuses={"/slow": [503]}, retry_after="120") as server, QueuePool(size=1, retry=policy) as pool:
        response = pool.get(server.url + "/slow")
    assert response.status_code == 200
    assert no_sleep == [1.5]


def test_connect_failures_are_retried_with_backoff_when_asked(no_sleep: list[float]) -> None:
    with LocalServer() as stopped:
        url = stopped.url + "/"
    policy = RetryPolicy(
        retry_transient=True, transient_attempts=3, backoff_initial=0.1, backoff_jitter=0, sleep=no_sleep.append
    )
    with QueuePool(size=1, retry=policy) as pool:
        with pytest.raises(requests.ConnectionError):
            pool.get(url)
        stats = pool.stats()
    assert stats.transient_retries == 3
    assert stats.requests == 4
    # Nothing reached the server: the first retry goes at once (no sleep call),
    # later ones back off exponentially from backoff_initial (no jitter asked for).
    assert no_sleep == pytest.approx([0.1, 0.2])


def test_a_request_that_succeeds_first_time_never_builds_a_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("tenacity was used on the success path")

    monkeypatch.setattr(sessionpool._retry, "Retrying", forbidden)
    with LocalServer() as server, ThreadLocalPool(retry=RetryPolicy(retry_transient=True)) as pool:
        for _ in range(20):
            assert pool.get(server.url + "/").content == b"ok"
        assert pool.post(server.url + "/", data=b"x").content == b"ok"


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_failure() -> None:
    # The server closes each connection after 0.2 s of quiet; the client
    # pauses longer. urllib3 notices the close before reusing the connection,
    # so nothing fails even with retries off: only the race needs them.
    fault = Faults(after=1, on="idle", idle_delay=0.2, how="fin")
    pool = QueuePool(size=1, keepalive_expiry=None, retry=RetryPolicy.disabled())
    with LocalServer(faults=fault) as server, pool:
        assert pool.get(server.url + "/before").content == b"ok"
        threading.Event().wait(0.5)
        assert pool.get(server.url + "/after").content == b"ok"
        stats = pool.stats()
    assert stats.connections_opened == server.connections_accepted == 2
    assert [r.answered for r in server.requests] == [True, True]


def test_the_final_outcome_says_how_many_times_the_request_was_sent(no_sleep: list[float]) -> None:
    policy = RetryPolicy(retry_transient=True, sleep=no_sleep.append)
    with LocalServer(statuses={"/busy": [503, 503]}) as server, QueuePool(size=1, retry=policy) as pool:
        assert attempts(pool.get(server.url + "/busy")) == 3
        assert attempts(pool.get(server.url + "/fine")) == 1
    errors = [_stale_error(n) for n in range(3)]
    followers = iter(errors[1:])

    def send_once() -> requests.Response:
        raise next(followers)

    request = requests.Request("GET", "http://127.0.0.1:9/").prepare()
    with pytest.raises(requests.ConnectionError) as raised:
        retry(RetryPolicy(stale_attempts=2), request, send_once, errors[0], StatsRecorder(), EventDispatcher())
    assert attempts(raised.value) == 3


class _LateServer(LocalServer):
    """The test server, bound but not listening until :meth:`listen`: until then a connection is refused."""

    def __enter__(self) -> _LateServer:
        return self  # not started

    def listen(self) -> None:
        """Start accepting connections, and answering them."""
        self.start()

    @property
    def received(self) -> list[tuple[str, str, bytes]]:
        """Each request as (method, path, body)."""
        return [(r.method, r.path, r.body) for r in self.requests]


class _RetryRecorder(PoolListener):
    def __init__(self) -> None:
        self.retries: list[tuple[str, int]] = []

    def request_retried(self, request: requests.PreparedRequest, reason: str, attempt: int) -> None:
        self.retries.append((reason, attempt))


def test_a_refused_post_is_retried_and_arrives_once() -> None:
    waits: list[float] = []
    with _LateServer() as late:

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            late.listen()  # the server comes up during the first real wait

        policy = RetryPolicy(retry_transient=True, backoff_initial=0.1, backoff_jitter=0, sleep=sleep)
        with QueuePool(size=1, retry=policy) as pool:
            listener = _RetryRecorder()
            pool.add_listener(listener)
            response = pool.post(late.url + "/orders", data=b"one order")
            stats = pool.stats()
    assert response.content == b"ok"
    assert late.received == [("POST", "/orders", b"one order")]  # nothing was sent by the refused attempts
    # Refused, refused again at once (no wait: nothing reached the server), then sent after one backoff.
    assert attempts(response) == 3
    assert waits == [0.1]
    assert (stats.transient_retries, stats.unsafe_not_retried, stats.requests) == (2, 0, 3)
    assert listener.retries == [("transient", 2), ("transient", 3)]


def test_a_refused_post_is_not_retried_without_retry_transient(no_sleep: list[float]) -> None:
    with _LateServer() as late, QueuePool(size=1, retry=RetryPolicy(sleep=no_sleep.append)) as pool:
        with pytest.raises(requests.ConnectionError) as raised:
            pool.post(late.url + "/orders", data=b"one order")
        stats = pool.stats()
    assert attempts(raised.value) == 1
    assert (stats.requests, stats.transient_retries, stats.unsafe_not_retried) == (1, 0, 0)
    assert no_sleep == []


def test_a_refused_post_with_a_generator_body_is_not_retried(
    no_sleep: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    policy = RetryPolicy(retry_transient=True, sleep=no_sleep.append)
    with _LateServer() as late, QueuePool(size=1, retry=policy) as pool:
        with caplog.at_level(logging.DEBUG, logger="sessionpool"), pytest.raises(requests.ConnectionError) as raised:
            pool.post(late.url + "/upload", data=_generated_body())
        stats = pool.stats()
    assert attempts(raised.value) == 1
    assert (stats.requests, stats.transient_retries, stats.unsafe_not_retried) == (1, 0, 1)
    assert "stream that cannot be sent again" in caplog.text
    assert no_sleep == []


def test_read_timeouts_are_retried_read_attempts_times_then_raised(silent_server: str, no_sleep: list[float]) -> None:
    policy = RetryPolicy(retry_read=True, read_attempts=2, backoff_initial=0.1, backoff_jitter=0, sleep=no_sleep.append)
    with QueuePool(size=1, timeout=(5, 0.1), retry=policy) as pool:
        listener = _RetryRecorder()
        pool.add_listener(listener)
        with pytest.raises(requests.ReadTimeout) as raised:
            pool.get(silent_server + "/report")
        stats = pool.stats()
    assert attempts(raised.value) == 3
    assert (stats.read_retries, stats.transient_retries, stats.stale_retries) == (2, 0, 0)
    assert stats.requests == stats.connections_opened == 3  # a timed-out connection is not reused
    assert no_sleep == pytest.approx([0.1, 0.2])  # every read retry waits, growing
    assert listener.retries == [("read", 2), ("read", 3)]


def test_a_post_is_not_retried_after_a_read_timeout(silent_server: str, no_sleep: list[float]) -> None:
    policy = RetryPolicy(retry_read=True, sleep=no_sleep.append)
    with QueuePool(size=1, timeout=(5, 0.1), retry=policy) as pool:
        with pytest.raises(requests.ReadTimeout) as raised:
            pool.post(silent_server + "/orders", data=b"one order")
        stats = pool.stats()
    assert attempts(raised.value) == 1
    assert (stats.requests, stats.read_retries, stats.unsafe_not_retried) == (1, 0, 1)
    assert no_sleep == []


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_a_get_whose_fresh_connection_breaks_unanswered_is_retried_as_a_read_error(how: str) -> None:
    waits: list[float] = []
    server = LocalServer(faults=Faults(after=0, on="request", how=how))  # type: ignore[arg-type]

    def recover(seconds: float) -> None:
        waits.append(seconds)
        server.faults = None  # the server answers the connections made from now on

    policy = RetryPolicy(retry_read=True, backoff_initial=0.1, backoff_jitter=0, sleep=recover)
    with server, QueuePool(size=1, retry=policy) as pool:
        response = pool.get(server.url + "/report")
        stats = pool.stats()
    assert response.content == b"ok"
    assert [(r.path, r.connection, r.answered) for r in server.requests] == [
        ("/report", 1, False),
        ("/report", 2, True),
    ]
    assert (stats.read_retries, stats.stale_retries) == (1, 0)
    assert attempts(response) == 2
    assert waits == [0.1]


def test_raise_on_status_raises_a_retry_error_holding_the_last_response(no_sleep: list[float]) -> None:
    policy = RetryPolicy(retry_transient=True, transient_attempts=2, raise_on_status=True, sleep=no_sleep.append)
    with LocalServer(statuses={"/down": [503] * 3}) as server, QueuePool(size=1, retry=policy) as pool:
        with pytest.raises(requests.exceptions.RetryError) as raised:
            pool.get(server.url + "/down")
        assert pool.get(server.url + "/after").status_code == 200
        stats = pool.stats()
    error = raised.value
    assert error.response is not None
    assert error.response.status_code == 503
    assert error.response.content == b"ok"
    assert error.request is not None
    assert error.request.url == server.url + "/down"
    assert "503" in str(error)
    assert attempts(error) == 3
    assert server.count("GET", "/down") == 3
    # The last 503 was read, so its connection went back to the pool and served the next request.
    assert stats.connections_opened == server.connections_accepted == 1


def test_a_stale_retry_calls_no_sleep(no_sleep: list[float]) -> None:
    policy = RetryPolicy(sleep=no_sleep.append)
    with LocalServer(faults=CLOSE_ON_REUSE) as server, QueuePool(size=1, retry=policy) as pool:
        pool.get(server.url + "/warm-up")
        assert pool.get(server.url + "/again").content == b"ok"
        stats = pool.stats()
    assert stats.stale_retries == 1
    assert no_sleep == []


# -- one pure judgement for every tenacity callback ----------------------------


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


def test_the_callbacks_answer_the_same_in_any_order_and_any_number_of_times() -> None:
    # Each callback judges the state it is given; none depends on another
    # having run before it, so tenacity's call order cannot change an answer.
    from tenacity import Future, RetryCallState

    request = requests.Request("GET", "http://127.0.0.1:9/").prepare()
    policy = RetryPolicy(retry_transient=True, backoff_jitter=0.0, backoff_initial=1.0)
    retries = sessionpool._retry._Retries(
        policy, request, lambda: _response(200), _response(503), StatsRecorder(), EventDispatcher()
    )
    retries.history = ["transient", "transient"]  # one retry made, its outcome in hand
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    future = Future(attempt_number=2)
    future.set_result(_response(503))
    state.outcome = future
    answers = []
    for order in (("retry", "stop", "wait"), ("wait", "stop", "retry"), ("stop", "wait", "retry")):
        calls = {"retry": retries._retry, "stop": retries._stop, "wait": retries._wait}
        answers.append({name: calls[name](state) for name in order})
    assert answers[0] == answers[1] == answers[2] == {"retry": True, "stop": False, "wait": 2.0}


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("\xb2", None),  # SUPERSCRIPT TWO passes str.isdigit
        ("\u0661", None),  # ARABIC-INDIC DIGIT ONE
        ("9" * 11, None),  # longer than any pause means anything
        ("-5", None),
        ("1.5", None),
        ("", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: go now
        ("Mon, 99 Foo 2024 99:99:99 GMT", None),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None),  # past what a timestamp holds on some systems: either no answer
    ],
)
def test_parse_retry_after_reads_only_what_it_can(value: str, seconds: float | None) -> None:
    parsed = parse_retry_after(value, now=1_700_000_000.0)
    if value.startswith("Fri, 31 Dec 9999"):
        assert parsed is None or parsed > 0
    else:
        assert parsed == seconds


@given(st.text(max_size=64))
def test_parse_retry_after_never_raises(value: str) -> None:
    parsed = parse_retry_after(value, now=1_700_000_000.0)
    assert parsed is None or (parsed >= 0 and math.isfinite(parsed))
