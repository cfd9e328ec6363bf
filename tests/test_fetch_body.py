"""What the fetch engine reads of a body (sessionpool._fetch.one): streamed, bounded, saved whole or not at all.

The memory figures are those of a real ``sessionpool fetch`` process,
measured by the kernel (its peak resident set, ``VmHWM``, read by the
process itself as it exits), against the project's hostile server on loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from sessionpool import FetchOptions, QueuePool, ThreadLocalPool, fetch_one
from sessionpool._fetch.savedir import save_name
from sessionpool.testing import HostileServer, LocalServer

MIB = 1024 * 1024
#: The bound on the fetch command's peak memory, whatever the size of the bodies.
PEAK_RSS_LIMIT = 150 * 1000 * 1000


#: Runs ``sessionpool fetch`` and, as it exits, writes its peak resident set
#: (``VmHWM``, the high-water mark of the memory it mapped since it started)
#: to the file named by its first argument. Not ``ru_maxrss`` from ``wait4``:
#: Linux carries the parent's high-water mark across fork and exec into it.
_REPORTING_FETCH = """
import atexit, runpy, sys

report = sys.argv.pop(1)


def write_peak():
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(report, "w", encoding="ascii") as out:
        out.write(peak)


atexit.register(write_peak)
sys.argv[0] = "sessionpool"
runpy.run_module("sessionpool", run_name="__main__", alter_sys=True)
"""


def _fetch_measured(*args: str, stdin: str, timeout: float = 120) -> tuple[int, list[dict[str, Any]], str, int]:
    """Run ``sessionpool fetch``; its exit status, records, stderr and peak RSS in bytes."""
    with tempfile.TemporaryDirectory() as directory:
        report = Path(directory) / "peak"
        script = Path(directory) / "fetch.py"
        script.write_text(_REPORTING_FETCH, encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, str(script), str(report), "fetch", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out, err = process.communicate(stdin, timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        peak = int(report.read_text(encoding="ascii")) * 1024  # kB in /proc
    return process.returncode, [json.loads(line) for line in out.splitlines()], err, peak


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status is Linux's")
def test_a_192_mib_body_saved_keeps_memory_flat(hostile: HostileServer, tmp_path: Path) -> None:
    url = f"{hostile.url}/huge?size={192 * MIB}"
    saved = tmp_path / "saved"
    code, records, err, peak = _fetch_measured("--save-dir", str(saved), "--max-bytes", str(256 * MIB), stdin=url)
    assert code == 0, err
    [record] = records
    assert record["status"] == 200
    assert record["bytes"] == 192 * MIB
    assert record["saved"] == str(saved.resolve() / save_name(url))
    assert Path(record["saved"]).stat().st_size == 192 * MIB
    assert [path.name for path in saved.iterdir()] == [save_name(url)]  # no partial file left
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 1e6:.1f} MB"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status is Linux's")
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_decompression_bomb_is_cut_off_at_max_bytes(hostile: HostileServer, tmp_path: Path, encoding: str) -> None:
    url = f"{hostile.url}/gzip-bomb?size={256 * MIB}&encoding={encoding}"
    saved = tmp_path / "saved"
    code, records, err, peak = _fetch_measured("--max-bytes", str(16 * MIB), "--save-dir", str(saved), stdin=url)
    assert code == 1, err
    [record] = records
    assert record["status"] == 200
    assert record["error"]["type"] == "BodyTooLarge"
    assert "max_bytes=16,777,216" in record["error"]["message"]
    assert record["bytes"] is None
    assert record["saved"] is None
    assert list(saved.iterdir()) == []  # nothing of it saved, no partial file left
    assert peak < PEAK_RSS_LIMIT, f"peak RSS {peak / 1e6:.1f} MB"


def test_a_trickling_answer_ends_at_the_deadline(hostile: HostileServer) -> None:
    url = hostile.url + "/trickle?size=1000000&chunk=1&interval=0.2"
    started = time.monotonic()
    code, records, _, _ = _fetch_measured("--deadline", "3", "--timeout", "5", stdin=url)
    took = time.monotonic() - started
    [record] = records
    assert code == 1
    assert record["error"]["type"] == "DeadlineExceeded"
    assert record["attempts"] == 1
    assert 3000 <= record["elapsed_ms"] < 4500
    assert took < 10  # the process's start and stop included


def test_deadline_3_ends_a_trickling_request_within_4_5_seconds(hostile: HostileServer) -> None:
    with ThreadLocalPool(deadline=3) as pool:
        started = time.monotonic()
        result = fetch_one(pool, hostile.url + "/trickle?size=1000000&chunk=1&interval=0.5")
        took = time.monotonic() - started
    assert result.error is not None
    assert result.error.type == "DeadlineExceeded"
    assert 3.0 <= took < 4.5


def test_a_body_shorter_than_announced_is_an_error_and_not_saved(hostile: HostileServer, tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    with ThreadLocalPool() as pool:
        lying = hostile.url + "/lying-length?size=100000&actual=1000"
        result = fetch_one(pool, lying, FetchOptions(save_dir=str(saved)))
    assert result.status == 200
    assert result.error is not None
    assert result.error.type == "ChunkedEncodingError"
    assert result.saved is None
    assert list(saved.iterdir()) == []


def test_bodies_are_counted_without_being_kept(hostile: HostileServer) -> None:
    with QueuePool(size=1) as pool:
        result = fetch_one(pool, f"{hostile.url}/huge?size={8 * MIB}&chunked=1")
        close_delimited = fetch_one(pool, f"{hostile.url}/close-delimited?size={3 * MIB}")
    assert result.size == 8 * MIB
    assert close_delimited.size == 3 * MIB


def test_max_bytes_none_reads_any_length(hostile: HostileServer) -> None:
    with ThreadLocalPool() as pool:
        result = fetch_one(pool, f"{hostile.url}/huge?size={80 * MIB}", FetchOptions(max_bytes=None))
        limited = fetch_one(pool, f"{hostile.url}/huge?size={80 * MIB}")  # the default, 64 MiB
    assert result.size == 80 * MIB
    assert limited.error is not None
    assert limited.error.type == "BodyTooLarge"
    assert hostile.sent_bytes("/huge") < 2 * 80 * MIB  # the second was not read to its end


def test_a_redirects_huge_body_is_not_read(hostile: HostileServer, server: LocalServer) -> None:
    target = server.url + "/echo"
    huge_redirect = hostile.raw_url(
        b"HTTP/1.1 302 Found\r\nLocation: " + target.encode() + b"\r\nContent-Length: 4294967296\r\n\r\n"
    )
    started = time.monotonic()
    with ThreadLocalPool() as pool:
        result = fetch_one(pool, huge_redirect)
    assert result.status == 200
    assert result.final_url == target
    assert time.monotonic() - started < 10


def test_credentials_never_reach_a_result(hostile: HostileServer, server: LocalServer) -> None:
    port = server.port
    secret_location = f"http://bob:s3cret-location@127.0.0.1:{port}/echo".encode()
    redirect = f"{hostile.url}/redirect?to={secret_location.decode()}"
    urls = [
        f"http://alice:s3cret-url@127.0.0.1:{port}/echo",
        redirect.replace("http://", "http://carol:s3cret-redirect@", 1),
        f"http://dave:s3cret-bad@127.0.0.1:{port}/ok\x01",
    ]
    code, records, err, _ = _fetch_measured("--ordered", stdin="\n".join(urls))
    text = json.dumps(records) + err
    assert "s3cret" not in text
    assert records[0]["url"] == f"http://***@127.0.0.1:{port}/echo"
    assert records[0]["status"] == 200
    assert any(record["final_url"] == f"http://***@127.0.0.1:{port}/echo" for record in records)
    assert code == 1  # the malformed one


def test_a_redirect_to_a_scheme_that_cannot_be_sent_counts_the_request_sent(hostile: HostileServer) -> None:
    with ThreadLocalPool() as pool:
        result = fetch_one(pool, hostile.url + "/redirect?to=file:///etc/passwd")
    assert result.error is not None
    assert result.error.type == "InvalidSchema"
    assert result.attempts == 1
    assert hostile.paths == ["/redirect?to=file:///etc/passwd"]


def test_a_saved_name_keeps_the_extensions_dot() -> None:
    assert save_name("http://127.0.0.1:8080/x.html").endswith(".html")
    assert not save_name("http://127.0.0.1:8080/x.html").endswith("html.html")
    assert "..." not in save_name("http://127.0.0.1:8080/x.html")
