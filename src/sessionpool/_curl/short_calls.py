"""libcurl's short calls, made without letting go of the GIL.

curl_cffi lets go of the GIL around every call into libcurl. That is right
for the calls that wait or move bytes (``curl_multi_perform``,
``curl_multi_poll``): other threads run meanwhile. A call that only touches
a handle's memory (adding a transfer to its multi handle, removing it,
reading its result and its counters, setting an option) costs less than
letting go: with other threads waiting, each is a hand-over of the GIL and
a wait to get it back, a context switch each way. A line makes five such
calls per request besides the three that wait; under 16 threads they were
more than half of its context switches.

So these go through :class:`ctypes.PyDLL` of the library curl_cffi loaded
(its extension module exports libcurl's C API, and curl_cffi's own
non-variadic ``_curl_easy_setopt``), which keeps the GIL. The handles are
the ones curl_cffi made: one library, one process. ``curl_easy_getinfo`` is
variadic, which ctypes cannot declare; it is called so only where a
variadic pointer is passed as a fixed one is (x86-64; AArch64 but on Apple
platforms). ``curl_multi_perform`` is here too: it keeps the GIL for a
transfer on a connection already open, and is curl_cffi's otherwise. Where
the library cannot be opened this way, every call is curl_cffi's
(:data:`KEEPS_GIL` is False).
"""

from __future__ import annotations

import ctypes
import platform
import sys
from typing import Any

from curl_cffi import ffi, lib

__all__ = ["KEEPS_GIL", "ShortCalls"]

_CURLMSG_DONE = 1


class _Message(ctypes.Structure):
    """libcurl's ``CURLMsg``: what happened, to which handle, and (for a transfer done) its result code."""

    _fields_ = [("msg", ctypes.c_int), ("easy_handle", ctypes.c_void_p), ("result", ctypes.c_int)]


def _open() -> Any:
    """curl_cffi's library with the signatures of the calls made here, or None if it cannot be opened so."""
    try:
        from curl_cffi import _wrapper

        found = ctypes.PyDLL(_wrapper.__file__)
        for name in ("curl_multi_add_handle", "curl_multi_remove_handle"):
            function = getattr(found, name)
            function.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            function.restype = ctypes.c_int
        found.curl_multi_perform.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        found.curl_multi_perform.restype = ctypes.c_int
        found.curl_multi_info_read.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]
        found.curl_multi_info_read.restype = ctypes.POINTER(_Message)
        found._curl_easy_setopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        found._curl_easy_setopt.restype = ctypes.c_int
        found.curl_easy_getinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        found.curl_easy_getinfo.restype = ctypes.c_int
    except (ImportError, OSError, AttributeError, TypeError):  # pragma: no cover - curl_cffi built otherwise
        return None
    return found


def _variadic_as_fixed() -> bool:
    """Whether a variadic pointer argument travels where a fixed one would (so ctypes may call getinfo)."""
    machine = platform.machine().lower()
    return machine in ("x86_64", "amd64") or (machine in ("aarch64", "arm64") and sys.platform != "darwin")


_LIBRARY = _open()
#: Whether the short calls keep the GIL here (else they are curl_cffi's, which let go of it).
KEEPS_GIL = _LIBRARY is not None
_GETINFO_KEEPS_GIL = KEEPS_GIL and _variadic_as_fixed()


def address(pointer: Any) -> int:
    """The address a cffi pointer holds, as ctypes takes it."""
    return int(ffi.cast("uintptr_t", pointer))


class ShortCalls:
    """The short calls on one multi handle and its one easy handle (see the module docstring).

    :param multi: the multi handle (a cffi pointer).
    :param easy: the easy handle (a cffi pointer).
    :param keep_gil: make the calls through ctypes where it can (False: curl_cffi's, always).
    """

    __slots__ = (
        "_cffi_int64", "_cffi_long", "_cffi_running", "_easy", "_easy_address", "_getinfo_keeps_gil", "_int64",
        "_int64_address", "_keeps_gil", "_left", "_long", "_long_address", "_multi", "_multi_address", "_running",
        "_running_address",
    )  # fmt: skip

    def __init__(self, multi: Any, easy: Any, *, keep_gil: bool = True) -> None:
        self._multi = multi
        self._easy = easy
        self._multi_address = address(multi)
        self._easy_address = address(easy)
        self._keeps_gil = keep_gil and KEEPS_GIL
        self._getinfo_keeps_gil = keep_gil and _GETINFO_KEEPS_GIL
        # Where the calls' numbers go: ctypes' for the calls that keep the GIL, cffi's for curl_cffi's.
        self._left = ctypes.c_int()
        self._long = ctypes.c_long()
        self._long_address = ctypes.addressof(self._long)
        self._int64 = ctypes.c_int64()
        self._int64_address = ctypes.addressof(self._int64)
        self._running = ctypes.c_int()
        self._running_address = ctypes.addressof(self._running)
        self._cffi_long = ffi.new("long*")
        self._cffi_int64 = ffi.new("int64_t*")
        self._cffi_running = ffi.new("int*")

    def add(self) -> int:
        """``curl_multi_add_handle``: the easy handle's transfer starts with the next perform."""
        if self._keeps_gil:
            return int(_LIBRARY.curl_multi_add_handle(self._multi_address, self._easy_address))
        return int(lib.curl_multi_add_handle(self._multi, self._easy))

    def remove(self) -> int:
        """``curl_multi_remove_handle``: the transfer is over (ended or stopped where it is)."""
        if self._keeps_gil:
            return int(_LIBRARY.curl_multi_remove_handle(self._multi_address, self._easy_address))
        return int(lib.curl_multi_remove_handle(self._multi, self._easy))

    def perform(self, *, keep_gil: bool) -> int:
        """``curl_multi_perform``: the transfers still running after it (0: the line's one is over).

        ``keep_gil`` for a transfer on a connection already open, whose step
        is a send or a read that does not wait (the sockets are non-blocking;
        see :meth:`sessionpool._curl.line.Line.start`); otherwise curl_cffi's
        call, which lets go of the GIL.
        """
        if keep_gil and self._keeps_gil:
            _LIBRARY.curl_multi_perform(self._multi_address, self._running_address)
            return self._running.value
        lib.curl_multi_perform(self._multi, self._cffi_running)
        return int(self._cffi_running[0])

    def result(self) -> int:
        """The result code of the transfer that ended (0 if libcurl reported none)."""
        code = 0
        if self._keeps_gil:
            left = self._left
            message = _LIBRARY.curl_multi_info_read(self._multi_address, ctypes.byref(left))
            while message:
                if message.contents.msg == _CURLMSG_DONE:
                    code = message.contents.result
                if left.value == 0:
                    break
                message = _LIBRARY.curl_multi_info_read(self._multi_address, ctypes.byref(left))
            return code
        left_pointer = ffi.new("int*")
        message = lib.curl_multi_info_read(self._multi, left_pointer)
        while message != ffi.NULL:
            if message.msg == _CURLMSG_DONE:
                code = message.data.result
            if left_pointer[0] == 0:
                break
            message = lib.curl_multi_info_read(self._multi, left_pointer)
        return code

    def info(self, info: int) -> int:
        """``curl_easy_getinfo`` of a long or off_t item of the last transfer (``CURLINFO_OFF_T``: 0x600000)."""
        wide = info & 0xF00000 == 0x600000
        if self._getinfo_keeps_gil:
            _LIBRARY.curl_easy_getinfo(self._easy_address, info, self._int64_address if wide else self._long_address)
            return (self._int64 if wide else self._long).value
        box = self._cffi_int64 if wide else self._cffi_long
        lib.curl_easy_getinfo(self._easy, info, box)
        return int(box[0])

    def setopt_number(self, option: int, value: int) -> int:
        """A long option, or an off_t one (``CURLOPTTYPE_OFF_T``: 30000 to 39999)."""
        wide = 30000 <= option < 40000
        if self._keeps_gil:
            box, box_address = (self._int64, self._int64_address) if wide else (self._long, self._long_address)
            box.value = value
            return int(_LIBRARY._curl_easy_setopt(self._easy_address, option, box_address))
        cffi_box = self._cffi_int64 if wide else self._cffi_long
        cffi_box[0] = value
        return int(lib._curl_easy_setopt(self._easy, option, cffi_box))

    def setopt_bytes(self, option: int, value: bytes | None) -> int:
        """A string option (libcurl copies it); None unsets it."""
        if self._keeps_gil:
            return int(_LIBRARY._curl_easy_setopt(self._easy_address, option, value))
        return int(lib._curl_easy_setopt(self._easy, option, ffi.NULL if value is None else value))
