"""Child processes that cannot outlive the benchmark: started tied to it."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies (a no-op elsewhere).

    Used as ``preexec_fn`` for nginx and every client, so that a runner
    killed by a timeout (SIGKILL, which runs no ``finally``) leaves no server
    or client behind.
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that ``finally`` blocks (stopping the server) run."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
