"""Where libcurl writes an answer: a C stream in memory, so that no byte calls back into Python.

libcurl hands each header line and each piece of the body to a callback.
A Python callback takes the GIL back for every call, in the middle of
``curl_multi_perform``, which let go of it: a dozen times for a small
answer, and under many threads each time is a wait for whichever thread
holds it. Without callbacks libcurl writes with ``fwrite`` to the stream it
is given (``CURLOPT_WRITEDATA``, ``CURLOPT_HEADERDATA``); a
:class:`MemoryFile` is such a stream, over libc's ``open_memstream``
(POSIX 2008), and the line takes what was written once per step.

The libc functions are called through :class:`ctypes.PyDLL`, which keeps
the GIL: each is a few instructions on memory this thread owns.
"""

from __future__ import annotations

import ctypes
from typing import Any

from curl_cffi import ffi

from sessionpool._curl import libc

__all__ = ["MemoryFile"]

_SEEK_SET = 0


def _functions() -> Any:
    """The C library with the signatures of the functions used here set, or None (see :func:`libc`)."""
    found = libc()
    if found is None:
        return None
    found.open_memstream.restype = ctypes.c_void_p
    found.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
    for name, argtypes in (
        ("fflush", [ctypes.c_void_p]),
        ("fclose", [ctypes.c_void_p]),
        ("fseek", [ctypes.c_void_p, ctypes.c_long, ctypes.c_int]),
    ):
        function = getattr(found, name)
        function.restype = ctypes.c_int
        function.argtypes = argtypes
    found.free.restype = None
    found.free.argtypes = [ctypes.c_void_p]
    return found


_LIBC = _functions()


class MemoryFile:
    """A growing C stream in memory: libcurl writes to :attr:`stream`, :meth:`drain` takes what it wrote.

    :raises OSError: this platform has no ``open_memstream`` (PoolConfig refuses the transport there), or it failed.
    """

    __slots__ = ("_buffer", "_file", "_size", "stream")

    def __init__(self) -> None:
        if _LIBC is None:
            raise OSError("the C library has no open_memstream")
        self._buffer = ctypes.c_void_p()
        self._size = ctypes.c_size_t()
        self._file = _LIBC.open_memstream(ctypes.byref(self._buffer), ctypes.byref(self._size))
        if not self._file:
            raise OSError(ctypes.get_errno(), "open_memstream failed")
        #: The ``FILE *`` to hand to libcurl, as curl_cffi passes pointers.
        self.stream = ffi.cast("void *", self._file)

    def drain(self) -> bytes:
        """What was written since the last drain; the stream starts over, so its memory stays what one step wrote."""
        _LIBC.fflush(self._file)
        size = self._size.value
        address = self._buffer.value
        if not size or address is None:
            return b""
        data = ctypes.string_at(address, size)
        _LIBC.fseek(self._file, 0, _SEEK_SET)
        return data

    def close(self) -> None:
        """Close the stream and free its memory (idempotent)."""
        if self._file:
            _LIBC.fclose(self._file)
            _LIBC.free(self._buffer)
            self._file = None
            self.stream = ffi.NULL
