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

from collections.abc import Callable
from typing import Any

from curl_cffi import ffi, lib

from sessionpool._curl.short_calls import ShortCalls

__all__ = ["Option", "Options", "impersonation", "long_option", "string_option"]

# What an option's value is, for Options.commit.
_LONG, _INT64, _BYTES, _POINTER, _HEADERS, _IMPERSONATE, _UPLOAD = range(7)

#: An option of a transfer: ``(option, what its value is, value)``.
Option = tuple[int, int, Any]
_HTTPHEADER = 10000 + 23
_IMPERSONATION = -1  # not an option of libcurl's: curl_cffi's call that sets a browser's options
_UPLOADING = -2  # the read (and seek) callbacks of a body sent as it is read


def long_option(option: int, value: int) -> Option:
    """A long option, for the common options of :meth:`Options.begin`."""
    return (option, _LONG, value)


def string_option(option: int, value: bytes | None) -> Option:
    """A string option (None unsets it), for the common options of :meth:`Options.begin`."""
    return (option, _BYTES, value)


def impersonation(target: bytes) -> Option:
    """The TLS and HTTP/2 fingerprint of browser ``target`` (curl_cffi's names), for :meth:`Options.begin`.

    curl_cffi sets the browser's options (headers too, which the options that
    follow override: the request's headers are sent, not the browser's).
    """
    return (_IMPERSONATION, _IMPERSONATE, target)


class Options:
    """The options of ``easy``'s transfers (see the module docstring).

    :param easy: the easy handle.
    :param calls: the line's short calls (the long, off_t and string options are set through them).
    :param fixed: ``(option, pointer)`` pairs set again after every reset: the line's own.
    :param message: libcurl's message for the last failure (for a refused option).
    """

    def __init__(self, easy: Any, calls: ShortCalls, fixed: list[tuple[int, Any]], message: Callable[[], str]) -> None:
        self.easy = easy
        self._calls = calls
        self._fixed = fixed
        self._message = message
        self._upload: Any = None
        self._keep: list[Any] = []  # what libcurl points into until the transfer ends (a body)
        self.slist: Any = ffi.NULL  # the request headers, kept while the next request's are the same
        self._common: tuple[Option, ...] = ()  # the options every transfer of the line's adapter has
        self._options: list[Option] = []  # gathered for the next transfer, beyond the common ones
        self._has_body = False
        #: The options the handle holds beyond the common ones, or None: reset before the next transfer.
        self._applied: list[Option] | None = None
        self._applied_common: tuple[Option, ...] | None = None

    def begin(self, common: tuple[Option, ...] = ()) -> None:
        """Start gathering the options of the next transfer, which come after ``common``; :meth:`commit` sets them."""
        self._common = common
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

    def set_headers(self, lines: tuple[bytes, ...]) -> None:
        """The request's header lines (``HTTPHEADER``)."""
        self._options.append((_HTTPHEADER, _HEADERS, lines))

    def set_upload(self, read: Callable[[int], bytes], seek: Callable[[int, int], None] | None) -> None:
        """A body read as it is sent: ``read(n)`` gives up to n bytes, b"" at its end; ``seek`` rewinds it."""
        self._has_body = True
        self._options.append((_UPLOADING, _UPLOAD, (read, seek)))

    def commit(self) -> None:
        """Set the gathered options on the handle: only the changed values, or all of them after a reset.

        The changed values alone suffice when the handle holds the same
        options, in the same order (no others), and neither transfer sends a
        body (libcurl keeps pointers into a body, and the method follows from
        the body options).
        """
        options = self._options
        applied = self._applied
        if (
            applied is not None
            and not self._has_body
            and self._common is self._applied_common
            and len(options) == len(applied)
        ):
            changed = [index for index, (new, old) in enumerate(zip(options, applied, strict=True)) if new != old]
            if all(options[index][0] == applied[index][0] for index in changed):
                try:
                    for index in changed:
                        self._set(*options[index])
                        applied[index] = options[index]
                except BaseException:
                    self._applied = None
                    raise
                return
        self._applied = None  # until every option is set: a failure below leaves a reset to do
        self._reset()
        for item in self._common:
            self._set(*item)
        for item in options:
            self._set(*item)
        if not self._has_body:
            self._applied = options
            self._applied_common = self._common

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
            code = self._calls.setopt_number(option, value)
        elif kind == _BYTES:
            code = self._calls.setopt_bytes(option, value)
        elif kind == _HEADERS:
            slist = ffi.NULL
            for line in value:
                slist = lib.curl_slist_append(slist, line)
            code = lib._curl_easy_setopt(easy, option, slist)
            if self.slist != ffi.NULL:
                lib.curl_slist_free_all(self.slist)
            self.slist = slist
        elif kind == _INT64:
            code = self._calls.setopt_number(option, value)
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
