"""The retry rules on their own: which failures are stale connections, and which requests may be sent twice."""

from __future__ import annotations

import http.client
import io
import socket
import ssl
from collections.abc import Callable, Iterator

import pytest
import requests
import urllib3.exceptions
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError, ProtocolError

from sessionpool._classify import (
    Verdict,
    body_refusal,
    is_connect_failure,
    is_connection_loss,
    is_read_error,
    is_stale_connection_failure,
    judge,
    mark_reused_connection_failure,
    retry_refusal,
    root_cause,
)
from sessionpool._policy import RetryPolicy

URL = "http://127.0.0.1:9/resource"
DEFAULT = RetryPolicy()


def _aborted(cause: BaseException) -> requests.ConnectionError:
    """``cause`` wrapped as requests raises a connection lost under a request."""
    return requests.ConnectionError(ProtocolError("Connection aborted.", cause))


def _ssl_chain(cause: BaseException) -> requests.exceptions.SSLError:
    """``cause`` wrapped as requests raises a TLS failure."""
    return requests.exceptions.SSLError(
        MaxRetryError(pool=None, url="/", reason=urllib3.exceptions.SSLError(cause))  # type: ignore[arg-type]
    )


def _refused(cause: BaseException) -> requests.ConnectionError:
    return requests.ConnectionError(MaxRetryError(None, "/", reason=cause))  # type: ignore[arg-type]


def _new_connection_error(message: str) -> NewConnectionError:
    return NewConnectionError(None, message)  # type: ignore[arg-type]


def _marked(error: BaseException) -> BaseException:
    mark_reused_connection_failure(error)
    return error


def _request(method: str, **kwargs: object) -> requests.PreparedRequest:
    return requests.Request(method, URL, **kwargs).prepare()  # type: ignore[arg-type]


def _generated() -> Iterator[bytes]:
    yield b"part"


@pytest.mark.parametrize(
    ("wrap", "cause"),
    [
        (_aborted, http.client.RemoteDisconnected("x")),
        (_ssl_chain, ssl.SSLEOFError(8, "eof")),
        (_refused, _new_connection_error("refused")),
    ],
    ids=["connection-aborted", "ssl-chain", "refused"],
)
def test_root_cause_unwraps_what_requests_and_urllib3_wrap(
    wrap: Callable[[BaseException], BaseException], cause: BaseException
) -> None:
    assert root_cause(wrap(cause)) is cause


@pytest.mark.parametrize(
    "error",
    [ValueError("plain"), requests.ConnectionError("just a message"), requests.ConnectionError()],
    ids=["plain", "string-arg", "no-args"],
)
def test_root_cause_of_an_unwrapped_error_is_the_error(error: BaseException) -> None:
    assert root_cause(error) is error


def test_root_cause_stops_on_a_cycle() -> None:
    error = requests.ConnectionError()
    error.args = (error,)
    assert root_cause(error) is error


LOSSES: list[Callable[[], BaseException]] = [
    ConnectionResetError,
    lambda: http.client.RemoteDisconnected("closed"),
    BrokenPipeError,
    ConnectionAbortedError,
    lambda: ssl.SSLEOFError(8, "eof"),
    lambda: ssl.SSLZeroReturnError(6, "zero return"),
]
LOSS_IDS = ["reset", "remote-disconnected", "broken-pipe", "aborted", "ssl-eof", "ssl-zero-return"]


@pytest.mark.parametrize("make", LOSSES, ids=LOSS_IDS)
def test_connection_losses(make: Callable[[], BaseException]) -> None:
    assert is_connection_loss(make()) is True


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError(),  # socket.timeout is an alias of it since Python 3.10
        http.client.IncompleteRead(b""),
        http.client.BadStatusLine("x"),
        ValueError("x"),
        OSError(5, "io"),
        ssl.SSLError(1, "handshake"),
    ],
    ids=["timeout", "incomplete-read", "bad-status-line", "value-error", "oserror-eio", "ssl-error"],
)
def test_not_connection_losses(error: BaseException) -> None:
    assert is_connection_loss(error) is False


@pytest.mark.parametrize("make", LOSSES, ids=LOSS_IDS)
def test_a_marked_connection_loss_is_stale(make: Callable[[], BaseException]) -> None:
    assert is_stale_connection_failure(_aborted(_marked(make()))) is True
    assert is_stale_connection_failure(_marked(make())) is True  # unwrapped too


@pytest.mark.parametrize("make", LOSSES, ids=LOSS_IDS)
def test_an_unmarked_connection_loss_is_a_fresh_connection_failure(make: Callable[[], BaseException]) -> None:
    assert is_stale_connection_failure(_aborted(make())) is False


READ_TIMEOUT_ERROR = urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out.")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "stale"),
    [
        pytest.param(_ssl_chain(_marked(ssl.SSLEOFError(8, "eof"))), True, id="marked-ssl-chain"),
        pytest.param(_ssl_chain(ssl.SSLEOFError(8, "eof")), False, id="unmarked-ssl-chain"),
        pytest.param(_aborted(_marked(TimeoutError())), False, id="marked-timeout"),
        pytest.param(_marked(TimeoutError()), False, id="marked-bare-timeout"),
        pytest.param(_aborted(_marked(http.client.IncompleteRead(b""))), False, id="marked-incomplete-read"),
        pytest.param(_aborted(_marked(http.client.BadStatusLine("x"))), False, id="marked-bad-status-line"),
        pytest.param(requests.ReadTimeout(_marked(READ_TIMEOUT_ERROR)), False, id="marked-read-timeout"),
        pytest.param(requests.ReadTimeout("Read timed out."), False, id="read-timeout"),
        pytest.param(
            requests.ConnectionError(_marked(ProtocolError("Connection aborted.", ConnectionResetError()))),
            False,
            id="mark-on-a-wrapper",
        ),
    ],
)
def test_only_a_marked_connection_loss_is_stale(error: BaseException, stale: bool) -> None:
    assert is_stale_connection_failure(error) is stale


@pytest.mark.parametrize(
    ("error", "connect"),
    [
        pytest.param(requests.ConnectTimeout("connect timed out"), True, id="connect-timeout"),
        pytest.param(_refused(_new_connection_error("refused")), True, id="refused"),
        pytest.param(
            _refused(NameResolutionError("nowhere.invalid", None, socket.gaierror(-2, "Name or service not known"))),  # type: ignore[arg-type]
            True,
            id="name-not-resolved",
        ),
        pytest.param(_aborted(_marked(http.client.RemoteDisconnected("x"))), False, id="stale"),
        pytest.param(requests.ReadTimeout("Read timed out."), False, id="read-timeout"),
        pytest.param(requests.ConnectionError("no cause"), False, id="bare-connection-error"),
        pytest.param(_new_connection_error("not wrapped"), False, id="bare-new-connection-error"),
    ],
)
def test_is_connect_failure(error: BaseException, connect: bool) -> None:
    assert is_connect_failure(error) is connect


@pytest.mark.parametrize(
    ("error", "read"),
    [
        pytest.param(requests.ReadTimeout("Read timed out."), True, id="read-timeout"),
        pytest.param(requests.ReadTimeout(READ_TIMEOUT_ERROR), True, id="wrapped-read-timeout"),
        pytest.param(_aborted(http.client.RemoteDisconnected("x")), True, id="fresh-remote-disconnected"),
        pytest.param(_aborted(ConnectionResetError(104, "reset")), True, id="fresh-reset"),
        pytest.param(_aborted(http.client.BadStatusLine("x")), True, id="bad-status-line"),
        pytest.param(_aborted(_marked(http.client.RemoteDisconnected("x"))), False, id="stale"),
        pytest.param(_aborted(_marked(ConnectionResetError())), False, id="stale-reset"),
        pytest.param(_refused(_new_connection_error("refused")), False, id="refused"),
        pytest.param(requests.ConnectTimeout("connect timed out"), False, id="connect-timeout"),
        pytest.param(_ssl_chain(ssl.SSLEOFError(8, "eof")), False, id="tls-failure"),
        pytest.param(requests.ConnectionError("no cause"), False, id="bare-connection-error"),
        pytest.param(
            ProtocolError("Connection aborted.", ConnectionResetError()), False, id="unwrapped-protocol-error"
        ),
        pytest.param(
            requests.exceptions.ChunkedEncodingError(ProtocolError("Connection broken.", ConnectionResetError())),
            False,
            id="body-read-failure",
        ),
        pytest.param(ValueError("x"), False, id="plain"),
    ],
)
def test_is_read_error(error: BaseException, read: bool) -> None:
    assert is_read_error(error) is read


def test_the_body_alone_decides_after_a_connect_failure() -> None:
    assert body_refusal(_request("POST", data=b"x")) is None
    assert body_refusal(_request("PATCH", json={"a": 1})) is None
    refusal = body_refusal(_request("POST", data=_generated()))
    assert isinstance(refusal, str)
    assert "stream" in refusal
    assert isinstance(retry_refusal(_request("POST", data=b"x"), DEFAULT), str)  # the method still counts there


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"])
def test_idempotent_methods_without_a_body_may_be_sent_again(method: str) -> None:
    assert retry_refusal(_request(method), DEFAULT) is None


@pytest.mark.parametrize(
    "body",
    [
        {"data": b"bytes"},
        {"data": bytearray(b"bytes")},
        {"data": memoryview(b"bytes")},
        {"data": "text"},
        {"data": {"a": "b"}},
        {"json": {"a": 1}},
        {"data": io.BytesIO(b"file")},
    ],
    ids=["bytes", "bytearray", "memoryview", "str", "form", "json", "bytesio"],
)
def test_a_put_with_a_retryable_body_may_be_sent_again(body: dict[str, object]) -> None:
    request = _request("PUT", **body)
    assert retry_refusal(request, DEFAULT) is None
    if isinstance(body.get("data"), io.BytesIO):
        assert request._body_position == 0  # what makes the file retryable: requests noted where it starts


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_unsafe_methods_are_refused(method: str) -> None:
    refusal = retry_refusal(_request(method, data=b"x"), DEFAULT)
    assert isinstance(refusal, str)
    assert "Idempotency-Key" in refusal


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Idempotency-Key", "idempotency-key", "X-IDEMPOTENCY-KEY"])
def test_an_idempotency_key_makes_a_post_safe(header: str) -> None:
    assert retry_refusal(_request("POST", data=b"x", headers={header: "order-17"}), DEFAULT) is None


class _Untellable(io.BytesIO):
    """A file whose position cannot be read: requests cannot note where its body starts."""

    def tell(self) -> int:
        raise OSError("not seekable")


@pytest.mark.parametrize(
    ("method", "make_body", "headers"),
    [
        pytest.param("PUT", _generated, {}, id="put-generator"),
        pytest.param("POST", _generated, {"Idempotency-Key": "order-17"}, id="post-with-key-generator"),
        pytest.param("PUT", lambda: _Untellable(b"file"), {}, id="put-untellable-file"),
    ],
)
def test_a_body_that_cannot_be_sent_again_is_refused(
    method: str, make_body: Callable[[], object], headers: dict[str, str]
) -> None:
    refusal = retry_refusal(_request(method, data=make_body(), headers=headers), DEFAULT)
    assert isinstance(refusal, str)
    assert "stream" in refusal


def test_the_policy_can_allow_post() -> None:
    policy = RetryPolicy(retry_methods={"GET", "POST"})
    assert retry_refusal(_request("POST", data=b"x"), policy) is None
    assert isinstance(retry_refusal(_request("PUT"), policy), str)  # the set replaces the default


@pytest.mark.parametrize("method", ["get", "Get", "delete"])
def test_method_matching_ignores_case(method: str) -> None:
    assert retry_refusal(_request(method), DEFAULT) is None
    assert retry_refusal(_request(method), RetryPolicy(retry_methods={method})) is None
    request = _request("GET")
    request.method = method  # requests upper-cases in prepare(); the rule must not rely on it
    assert retry_refusal(request, DEFAULT) is None
    request.method = "post"
    assert isinstance(retry_refusal(request, DEFAULT), str)


def _response(status: int) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    return response


def test_judge_names_the_reason_and_the_refusal_of_each_outcome() -> None:
    policy = RetryPolicy(retry_transient=True, retry_read=True)
    get, post = _request("GET"), _request("POST", data=b"x")
    stale = _marked(http.client.RemoteDisconnected("closed"))
    assert judge(policy, get, _aborted(stale)) == Verdict("stale", None, nothing_sent=False)
    assert judge(policy, get, _response(503)).reason == "transient"
    assert judge(policy, get, _response(200)).reason is None
    assert judge(policy, get, requests.ReadTimeout("slow")).reason == "read"
    # A connect failure sent nothing: a POST may go again; a stale POST may not.
    connect = judge(policy, post, requests.ConnectTimeout("no connection within the connect timeout"))
    assert connect.retryable
    assert connect.nothing_sent
    stale_post = judge(policy, post, _aborted(stale))
    assert stale_post.reason == "stale"
    assert not stale_post.retryable
    assert "POST" in str(stale_post.refusal)
    # What the policy leaves off has no reason at all.
    assert judge(RetryPolicy.disabled(), get, _aborted(stale)).reason is None
