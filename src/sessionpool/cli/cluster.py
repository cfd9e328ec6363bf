"""``--dask CLUSTER``: which Dask cluster ``sessionpool fetch`` runs on, and the client connected to it.

``local:N`` makes a :class:`distributed.LocalCluster` of N worker processes
for the run and closes it at the end (Ctrl-C included); a scheduler address
(``tcp://HOST:8786``, or any scheme Dask knows, such as ``tls://``) connects
to a running cluster and closes only the client. ``distributed`` (the
``dask`` extra) is imported only when a client is opened.
"""

from __future__ import annotations

import argparse
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing import resource_tracker
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import distributed

__all__ = ["CONNECT_SECONDS", "cluster_spec", "open_client"]

#: How long connecting to a scheduler may take before the command gives up.
CONNECT_SECONDS = 10.0
#: Worker threads per process of a ``local:N`` cluster: one batch at a time, its ``--threads`` threads
#: sending (the next batch waits on the worker, to start as it ends): as many requests in flight per
#: process as ``--processes`` has.
LOCAL_THREADS_PER_WORKER = 1

_LOCAL = re.compile(r"local:([0-9]+)")
_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/]+")
_FORMS = "local:N (N >= 1, a local cluster of N worker processes) or a scheduler address such as tcp://HOST:8786"


def cluster_spec(text: str) -> str:
    """``local:N`` (N >= 1) or a scheduler address such as ``tcp://HOST:8786``: an argparse type.

    :raises argparse.ArgumentTypeError: for anything else, naming the allowed forms.
    """
    local = _LOCAL.fullmatch(text)
    if local is not None:
        if int(local.group(1)) >= 1:
            return f"local:{int(local.group(1))}"
    elif _ADDRESS.fullmatch(text):
        return text
    raise argparse.ArgumentTypeError(f"expected {_FORMS}; got {text!r}")


@contextmanager
def open_client(spec: str) -> Iterator[distributed.Client]:
    """A Dask client for ``spec`` (as :func:`cluster_spec` returns it), closed at the end of the block.

    With ``local:N``, a local cluster of N worker processes is made for the
    block and closed with it, even when the block is left by Ctrl-C; its
    workers never see Ctrl-C themselves (it belongs to the command, which
    cancels the fetch). With an address, only the client is closed.

    :raises ImportError: when the ``dask`` extra is not installed.
    :raises OSError: when the scheduler cannot be reached within :data:`CONNECT_SECONDS`.
    """
    try:
        import dask.config
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise ImportError(
            "--dask needs dask.distributed, which sessionpool's 'dask' extra installs: pip install 'sessionpool[dask]'"
        ) from error
    local = _LOCAL.fullmatch(spec)
    if local is None:
        try:
            client = Client(spec, timeout=CONNECT_SECONDS)
        except OSError as error:  # distributed's connect timeout is an OSError too
            raise OSError(f"cannot reach the Dask scheduler at {spec} within {CONNECT_SECONDS:g} s: {error}") from error
        with client:
            yield client
        return
    # The workers' statistical profiler samples every thread's stack a hundred times a second: a cost on
    # every request, for a profile nobody reads here; and on CPython 3.11 before 3.11.9 its
    # sys._current_frames() can deadlock a process that starts threads, as every batch does (gh-116969).
    with _sigint_blocked(), dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(
            n_workers=int(local.group(1)),
            threads_per_worker=LOCAL_THREADS_PER_WORKER,
            processes=True,
            dashboard_address=":0",  # a free port: the default 8787 may be taken (which warns)
        )
    with cluster, Client(cluster) as client:
        yield client


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread (and the threads and processes it starts) for the block, where POSIX allows."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    # multiprocessing's resource tracker, started by the cluster's first process, unblocks SIGINT in the thread
    # that starts it (and so in every process started from there): started now, it leaves the mask alone.
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
