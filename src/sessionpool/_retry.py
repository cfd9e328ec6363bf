"""Sending a failed request again, as a :class:`~sessionpool.RetryPolicy` allows.

The adapter sends every request once, itself. Only when that first attempt
fails (or is answered with a transient status) does it hand the outcome to
:func:`retry`, which builds a tenacity :class:`~tenacity.Retrying` for just
that request: a request that succeeds the first time never pays for tenacity.

The loop, per outcome:

1. judge it (:func:`sessionpool._classify.judge`): a stale
   connection, a transient failure (a connect failure or a transient
   status), a read error, or none the policy covers; none ends the loop
   with the outcome;
2. refuse it if the request may not be sent again: the outcome goes to the
   caller unchanged, after a DEBUG line saying why. After a connect failure
   only the body is checked (nothing was sent); otherwise the request must
   be safe to send twice;
3. stop when that reason's budget is spent: the last error is raised
   unchanged; the last response is returned, or with ``raise_on_status``
   read and raised in a :class:`requests.exceptions.RetryError`;
4. wait as the :class:`~sessionpool.RetryPolicy` docstring says (not at all
   for a stale retry or the first retry after a connect failure);
5. rewind the body, release the failed response, and send again.

Each tenacity callback (retry, stop, wait, before_sleep) judges the outcome
it is given with the same pure ``judge``: none relies on another having
run first, and none writes anything another reads. The only state kept
across attempts is the reason of each outcome so far, appended by the
attempt itself; the retries made for a reason are counted from it.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import math
import random
import time
from collections.abc import Callable

import requests
from requests.utils import rewind_body
from tenacity import Future, RetryCallState, Retrying, stop_after_attempt

from sessionpool._attempts import attempts, mark_attempts
from sessionpool._classify import Verdict, judge
from sessionpool._compat import set_content
from sessionpool._deadline import current as current_deadline
from sessionpool._events import EventDispatcher
from sessionpool._policy import STALE, TRANSIENT, RetryPolicy, RetryReason
from sessionpool._redact import redact_url
from sessionpool._stats import StatsRecorder

__all__ = ["attempts", "parse_retry_after", "retry", "retry_after_seconds"]

log = logging.getLogger("sessionpool")

SendOnce = Callable[[], requests.Response]


def retry(
    policy: RetryPolicy,
    request: requests.PreparedRequest,
    send_once: SendOnce,
    first: requests.Response | BaseException,
    stats: StatsRecorder,
    events: EventDispatcher,
) -> requests.Response:
    """Go on from the first attempt's outcome ``first``; return the final response or raise the final error."""
    return _Retries(policy, request, send_once, first, stats, events).run()


class _Retries:
    """The retries of one request (made only after its first attempt failed).

    The only state kept across attempts is :attr:`history`, the reason of
    every outcome so far, appended by the attempt itself. Each tenacity
    callback judges the outcome it is given and reads the history; none
    writes anything another reads.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        request: requests.PreparedRequest,
        send_once: SendOnce,
        first: requests.Response | BaseException,
        stats: StatsRecorder,
        events: EventDispatcher,
    ) -> None:
        self.policy = policy
        self.events = events
        self.request = request
        self.send_once = send_once
        self.first: requests.Response | BaseException | None = first
        self.stats = stats
        #: The retry reason of each outcome so far, the adapter's own attempt first.
        self.history: list[RetryReason | None] = []
        # Each reason has its own budget; this cap only bounds the loop as a whole.
        self.cap = stop_after_attempt(1 + policy.stale_attempts + policy.transient_attempts + policy.read_attempts)

    def run(self) -> requests.Response:
        retrying = Retrying(
            retry=self._retry,
            stop=self._stop,
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            # When the budget is spent, the caller gets the last outcome as it was.
            retry_error_callback=self._last_outcome,
        )
        try:
            response: requests.Response = retrying(self._attempt)
        except BaseException as error:
            mark_attempts(error, len(self.history))
            raise
        mark_attempts(response, len(self.history))
        return response

    def _attempt(self) -> requests.Response:
        first, self.first = self.first, None
        outcome: requests.Response | BaseException
        try:
            # The first outcome is that of the attempt the adapter already made.
            outcome = self.send_once() if first is None else first
        except BaseException as error:
            outcome = error
        self.history.append(judge(self.policy, self.request, outcome).reason)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _verdict(self, state: RetryCallState) -> Verdict:
        outcome = state.outcome
        if outcome is None:  # tenacity calls back only after an attempt
            return Verdict(None, None, nothing_sent=False)
        return judge(self.policy, self.request, _unwrap(outcome))

    def _made(self, reason: RetryReason) -> int:
        """Retries made so far for ``reason``: every outcome before the last led to one."""
        return self.history[:-1].count(reason)

    # -- tenacity's callbacks ----------------------------------------------------

    def _retry(self, state: RetryCallState) -> bool:
        verdict = self._verdict(state)
        if verdict.reason is None:
            return False
        if verdict.refusal is None:
            return True
        method, url = self.request.method, redact_url(self.request.url or "")
        log.debug("not sending %s %s again after %s: %s", method, url, _describe_outcome(state), verdict.refusal)
        self.stats.not_retried_unsafe()
        return False

    def _stop(self, state: RetryCallState) -> bool:
        reason = self._verdict(state).reason
        if reason is None or self.cap(state):
            return True
        return self._made(reason) >= _budget(self.policy, reason)

    def _wait(self, state: RetryCallState) -> float:
        verdict = self._verdict(state)
        reason = verdict.reason
        if reason is None or reason == STALE:
            return 0.0  # the server did nothing wrong
        made = self._made(reason)
        if verdict.nothing_sent:
            # Nothing reached the server: the first retry goes at once.
            return 0.0 if made == 0 else _backoff(self.policy, made - 1)
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = retry_after_seconds(outcome.result())
            if retry_after is not None:
                return min(retry_after, self.policy.retry_after_max)
        return _backoff(self.policy, made)

    def _sleep(self, seconds: float) -> None:
        deadline = current_deadline()
        if deadline is not None:  # no wait outlives the request's deadline: the next attempt then fails at once
            seconds = min(seconds, deadline.remaining())
        if seconds > 0:
            self.policy.sleep(seconds)

    def _before_sleep(self, state: RetryCallState) -> None:
        reason = self._verdict(state).reason
        if reason is None:  # tenacity sleeps only after _retry said yes, for which there is a reason
            return
        self.stats.retried(reason)
        self.events.request_retried(self.request, reason, len(self.history) + 1)
        described = _describe_outcome(state)
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            _release(outcome.result())
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.debug(
            "sending %s %s again (%s retry %d) after %s, in %.2f s",
            self.request.method,
            redact_url(self.request.url or ""),
            reason,
            self._made(reason) + 1,
            described,
            wait,
        )
        if hasattr(self.request.body, "read"):  # a file: back to where its body starts
            rewind_body(self.request)

    def _last_outcome(self, state: RetryCallState) -> requests.Response:
        """What the caller gets when a budget is spent: the last error raised, the last response returned.

        With ``raise_on_status``, a last response with a transient status is
        read (so that its connection goes back to the pool) and raised in a
        :class:`requests.exceptions.RetryError`.
        """
        outcome = state.outcome
        if outcome is None:  # tenacity stops only after an attempt
            raise RuntimeError("sessionpool: tenacity stopped before any attempt")
        response: requests.Response = outcome.result()  # raises the last error as it was
        if self.policy.raise_on_status and self._verdict(state).reason == TRANSIENT:
            _release(response)
            sent = len(self.history)
            error = requests.exceptions.RetryError(
                f"{self.request.method} {self.request.url} was answered {response.status_code}"
                f" {sent} times: its transient retries ran out"
                f" (RetryPolicy.transient_attempts={self.policy.transient_attempts})",
                response=response,
                request=self.request,
            )
            mark_attempts(response, sent)
            raise error
        return response


def _unwrap(outcome: Future) -> requests.Response | BaseException:
    """The response or the error a finished tenacity attempt holds."""
    if outcome.failed:
        error = outcome.exception()
        if error is not None:
            return error
    result: requests.Response = outcome.result()
    return result


def _budget(policy: RetryPolicy, reason: RetryReason) -> int:
    """How many retries ``policy`` allows one request for ``reason``."""
    if reason == STALE:
        return policy.stale_attempts
    if reason == TRANSIENT:
        return policy.transient_attempts
    return policy.read_attempts


def _backoff(policy: RetryPolicy, made: int) -> float:
    """The exponential backoff with jitter after ``made`` earlier retries of the same reason.

    tenacity's ``wait_exponential_jitter`` counts every attempt of the loop;
    here each reason counts its own, so a stale retry does not lengthen the
    wait before a transient retry.
    """
    jitter = random.uniform(0, policy.backoff_jitter)  # spreads clients out; not cryptography
    return min(policy.backoff_initial * 2.0 ** min(made, 64) + jitter, policy.backoff_max)


def _describe_outcome(state: RetryCallState) -> str:
    outcome = state.outcome
    if outcome is None:
        return "nothing"
    return _describe(outcome.exception() if outcome.failed else outcome.result())


def _describe(outcome: object) -> str:
    if isinstance(outcome, requests.Response):
        return f"response {outcome.status_code}"
    if isinstance(outcome, BaseException):
        return f"{type(outcome).__name__}: {outcome}"
    return repr(outcome)


def _release(response: requests.Response) -> None:
    """Discard a response that will be retried, or keep the last one for a RetryError: its body read, bounded.

    At most :data:`_RELEASE_BYTES` of the body are read and kept as its
    ``content`` (a 503 with a gigabyte of body is not read for nothing); the
    connection of a longer one is closed, the rest never read.
    """
    chunks: list[bytes] = []
    read = 0
    with contextlib.suppress(requests.RequestException):  # if it fails, the connection is closed instead
        for chunk in response.iter_content(16 * 1024):
            chunks.append(chunk)
            read += len(chunk)
            if read > _RELEASE_BYTES:
                break
    response.close()
    set_content(response, b"".join(chunks)[:_RELEASE_BYTES])


#: The most of a retried response's body that is read to keep its connection.
_RELEASE_BYTES = 64 * 1024


def retry_after_seconds(response: requests.Response) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), if it says one.

    The header is the server's to write, so it is read totally: anything
    but ASCII digits or an HTTP date (``²``, which ``str.isdigit`` accepts,
    a number too long to mean anything, a date that does not exist) is no
    answer, None, never an exception.
    """
    value = response.headers.get("Retry-After")
    if not isinstance(value, str):
        return None
    return parse_retry_after(value, now=time.time())


#: The most digits a ``Retry-After`` in seconds is read with: ten digits is
#: over three centuries, longer than any pause is honoured anyway.
_RETRY_AFTER_DIGITS = 10


def parse_retry_after(value: str, *, now: float) -> float | None:
    """Seconds to wait from ``now`` (a Unix time) for a ``Retry-After`` value, or None if it says none."""
    value = value.strip(" \t")
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value) if len(value) <= _RETRY_AFTER_DIGITS else None
    if not value.isascii():
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
        seconds = when.timestamp() - now
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None
