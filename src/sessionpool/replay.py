"""Sending a failed request again, as a :class:`~sessionpool.RetryPolicy` allows.

The adapter sends every request once, itself. Only when that first attempt
fails (or is answered with a transient status) does it hand the outcome to
:func:`replay`, which builds a tenacity :class:`~tenacity.Retrying` for just
that request: a request that succeeds the first time never pays for tenacity.

The loop, per outcome:

1. classify it (:mod:`sessionpool.classify`): a stale connection, a
   transient failure, or neither; neither ends the loop with the outcome;
2. refuse it if the request is not safe to send twice: the outcome goes to
   the caller unchanged, after a DEBUG line saying why;
3. stop when that reason's budget is spent: the last error is raised
   unchanged, or the last response returned;
4. wait: not at all for a stale connection (the server did nothing wrong),
   else an exponential backoff with jitter, or the server's ``Retry-After``;
5. rewind the body, release the failed response, and send again.
"""

from __future__ import annotations

import contextlib
import email.utils
import inspect
import logging
import time
from collections.abc import Callable

import requests
from requests.utils import rewind_body
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    wait_exponential_jitter,
)

from sessionpool.classify import is_connect_failure, is_stale_connection_failure, replay_refusal
from sessionpool.retry import RetryPolicy
from sessionpool.stats import StatsRecorder

__all__ = ["STALE", "TRANSIENT", "attempts", "replay"]

log = logging.getLogger("sessionpool")

STALE = "stale"
TRANSIENT = "transient"

SendOnce = Callable[[], requests.Response]

#: The attribute a replayed request's final response (or final error) carries:
#: how many times the request was sent.
_ATTEMPTS = "sessionpool_attempts"


def attempts(outcome: requests.Response | BaseException) -> int:
    """How many times the request behind ``outcome`` (a response or an error) was sent."""
    count = getattr(outcome, _ATTEMPTS, 1)
    return count if isinstance(count, int) else 1


def replay(
    policy: RetryPolicy,
    request: requests.PreparedRequest,
    send_once: SendOnce,
    first: requests.Response | BaseException,
    stats: StatsRecorder,
) -> requests.Response:
    """Go on from the first attempt's outcome ``first``; return the final response or raise the final error."""
    return _Replay(policy, request, send_once, first, stats).run()


class _Replay:
    """The replays of one request (made only after its first attempt failed)."""

    def __init__(
        self,
        policy: RetryPolicy,
        request: requests.PreparedRequest,
        send_once: SendOnce,
        first: requests.Response | BaseException,
        stats: StatsRecorder,
    ) -> None:
        self.policy = policy
        self.request = request
        self.send_once = send_once
        self.first: requests.Response | BaseException | None = first
        self.stats = stats
        self.sent = 1  # the adapter's own attempt
        self.used = {STALE: 0, TRANSIENT: 0}
        self.reason: str | None = None  # why the last outcome is to be sent again
        # Each reason has its own budget; this cap only bounds the loop as a whole.
        self.cap = stop_after_attempt(1 + policy.stale_attempts + policy.transient_attempts)
        self.backoff = _exponential_jitter(policy)

    def run(self) -> requests.Response:
        retrying = Retrying(
            retry=retry_if_exception(self._error_is_replayable) | retry_if_result(self._response_is_transient),
            stop=self._stop,
            wait=self._wait,
            sleep=self.policy.sleep,
            before_sleep=self._before_sleep,
            # When the budget is spent, the caller gets the last outcome as it was.
            retry_error_callback=lambda state: state.outcome.result() if state.outcome is not None else None,
            reraise=True,
        )
        try:
            response: requests.Response = retrying(self._attempt)
        except BaseException as error:
            setattr(error, _ATTEMPTS, self.sent)
            raise
        setattr(response, _ATTEMPTS, self.sent)
        return response

    def _attempt(self) -> requests.Response:
        first, self.first = self.first, None
        if first is None:
            self.sent += 1
            return self.send_once()
        if isinstance(first, BaseException):
            raise first  # the outcome of the attempt the adapter already made
        return first

    def _error_is_replayable(self, error: BaseException) -> bool:
        if self.policy.replay_stale and is_stale_connection_failure(error):
            return self._allowed(STALE, error)
        if self.policy.retry_transient and is_connect_failure(error):
            return self._allowed(TRANSIENT, error)
        self.reason = None
        return False

    def _response_is_transient(self, response: requests.Response) -> bool:
        if self.policy.retry_transient and response.status_code in self.policy.transient_statuses:
            return self._allowed(TRANSIENT, response)
        self.reason = None
        return False

    def _allowed(self, reason: str, outcome: object) -> bool:
        refusal = replay_refusal(self.request, self.policy)
        if refusal is not None:
            method, url = self.request.method, self.request.url
            log.debug("not sending %s %s again after %s: %s", method, url, _describe(outcome), refusal)
            self.stats.not_replayed_unsafe()
            self.reason = None
            return False
        self.reason = reason
        return True

    def _stop(self, state: RetryCallState) -> bool:
        if self.cap(state):
            return True
        if self.reason == STALE:
            return self.used[STALE] >= self.policy.stale_attempts
        return self.used[TRANSIENT] >= self.policy.transient_attempts

    def _wait(self, state: RetryCallState) -> float:
        if self.reason == STALE:
            return 0.0
        backoff = self.backoff(state)
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = _retry_after_seconds(outcome.result())
            if retry_after is not None:
                return min(retry_after, self.policy.retry_after_max)
        return float(backoff)

    def _before_sleep(self, state: RetryCallState) -> None:
        reason = self.reason or TRANSIENT
        self.used[reason] += 1
        self.stats.replayed(reason)
        outcome = state.outcome
        described = "nothing"
        if outcome is not None:
            if outcome.failed:
                described = _describe(outcome.exception())
            else:
                response = outcome.result()
                described = _describe(response)
                _release(response)
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.debug(
            "sending %s %s again (%s replay %d) after %s, in %.2f s",
            self.request.method,
            self.request.url,
            reason,
            self.used[reason],
            described,
            wait,
        )
        if hasattr(self.request.body, "read"):  # a file: back to where its body starts
            rewind_body(self.request)


def _exponential_jitter(policy: RetryPolicy) -> wait_exponential_jitter:
    """Tenacity's exponential backoff with jitter, starting at ``policy.backoff_initial``."""
    # tenacity 9.2 renamed the first wait from ``initial`` to ``multiplier``
    # (and warns on the old name); older releases know only ``initial``.
    first = "multiplier" if "multiplier" in _JITTER_PARAMETERS else "initial"
    return wait_exponential_jitter(
        max=policy.backoff_max, jitter=policy.backoff_jitter, **{first: policy.backoff_initial}
    )


_JITTER_PARAMETERS = inspect.signature(wait_exponential_jitter).parameters


def _describe(outcome: object) -> str:
    if isinstance(outcome, requests.Response):
        return f"response {outcome.status_code}"
    if isinstance(outcome, BaseException):
        return f"{type(outcome).__name__}: {outcome}"
    return repr(outcome)


def _release(response: requests.Response) -> None:
    """Read and discard a response that will be retried, so its connection can be reused."""
    with contextlib.suppress(requests.RequestException):  # if it fails, the connection is closed instead
        _ = response.content
    response.close()


def _retry_after_seconds(response: requests.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
