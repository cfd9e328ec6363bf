"""The options of one easy handle: gathered for each transfer, then set with as few calls into libcurl as can be.

Nothing of one request's options reaches the next. The options of a
transfer are gathered first (:meth:`Options.begin`, the setters, then
:meth:`Options.commit`): if they are the same options as the last
transfer's, with no body to send, only the values that changed are set (a
crawl's next GET usually changes just the URL); otherwise every option is
reset (``curl_easy_reset``, which keeps the connections, the DNS cache and
TLS sessions) and each is set again. Either way the handle holds exactly the
options of this request, and each setting is a call into libcurl that lets
go of the GIL, which many threads pay for in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from curl_cffi import ffi, lib

__all__ = ["Options"]

# What an option's value is, for Options.commit.
_LONG, _INT64, _BYTES, _POINTER, _HEADERS, _IMPERSONATE, _UPLOAD = range(7)
_HTTPHEADER = 10000 + 23
_IMPERSONATION = -1  # not an option of libcurl's: curl_cffi's call that sets a browser's options
_UPLOADING = -2  # the read (and seek) callbacks of a body sent as it is read


class Options:
    """The options of ``easy``'s transfers (see the module docstring).

    :param easy: the easy handle.
    :param fixed: ``(option, pointer)`` pairs set again after every reset: the line's own.
    :param message: libcurl's message for the last failure (for a refused option).
    """

    def __init__(self, easy: Any, fixed: list[tuple[int, Any]], message: Callable[[], str]) -> None:
        self.easy = easy
        self._fixed = fixed
        self._message = message
        self._long = ffi.new("long*")
        self._int64 = ffi.new("int64_t*")
        self._upload: Any = None
        self._keep: list[Any] = []  # what libcurl points into until the transfer ends (a body)
        self.slist: Any = ffi.NULL  # the request headers, kept while the next request's are the same
        self._options: list[tuple[int, int, Any]] = []  # gathered for the next transfer: option, kind, value
        self._has_body = False
        #: The options the handle holds (option: value), or None: reset before the next transfer.
        self._applied: dict[int, Any] | None = None

    def begin(self) -> None:
        """Start gathering the options of the next transfer; :meth:`commit` sets them."""
        self._options = []
        self._has_body = False

    def set_long(self, option: int, value: int) -> None:
        """A long option of the next transfer."""
        self._options.append((option, _LONG, value))

    def set_int64(self, option: int, value: int) -> None:
        """An off_t option of the next transfer."""
        self._options.append((option, _INT64, value))

    def set_bytes(self, option: int, value: bytes | None) -> None:
        """A string option of the next transfer (libcurl copies it); None unsets it."""
        self._options.append((option, _BYTES, value))

    def set_pointer(self, option: int, value: Any) -> None:
        """A pointer libcurl keeps (not copied), kept alive until the transfer ends: the body to send."""
        self._keep.append(value)
        self._has_body = True
        self._options.append((option, _POINTER, value))

    def keep(self, value: Any) -> None:
        """Keep ``value`` alive until the transfer ends (libcurl points into it)."""
        self._keep.append(value)

    def set_headers(self, lines: Iterable[bytes]) -> None:
        """The request's header lines (``HTTPHEADER``)."""
        self._options.append((_HTTPHEADER, _HEADERS, tuple(lines)))

    def set_upload(self, read: Callable[[int], bytes], seek: Callable[[int, int], None] | None) -> None:
        """A body read as it is sent: ``read(n)`` gives up to n bytes, b"" at its end; ``seek`` rewinds it."""
        self._has_body = True
        self._options.append((_UPLOADING, _UPLOAD, (read, seek)))

    def impersonate(self, target: bytes) -> None:
        """Send with the TLS and HTTP/2 fingerprint of ``target`` (curl_cffi's names); headers stay the request's."""
        self._options.append((_IMPERSONATION, _IMPERSONATE, target))

    def commit(self) -> None:
        """Set the gathered options on the handle: only the changed values, or all of them after a reset.

        The changed values alone suffice when the handle holds the same
        options (no others) and neither transfer sends a body (libcurl keeps
        pointers into a body, and the method follows from the body options).
        """
        options = self._options
        applied = self._applied
        if (
            applied is not None
            and not self._has_body
            and len(options) == len(applied)
            and all(option in applied for option, _, _ in options)
        ):
            try:
                for option, kind, value in options:
                    if applied[option] != value:
                        self._set(option, kind, value)
                        applied[option] = value
            except BaseException:
                self._applied = None
                raise
            return
        self._applied = None  # until every option is set: a failure below leaves a reset to do
        self._reset()
        for option, kind, value in options:
            self._set(option, kind, value)
        if not self._has_body:
            self._applied = {option: value for option, _, value in options}

    def _reset(self) -> None:
        """Forget every option of the last transfer; set the line's own (its streams, the share handle) again."""
        easy = self.easy
        lib.curl_easy_reset(easy)
        if self.slist != ffi.NULL:
            lib.curl_slist_free_all(self.slist)
            self.slist = ffi.NULL
        for option, pointer in self._fixed:
            lib._curl_easy_setopt(easy, option, pointer)

    def _set(self, option: int, kind: int, value: Any) -> None:
        easy = self.easy
        if kind == _LONG:
            self._long[0] = value
            code = lib._curl_easy_setopt(easy, option, self._long)
        elif kind == _BYTES:
            code = lib._curl_easy_setopt(easy, option, ffi.NULL if value is None else value)
        elif kind == _HEADERS:
            slist = ffi.NULL
            for line in value:
                slist = lib.curl_slist_append(slist, line)
            code = lib._curl_easy_setopt(easy, option, slist)
            if self.slist != ffi.NULL:
                lib.curl_slist_free_all(self.slist)
            self.slist = slist
        elif kind == _INT64:
            self._int64[0] = value
            code = lib._curl_easy_setopt(easy, option, self._int64)
        elif kind == _POINTER:
            code = lib._curl_easy_setopt(easy, option, value)
        elif kind == _IMPERSONATE:
            code = lib.curl_easy_impersonate(easy, value, 0)
        else:
            self._set_upload(*value)
            return
        self._check(code, option)

    def _set_upload(self, read: Callable[[int], bytes], seek: Callable[[int, int], None] | None) -> None:
        self._upload = ffi.new_handle(_Sink(read))
        lib._curl_easy_setopt(self.easy, 20000 + 12, lib.read_callback)  # READFUNCTION
        lib._curl_easy_setopt(self.easy, 10000 + 9, self._upload)  # READDATA
        if seek is not None:
            self._seek = ffi.new_handle(_Sink(_Seeker(seek)))
            self._keep.append(self._seek)
            lib._curl_easy_setopt(self.easy, 20000 + 167, lib.seek_buffer_callback)  # SEEKFUNCTION
            lib._curl_easy_setopt(self.easy, 10000 + 168, self._seek)  # SEEKDATA

    def _check(self, code: int, option: int) -> None:
        if code != 0:
            raise ValueError(f"libcurl refused option {option} (error {code}): {self._message()}")

    def transfer_ended(self) -> BaseException | None:
        """Let go of what the transfer pointed into; what the body raised while libcurl read it, if anything."""
        self._keep.clear()
        upload, self._upload = self._upload, None
        return None if upload is None else _sink_error(upload)

    def close(self) -> None:
        """Free the header list (after the easy handle is cleaned up)."""
        if self.slist != ffi.NULL:
            lib.curl_slist_free_all(self.slist)
            self.slist = ffi.NULL


class _Sink:
    """Where libcurl's callbacks for a body it sends go: curl_cffi's read and seek callbacks call ``callback``."""

    __slots__ = ("callback", "exception")

    def __init__(self, callback: Any) -> None:
        self.callback = callback
        self.exception: BaseException | None = None


class _Seeker:
    __slots__ = ("seek",)

    def __init__(self, seek: Callable[[int, int], None]) -> None:
        self.seek = seek


def _sink_error(sink: Any) -> BaseException | None:
    context = ffi.from_handle(sink)
    error, context.exception = context.exception, None
    return error  # type: ignore[no-any-return]
