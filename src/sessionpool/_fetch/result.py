"""What became of one URL: the :class:`FetchResult` record the fetch engine yields.

A result is a plain frozen value: it holds no response, no session and no
exception object, only strings and numbers, so it pickles cheaply and the
same record can come back from a thread, a worker process or a Dask worker.

A result is the artefact users keep and share, so it carries no secret: the
credentials (``user:password@``) of every URL in it, in ``url``,
``final_url`` and the error's message, are replaced by ``***`` when it is
made (:func:`redact_url`, :func:`redact_text`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sessionpool._redact import redact_text, redact_url

__all__ = ["ErrorInfo", "FetchResult", "redact_text", "redact_url"]


def _redacted(url: str) -> str:
    """``url`` without its credentials, nor those of a URL written into it (a ``?next=`` parameter)."""
    return redact_text(redact_url(url))


@dataclass(frozen=True)
class ErrorInfo:
    """Why a URL has no usable result: the exception's class name and message.

    The exception itself is not kept: it may hold a response, a socket or a
    traceback, and may not pickle.

    :param type: the class name of the exception, such as ``ConnectionError``,
        ``MissingSchema`` or ``UnsafeSavePath``.
    :param message: its message, ``str(exception)``.
    """

    type: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", redact_text(self.message))

    @classmethod
    def of(cls, error: BaseException) -> ErrorInfo:
        """The error info of an exception (its message with the credentials of any URL in it redacted)."""
        return cls(type(error).__name__, str(error))


@dataclass(frozen=True, kw_only=True)
class FetchResult:
    """What became of one URL of the input: the record the fetch engine yields for it.

    Every URL taken from the input and sent gets exactly one result, a
    malformed URL or a failed request included: failures are recorded in
    ``error``, never raised.

    :param index: the URL's position in the input (from 0), or the index it
        was given with (see :class:`Fetch`); results may come in another order.
    :param url: the URL as given, its credentials redacted (``http://***@host/``).
    :param final_url: the URL of the final response, after redirects (its
        credentials redacted too); None without a response.
    :param status: the final response's HTTP status; None without a response.
    :param size: the length of the body in bytes; None if it could not be read.
    :param elapsed_ms: milliseconds from sending the request to having read the body
        (0 for a URL never sent).
    :param attempts: how many times the request was sent: more than 1 when it
        was retried, 0 for a URL never sent (malformed, or the pool was closed).
    :param error: what went wrong, or None. A response with an error status
        (404, 500) is not an error; a body that could not be saved is.
    :param saved: the path the body was saved at, with
        :attr:`FetchOptions.save_dir`; None if it was not saved.
    """

    index: int
    url: str
    final_url: str | None
    status: int | None
    size: int | None
    elapsed_ms: float
    attempts: int
    error: ErrorInfo | None = None
    saved: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", _redacted(self.url))
        if self.final_url is not None:
            object.__setattr__(self, "final_url", _redacted(self.final_url))

    @property
    def ok(self) -> bool:
        """Whether the URL got a response and nothing went wrong (any HTTP status counts)."""
        return self.error is None and self.status is not None

    @classmethod
    def failed(
        cls, index: int, url: str, error: BaseException, *, elapsed_ms: float = 0.0, attempts: int = 0
    ) -> FetchResult:
        """The result of a URL that got no response: ``error`` says why."""
        return cls(
            index=index,
            url=url,
            final_url=None,
            status=None,
            size=None,
            elapsed_ms=elapsed_ms,
            attempts=attempts,
            error=ErrorInfo.of(error),
        )

    def to_json(self) -> dict[str, Any]:
        """The result as one JSON Lines object, the shape ``sessionpool fetch`` writes.

        The keys are ``url``, ``final_url``, ``status``, ``bytes`` (``size``),
        ``elapsed_ms`` (rounded to microseconds), ``attempts``, ``error``
        (``{"type": ..., "message": ...}`` or None) and ``saved`` (the path
        the body was saved at, or None); ``index`` is not written.
        """
        error = None if self.error is None else {"type": self.error.type, "message": self.error.message}
        return {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "bytes": self.size,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "attempts": self.attempts,
            "error": error,
            "saved": self.saved,
        }
