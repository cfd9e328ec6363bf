"""RetryPolicy: defaults, normalisation of retry_methods, validation, immutability."""

from __future__ import annotations

import dataclasses
import re

import pytest

from sessionpool import RetryPolicy
from sessionpool._policy import DEFAULT_READ_ATTEMPTS, DEFAULT_RETRY_METHODS, DEFAULT_STALE_ATTEMPTS


def test_defaults() -> None:
    policy = RetryPolicy()
    assert policy.retry_stale is True
    assert policy.stale_attempts == DEFAULT_STALE_ATTEMPTS
    assert policy.retry_methods == DEFAULT_RETRY_METHODS


def test_default_retry_methods_are_the_idempotent_ones() -> None:
    assert frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) == DEFAULT_RETRY_METHODS
    assert "POST" not in DEFAULT_RETRY_METHODS
    assert "PATCH" not in DEFAULT_RETRY_METHODS


def test_retry_methods_are_upper_cased_into_a_frozenset() -> None:
    policy = RetryPolicy(retry_methods=["get", "post", "Put", "get"])
    assert isinstance(policy.retry_methods, frozenset)
    assert policy.retry_methods == frozenset({"GET", "POST", "PUT"})


def test_transient_retries_are_off_by_default() -> None:
    policy = RetryPolicy()
    assert policy.retry_transient is False
    assert policy.transient_statuses == frozenset({429, 502, 503, 504})
    assert policy.active  # stale retries are on


def test_read_retries_and_raise_on_status_are_off_by_default() -> None:
    policy = RetryPolicy()
    assert policy.retry_read is False
    assert policy.read_attempts == DEFAULT_READ_ATTEMPTS == 2
    assert policy.raise_on_status is False


def test_read_retries_alone_make_a_policy_active() -> None:
    only_read = RetryPolicy(retry_stale=False, retry_read=True)
    assert only_read.active
    assert not RetryPolicy(retry_stale=False, retry_read=True, read_attempts=0).active
    assert not RetryPolicy(retry_stale=False, read_attempts=5).active  # a budget alone turns nothing on


def test_disabled_never_sends_again() -> None:
    policy = RetryPolicy.disabled()
    assert not policy.retry_stale
    assert not policy.retry_transient
    assert not policy.retry_read
    assert not policy.active
    assert not RetryPolicy(stale_attempts=0).active
    assert RetryPolicy(retry_stale=False, retry_transient=True).active


def test_backoff_max_must_not_be_below_backoff_initial() -> None:
    with pytest.raises(ValueError, match=r"RetryPolicy\.backoff_max"):
        RetryPolicy(backoff_initial=5, backoff_max=1)


def test_zero_stale_attempts_is_allowed() -> None:
    assert RetryPolicy(stale_attempts=0).stale_attempts == 0


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("retry_stale", "yes", TypeError),
        ("stale_attempts", -1, ValueError),
        ("stale_attempts", 1.5, TypeError),
        ("stale_attempts", True, TypeError),
        ("retry_methods", "GET", TypeError),
        ("retry_methods", 5, TypeError),
        ("retry_methods", ["GET", 3], TypeError),
        ("retry_methods", ["GE T"], ValueError),
        ("retry_transient", 1, TypeError),
        ("transient_attempts", -1, ValueError),
        ("transient_statuses", 503, TypeError),
        ("transient_statuses", ["503"], TypeError),
        ("transient_statuses", [200], ValueError),
        ("transient_statuses", [600], ValueError),
        ("raise_on_status", "no", TypeError),
        ("raise_on_status", 0, TypeError),
        ("retry_read", 1, TypeError),
        ("read_attempts", -1, ValueError),
        ("read_attempts", 2.0, TypeError),
        ("read_attempts", False, TypeError),
        ("backoff_initial", -0.1, ValueError),
        ("backoff_max", float("inf"), ValueError),
        ("backoff_jitter", "1", TypeError),
        ("retry_after_max", -1, ValueError),
        ("sleep", 0.5, TypeError),
    ],
)
def test_rejects_bad_values(field: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=re.escape(f"RetryPolicy.{field}")) as info:
        RetryPolicy(**{field: value})  # type: ignore[arg-type]
    other = TypeError if error is ValueError else ValueError
    assert not isinstance(info.value, other)


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("retry_read", "yes", "must be True or False"),
        ("raise_on_status", None, "must be True or False"),
        ("read_attempts", -1, "must be an int >= 0"),
        ("read_attempts", "2", "must be an int >= 0"),
    ],
)
def test_new_fields_name_the_allowed_values(field: str, value: object, allowed: str) -> None:
    with pytest.raises((TypeError, ValueError), match=re.escape(f"RetryPolicy.{field} {allowed}")):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


def test_frozen() -> None:
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.retry_stale = False  # type: ignore[misc]


def test_keyword_only() -> None:
    with pytest.raises(TypeError):
        RetryPolicy(False)  # type: ignore[call-arg]
