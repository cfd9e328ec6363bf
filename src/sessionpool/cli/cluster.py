"""``--dask CLUSTER``: which Dask cluster ``sessionpool fetch`` runs on, and the client connected to it."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["cluster_spec", "open_client"]

_LOCAL = re.compile(r"local:([0-9]+)")


def cluster_spec(text: str) -> str:
    """``local:N`` (N >= 1) or a scheduler address such as ``tcp://HOST:8786``."""
    local = _LOCAL.fullmatch(text)
    if (local is not None and int(local.group(1)) >= 1) or re.fullmatch(r"[a-z]+://\S+", text):
        return text
    raise argparse.ArgumentTypeError(
        f"expected local:N (N >= 1) or a scheduler address such as tcp://HOST:8786, got {text!r}"
    )


@contextmanager
def open_client(spec: str) -> Iterator[Any]:
    """A Dask client for ``spec``: with ``local:N``, on a local cluster of N worker processes made for the block."""
    from distributed import Client, LocalCluster

    local = _LOCAL.fullmatch(spec)
    if local is None:
        with Client(spec, timeout=10) as client:
            yield client
        return
    cluster = LocalCluster(n_workers=int(local.group(1)), processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        yield client
