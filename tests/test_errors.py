"""The error hierarchy: place under requests' exceptions, and pickling with context."""

from __future__ import annotations

import pickle
import threading

import pytest
import requests
from requests.exceptions import RequestException

import sessionpool._errors
from sessionpool import LeaseError, PoolClosed, PoolError, PoolTimeout, QueuePool


def test_pool_error_is_a_request_exception() -> None:
    assert issubclass(PoolError, RequestException)


@pytest.mark.parametrize("error", [PoolTimeout, PoolClosed, LeaseError])
def test_subclasses_of_pool_error(error: type[PoolError]) -> None:
    assert issubclass(error, PoolError)


@pytest.mark.parametrize("error", [PoolError("e"), PoolTimeout("t"), PoolClosed("c"), LeaseError("l")])
def test_caught_by_except_request_exception(error: PoolError) -> None:
    caught: BaseException | None = None
    try:
        raise error
    except requests.RequestException as exc:
        caught = exc
    assert caught is error


def test_pool_timeout_is_a_requests_timeout() -> None:
    assert issubclass(PoolTimeout, requests.Timeout)
    assert not issubclass(PoolClosed, requests.Timeout)
    assert isinstance(pickle.loads(pickle.dumps(PoolTimeout("t", waited=0.5))), requests.Timeout)


def test_except_requests_timeout_catches_a_real_pool_timeout() -> None:
    held, release = threading.Event(), threading.Event()
    pool = QueuePool(size=1, checkout_timeout=0)

    def hold() -> None:
        with pool.session():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    caught: BaseException | None = None
    with pool:
        holder.start()
        try:
            assert held.wait(10)
            try:
                pool.get("http://127.0.0.1:9/never-sent")
            except requests.Timeout as error:  # what callers of requests already write
                caught = error
        finally:
            release.set()
            holder.join(10)
    assert isinstance(caught, PoolTimeout)
    assert caught.checkout_timeout == 0.0


ERRORS: list[tuple[PoolError, dict[str, object]]] = [
    (PoolError("the pool broke", pool="<QueuePool size=2>"), {"pool": "<QueuePool size=2>"}),
    (PoolClosed("the pool is closed", pool="<ThreadLocalPool closed>"), {"pool": "<ThreadLocalPool closed>"}),
    (LeaseError("used after its block", pool="<QueuePool size=1>"), {"pool": "<QueuePool size=1>"}),
    (
        PoolTimeout("no session after 1.5 s", pool="<QueuePool size=1>", waited=1.5, checkout_timeout=1.25),
        {"pool": "<QueuePool size=1>", "waited": 1.5, "checkout_timeout": 1.25},
    ),
]


@pytest.mark.parametrize(("error", "context"), ERRORS)
def test_context_attributes(error: PoolError, context: dict[str, object]) -> None:
    for name, value in context.items():
        assert getattr(error, name) == value


@pytest.mark.parametrize(("error", "context"), ERRORS)
def test_pickle_round_trip(error: PoolError, context: dict[str, object]) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    for name, value in context.items():
        assert getattr(copy, name) == value


def test_defaults_of_context_attributes() -> None:
    error = PoolTimeout("t")
    assert error.pool == ""
    assert error.waited == 0.0
    assert error.checkout_timeout == 0.0


def test_module_docstring_draws_the_tree() -> None:
    doc = sessionpool._errors.__doc__
    assert doc is not None
    for name in ("RequestException", "PoolError", "PoolTimeout", "PoolClosed"):
        assert name in doc
