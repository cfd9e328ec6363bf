"""One URL through a pool: :func:`fetch_one`, the step every executor of the fetch engine runs.

It sends one request, streams the body (counting it, saving it if asked),
and turns whatever
happened into a :class:`~sessionpool.FetchResult`; it raises nothing for a
bad URL or a failed request. Threads (:class:`~sessionpool.Fetch`), worker
processes and cluster workers all call this same function with their own
pool, so a URL is fetched the same way wherever it runs.
"""

from __future__ import annotations

import importlib.metadata
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.exceptions import InvalidHeader, InvalidSchema, InvalidURL, MissingSchema, URLRequired

from sessionpool._attempts import attempts
from sessionpool._base import Pool
from sessionpool._errors import BodyTooLarge, DeadlineExceeded, PoolError
from sessionpool._fetch.options import FetchOptions
from sessionpool._fetch.result import ErrorInfo, FetchResult
from sessionpool._fetch.robots import robots_refusal
from sessionpool._fetch.savedir import PartialFile, SaveDir, UnsafeSavePath

__all__ = ["fetch_one", "invalid_url_result", "url_problem"]

#: Errors raised before anything was sent: their request was sent 0 times.
_NEVER_SENT = (InvalidURL, MissingSchema, InvalidSchema, InvalidHeader, URLRequired, PoolError)
#: Those of them a redirect to a URL requests cannot send raises, naming that URL.
_REDIRECT_TARGET_ERRORS = (InvalidURL, MissingSchema, InvalidSchema)
_DEFAULT_OPTIONS = FetchOptions()
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: Surrogates that ``surrogateescape`` does not make (it makes U+DC80 to U+DCFF only).
_NOT_ESCAPED = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def url_problem(url: str) -> Exception | None:
    """Why ``url`` cannot be fetched, as the exception requests would raise for it; None if it looks fine.

    A URL read from bytes that are not UTF-8 (decoded with
    ``errors="surrogateescape"``, as ``sessionpool fetch`` reads its input)
    holds lone surrogates: it is refused with the bytes it was read from,
    never sent in some other form.
    """
    if _LONE_SURROGATE.search(url):
        raw = url.encode("utf-8", "surrogateescape") if not _NOT_ESCAPED.search(url) else None
        shown = repr(raw) if raw is not None else ascii(url)
        return InvalidURL(f"the line {shown} is not UTF-8 text: it is not a URL that can be sent")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as error:
        return InvalidURL(f"cannot parse {url!r}: {error}")
    if not parts.scheme:
        return MissingSchema(f"no scheme in {url!r}: expected http:// or https://")
    if parts.scheme.lower() not in ("http", "https"):
        return InvalidSchema(f"unsupported scheme {parts.scheme!r} in {url!r}: expected http or https")
    # Of the characters that are white space, only the ASCII space is printable: one scan in C finds the rest.
    if " " in url or not url.isprintable():
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
    """Fetch ``url`` through ``pool``, stream its body, and say what became of it.

    Never raises for the URL's sake: a malformed URL, a refused connection,
    a timeout, a body longer than ``max_bytes`` or one that could not be
    saved all become a result whose ``error`` says what happened. Any HTTP
    status is a response, not an error. The body is read in chunks of
    64 KiB, counted, and written to its file as it comes (with
    ``save_dir``): memory does not grow with its size.

    :param pool: the pool to send the request through (any
        :class:`~sessionpool.Pool`, with its timeout, deadline, headers and retry policy).
    :param url: an ``http://`` or ``https://`` URL.
    :param options: the method, ``save_dir``, ``max_bytes`` and ``robots``
        are used; ``per_host`` is not (it limits the threads of a
        :class:`~sessionpool.Fetch`, which calls this). None: the defaults, a GET.
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
    try:
        response = pool.request(options.method, url, stream=True)
    except Exception as error:  # every failure becomes this URL's result
        elapsed = (time.perf_counter() - started) * 1000
        return FetchResult.failed(index, url, error, elapsed_ms=elapsed, attempts=_attempts_of(error, url))
    body = _Body(url, options)
    try:
        body.read(response)
    except Exception as error:  # answered, but the body could not be read (or was too long)
        return _answered(index, url, response, started, size=None, error=error)
    finally:
        body.discard()  # nothing half saved is kept (a no-op once the body was saved)
        response.close()
    return _answered(index, url, response, started, size=body.size, error=body.save_error, saved=body.saved)


def _answered(
    index: int,
    url: str,
    response: requests.Response,
    started: float,
    *,
    size: int | None,
    error: Exception | None,
    saved: str | None = None,
) -> FetchResult:
    """The result of a URL that got ``response``: its body of ``size`` bytes read, or ``error``."""
    return FetchResult(
        index=index,
        url=url,
        final_url=response.url,
        status=response.status_code,
        size=size,
        elapsed_ms=(time.perf_counter() - started) * 1000,
        attempts=attempts(response),
        error=None if error is None else ErrorInfo.of(error),
        saved=saved,
    )


def _inflation_bounded() -> bool:
    """Whether the installed urllib3 inflates a compressed body no further than each read asks.

    urllib3 2.6 and later do; earlier 2.x releases inflate all that one read
    brought in (CVE-2025-66471): about a thousand times a read of a gzip bomb.
    """
    try:
        major, minor = (int(part) for part in importlib.metadata.version("urllib3").split(".")[:2])
    except (ValueError, importlib.metadata.PackageNotFoundError):
        return False
    return (major, minor) >= (2, 6)


#: Bytes read from a body at a time: few enough that memory stays flat
#: whatever the body's size, enough that a large body costs few iterations
#: (64 KiB: 900 MB/s on loopback, 16 KiB: 450 MB/s). Where urllib3 inflates
#: a whole read at once, reads of 16 KiB keep one read of a gzip bomb to
#: about 16 MB.
_CHUNK = 64 * 1024 if _inflation_bounded() else 16 * 1024


class _Body:
    """One response body, streamed: counted against ``max_bytes``, and saved chunk by chunk if asked."""

    def __init__(self, url: str, options: FetchOptions) -> None:
        self._url = url
        self._limit = options.max_bytes
        self._save_dir = options.save_dir
        self._file: PartialFile | None = None
        #: The decoded bytes read.
        self.size = 0
        #: Where the body was saved, once complete.
        self.saved: str | None = None
        #: Why the body could not be saved (the body was still read and counted).
        self.save_error: Exception | None = None

    def read(self, response: requests.Response) -> None:
        """Read the whole body of ``response``; :class:`BodyTooLarge` past the limit."""
        if self._save_dir is not None and 200 <= response.status_code < 300:
            try:
                self._file = SaveDir(Path(self._save_dir)).open(self._url)
            except (OSError, UnsafeSavePath) as error:
                self.save_error = error
        limit = self._limit
        for chunk in response.iter_content(_CHUNK):
            self.size += len(chunk)
            if limit is not None and self.size > limit:
                raise BodyTooLarge(
                    f"the body is longer than max_bytes={limit:,} bytes (decoded): it was cut off there and"
                    " nothing of it was saved",
                    limit=limit,
                )
            if self._file is not None:
                self._write(chunk)
        if self._file is not None:
            try:
                self._file.commit()
                self.saved = str(self._file.path)
            except OSError as error:
                self.save_error = error
            self._file = None

    def _write(self, chunk: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(chunk)
        except OSError as error:  # a full disk: the body is still read and counted, not saved
            self.save_error = error
            self._file.discard()
            self._file = None

    def discard(self) -> None:
        """Remove whatever part of the body was saved, if it was not saved whole."""
        if self._file is not None:
            self._file.discard()
            self._file = None


def _attempts_of(error: Exception, url: str) -> int:
    """How many times the request for ``url`` was sent before ``error`` ended it.

    Errors raised before anything is sent (a URL requests cannot prepare, a
    closed pool) count 0, unless they concern another URL than the one
    given: then a redirect led to it (``file://``, a malformed
    ``Location``), after at least one request went out.
    """
    if not isinstance(error, _NEVER_SENT) or isinstance(error, DeadlineExceeded):
        return attempts(error)  # a deadline's error counts what it let through
    if isinstance(error, _REDIRECT_TARGET_ERRORS) and url not in str(error):
        return 1
    return 0
