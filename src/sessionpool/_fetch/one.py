"""One URL through a pool: :func:`fetch_one`, the step every executor of the fetch engine runs.

It sends one request, reads the body, saves it if asked, and turns whatever
happened into a :class:`~sessionpool.FetchResult`; it raises nothing for a
bad URL or a failed request. Threads (:class:`~sessionpool.Fetch`), worker
processes and cluster workers all call this same function with their own
pool, so a URL is fetched the same way wherever it runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.exceptions import InvalidHeader, InvalidSchema, InvalidURL, MissingSchema, URLRequired

from sessionpool._base import Pool
from sessionpool._errors import PoolError
from sessionpool._fetch.options import FetchOptions
from sessionpool._fetch.result import ErrorInfo, FetchResult
from sessionpool._fetch.robots import robots_refusal
from sessionpool._fetch.savedir import SaveDir, UnsafeSavePath
from sessionpool._retry import attempts

__all__ = ["fetch_one", "invalid_url_result", "url_problem"]

#: Errors raised before anything was sent: their request was sent 0 times.
_NEVER_SENT = (InvalidURL, MissingSchema, InvalidSchema, InvalidHeader, URLRequired, PoolError)
_DEFAULT_OPTIONS = FetchOptions()


def url_problem(url: str) -> Exception | None:
    """Why ``url`` cannot be fetched, as the exception requests would raise for it; None if it looks fine."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as error:
        return InvalidURL(f"cannot parse {url!r}: {error}")
    if not parts.scheme:
        return MissingSchema(f"no scheme in {url!r}: expected http:// or https://")
    if parts.scheme.lower() not in ("http", "https"):
        return InvalidSchema(f"unsupported scheme {parts.scheme!r} in {url!r}: expected http or https")
    if any(char.isspace() or not char.isprintable() for char in url):
        return InvalidURL(f"{url!r} contains white space or control characters")
    if not parts.hostname:
        return InvalidURL(f"no host in {url!r}")
    return None


def invalid_url_result(index: int, url: str) -> FetchResult | None:
    """The result of a URL that cannot be sent (malformed): an error, 0 attempts; None if it looks fine."""
    problem = url_problem(url)
    if problem is None:
        return None
    return FetchResult.failed(index, url, problem)


def fetch_one(pool: Pool, url: str, options: FetchOptions | None = None, *, index: int = 0) -> FetchResult:
    """Fetch ``url`` through ``pool``, read its body, and say what became of it.

    Never raises for the URL's sake: a malformed URL, a refused connection,
    a timeout or a body that could not be saved all become a result whose
    ``error`` says what happened. Any HTTP status is a response, not an error.

    :param pool: the pool to send the request through (any
        :class:`~sessionpool.Pool`, with its timeout, headers and retry policy).
    :param url: an ``http://`` or ``https://`` URL.
    :param options: the method, ``save_dir`` and ``robots`` are used; ``per_host`` is
        not (it limits the threads of a :class:`~sessionpool.Fetch`, which
        calls this). None: the defaults, a GET.
    :param index: the URL's position in the input, carried into the result.
    :return: a picklable :class:`~sessionpool.FetchResult`.
    """
    options = _DEFAULT_OPTIONS if options is None else options
    invalid = invalid_url_result(index, url)
    if invalid is not None:
        return invalid
    if options.robots:
        refusal = robots_refusal(pool, url)
        if refusal is not None:
            return FetchResult.failed(index, url, refusal)
    started = time.perf_counter()
    response: requests.Response | None = None
    try:
        response = pool.request(options.method, url)
        body = response.content
    except Exception as error:  # every failure becomes this URL's result
        elapsed = (time.perf_counter() - started) * 1000
        if response is not None:  # answered, but the body could not be read
            return FetchResult(
                index=index,
                url=url,
                final_url=response.url,
                status=response.status_code,
                size=None,
                elapsed_ms=elapsed,
                attempts=attempts(response),
                error=ErrorInfo.of(error),
            )
        sent = 0 if isinstance(error, _NEVER_SENT) else attempts(error)
        return FetchResult.failed(index, url, error, elapsed_ms=elapsed, attempts=sent)
    finally:
        if response is not None:
            response.close()
    elapsed = (time.perf_counter() - started) * 1000
    saved: str | None = None
    error_info: ErrorInfo | None = None
    if options.save_dir is not None and 200 <= response.status_code < 300:
        try:
            saved = str(SaveDir(Path(options.save_dir)).save(url, body))
        except (OSError, UnsafeSavePath) as error:
            error_info = ErrorInfo.of(error)
    return FetchResult(
        index=index,
        url=url,
        final_url=response.url,
        status=response.status_code,
        size=len(body),
        elapsed_ms=elapsed,
        attempts=attempts(response),
        error=error_info,
        saved=saved,
    )
