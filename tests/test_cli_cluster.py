"""``--dask CLUSTER``: parsing it, and the client (and local cluster) the command opens for it."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from sessionpool.cli import cluster
from sessionpool.cli.cluster import cluster_spec, open_client
from sessionpool.testing import LocalServer

FETCH = [sys.executable, "-m", "sessionpool", "fetch"]
SECONDS = 60


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("local:1", "local:1"),
        ("local:4", "local:4"),
        ("local:02", "local:2"),
        ("tcp://10.0.0.7:8786", "tcp://10.0.0.7:8786"),
        ("tls://scheduler.example:8786", "tls://scheduler.example:8786"),
        ("tcp://[::1]:8786", "tcp://[::1]:8786"),
    ],
)
def test_cluster_spec_takes_local_n_and_scheduler_addresses(text: str, spec: str) -> None:
    assert cluster_spec(text) == spec


@pytest.mark.parametrize(
    "text", ["local:0", "local:", "local:-1", "local:two", "local", "", "8786", "tcp://", "tcp://a b:1", "tcp://h:1/x"]
)
def test_cluster_spec_refuses_anything_else_naming_the_forms(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"expected local:N \(N >= 1.*tcp://HOST:8786"):
        cluster_spec(text)


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 1.0)
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{unused.getsockname()[1]}"
    with (
        pytest.raises(OSError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:\d+ within 1 s"),
        open_client(address),
    ):
        pytest.fail("connected to nothing")


def test_without_the_dask_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'sessionpool\[dask\]'"), open_client("local:1"):
        pytest.fail("made a cluster without distributed")


def test_local_n_makes_a_cluster_for_the_block_and_closes_it() -> None:
    with open_client("local:1") as client:
        assert len(client.nthreads()) == 1
        local = client.cluster
        assert local is not None
    assert client.status == "closed"
    assert local.status.name == "closed"


def records(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_fetch_on_a_local_cluster_gives_the_same_records_as_threads(tmp_path: Path) -> None:
    with ExitStack() as stack:
        hosts = [stack.enter_context(LocalServer(host=host)) for host in ("127.0.0.2", "127.0.0.3")]
        urls = [f"{server.url}/echo?n={n}" for n in range(40) for server in hosts] + ["not a url"]
        source = tmp_path / "urls.txt"
        source.write_text("".join(f"{url}\n" for url in urls))
        runs = {}
        for name, extra in (("threads", []), ("dask", ["--dask", "local:2"])):
            done = subprocess.run(
                [*FETCH, "--threads", "4", *extra, str(source)], capture_output=True, text=True, timeout=SECONDS
            )
            assert done.returncode == 1, done.stderr  # the malformed URL is an error
            runs[name] = records(done.stdout)
            assert "pool: 80 HTTP requests" in done.stderr  # the summary adds up every worker's pool
    for lines in runs.values():
        assert Counter(line["url"] for line in lines) == Counter(urls)  # each URL exactly once
    by_run = {
        name: Counter((line["url"], line["status"], line["bytes"]) for line in lines) for name, lines in runs.items()
    }
    assert by_run["dask"] == by_run["threads"]
