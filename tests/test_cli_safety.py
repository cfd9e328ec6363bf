"""``sessionpool fetch`` never destroys what it was given, and says exactly what it wrote.

An output that is the input, a resume on a file it cannot append to, a full
disk or a file size limit, an input line that is not UTF-8: each run as a
subprocess against a server on 127.0.0.1.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

from sessionpool.testing import LocalServer

FETCH = [sys.executable, "-m", "sessionpool", "fetch"]
SECONDS = 60


def fetch(
    *args: str, stdin: IO[Any] | None = None, stdout: IO[Any] | int = subprocess.PIPE,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    # subprocess.run kills the child if it outlives the timeout.
    return subprocess.run(
        [*FETCH, *args], stdin=stdin if stdin is not None else subprocess.DEVNULL, stdout=stdout,
        stderr=subprocess.PIPE, text=True, timeout=SECONDS, check=False, preexec_fn=preexec_fn,
    )  # fmt: skip


def urls_file(path: Path, server: LocalServer, count: int = 3) -> bytes:
    content = "".join(f"{server.url}/echo?n={n}\n" for n in range(count)).encode()
    path.write_bytes(content)
    return content


# -- the output is the input ------------------------------------------------


@pytest.mark.parametrize("resume", [[], ["--resume"]], ids=["write", "resume"])
@pytest.mark.parametrize("alias", ["same", "hard-link", "symlink"])
def test_an_output_that_is_the_input_is_refused_and_the_input_kept(
    alias: str, resume: list[str], server: LocalServer, tmp_path: Path
) -> None:
    source = tmp_path / "urls.txt"
    content = urls_file(source, server)
    output = source
    if alias == "hard-link":
        output = tmp_path / "results.jsonl"
        os.link(source, output)
    elif alias == "symlink":
        output = tmp_path / "results.jsonl"
        output.symlink_to(source)
    done = fetch(*resume, "-o", str(output), str(source))
    assert done.returncode == 2, done.stderr
    assert (
        f"sessionpool fetch: error: argument --output: {str(output)!r} is the same file as the input {str(source)!r}:"
        " writing there would destroy it"
    ) in done.stderr
    assert source.read_bytes() == content
    assert server.requests == []


def test_standard_input_and_output_redirected_from_and_to_the_input_are_refused(
    server: LocalServer, tmp_path: Path
) -> None:
    source = tmp_path / "urls.txt"
    content = urls_file(source, server)
    with source.open("rb") as stdin:  # sessionpool fetch -o urls.txt < urls.txt
        done = fetch("-o", str(source), stdin=stdin)
    assert done.returncode == 2, done.stderr
    assert "argument --output: " in done.stderr
    assert f"{str(source)!r} is the same file as the input (standard input)" in done.stderr
    with source.open("ab") as stdout:  # sessionpool fetch urls.txt >> urls.txt: the results read back as URLs
        done = fetch(str(source), stdout=stdout)
    assert done.returncode == 2, done.stderr
    assert f"argument --output: standard output is the same file as the input {str(source)!r}" in done.stderr
    assert source.read_bytes() == content
    assert server.requests == []


def test_an_output_that_is_the_proxy_file_is_refused(tmp_path: Path) -> None:
    proxies = tmp_path / "proxies.txt"
    proxies.write_text("http://127.0.0.1:3128\n")
    done = fetch("--proxy-file", str(proxies), "-o", str(proxies), "-")
    assert done.returncode == 2, done.stderr
    assert f"argument --output: {str(proxies)!r} is the same file as the --proxy-file {str(proxies)!r}" in done.stderr
    assert proxies.read_text() == "http://127.0.0.1:3128\n"


def test_the_same_device_that_is_no_regular_file_is_not_refused(server: LocalServer) -> None:
    with open(os.devnull, "rb") as stdin, open(os.devnull, "wb") as stdout:  # < /dev/null > /dev/null
        done = fetch(stdin=stdin, stdout=stdout)
    assert done.returncode == 0, done.stderr
    assert "fetched 0 URLs" in done.stderr


# -- resuming from a file that cannot be appended to ------------------------

_CAPBSET_DROP = 24  # prctl's PR_CAPBSET_DROP
_CAP_DAC_OVERRIDE = 1  # the capability that lets root write a file whose mode forbids it


def _without_dac_override() -> None:
    """In the child, before exec: drop CAP_DAC_OVERRIDE, so that root, too, cannot write a read-only file."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(_CAPBSET_DROP, _CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE)")


def _unprivileged() -> Callable[[], None] | None:
    """What makes a child unable to write a file of mode 0444: nothing for a user; for root, dropping the override."""
    if os.geteuid() != 0:
        return None
    if not sys.platform.startswith("linux"):
        pytest.skip("running as root off Linux: a read-only file stays writable to the command")
    return _without_dac_override


def test_resume_refuses_a_file_it_cannot_append_to_before_rewriting_it(server: LocalServer, tmp_path: Path) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    urls_file(source, server, count=2)
    content = (  # one done record, one error record: a compaction would rewrite the file
        json.dumps({"url": f"{server.url}/echo?n=0", "final_url": f"{server.url}/echo?n=0", "status": 200,
                    "bytes": 2, "elapsed_ms": 1.0, "attempts": 1, "error": None, "saved": None}) + "\n"
        + json.dumps({"url": f"{server.url}/echo?n=1", "final_url": None, "status": None, "bytes": None,
                      "elapsed_ms": 1.0, "attempts": 1, "error": {"type": "ConnectionError", "message": "refused"},
                      "saved": None}) + "\n"
    ).encode()  # fmt: skip
    out.write_bytes(content)
    out.chmod(0o444)
    before = out.stat()
    try:
        done = fetch("--resume", "-o", str(out), str(source), preexec_fn=_unprivileged())
    finally:
        out.chmod(0o644)
    assert done.returncode == 2, done.stderr
    assert f"sessionpool fetch: error: argument --resume: cannot append to {str(out)!r}: Permission denied" in (
        done.stderr
    )
    assert out.read_bytes() == content
    assert (out.stat().st_ino, out.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not replaced
    assert sorted(tmp_path.iterdir()) == [out, source]  # no temporary file left behind
    assert server.requests == []


# -- a full disk, a file size limit -----------------------------------------


def complete_lines(text: str) -> list[dict[str, Any]]:
    """The records of the complete lines of ``text``; a last line cut short is not one."""
    return [json.loads(line) for line in text.split("\n")[:-1]]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
@pytest.mark.parametrize("where", ["--output", "stdout"])
def test_a_full_disk_is_reported_once_without_a_traceback(where: str, server: LocalServer, tmp_path: Path) -> None:
    source = tmp_path / "urls.txt"
    urls_file(source, server, count=20)
    if where == "--output":
        done = fetch("-o", "/dev/full", "--threads", "2", str(source))
    else:
        with open("/dev/full", "wb") as full:
            done = fetch("--threads", "2", str(source), stdout=full)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "fetched 0 URLs in " in done.stderr  # none reached the file
    assert "  not written: " in done.stderr
    assert done.stderr.count("No space left on device") == 1
    assert "sessionpool fetch: cannot write the results: [Errno 28] No space left on device" in done.stderr


def _file_size_limit(size: int) -> Callable[[], None]:
    def limit() -> None:  # in the child, before exec: writes past ``size`` bytes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return limit


@pytest.mark.parametrize("size", [1000, 4096])
def test_the_summary_counts_the_lines_that_reached_a_file_that_hit_its_size_limit(
    size: int, server: LocalServer, tmp_path: Path
) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    urls_file(source, server, count=60)  # some 9 KB of results
    done = fetch("-o", str(out), "--threads", "4", str(source), preexec_fn=_file_size_limit(size))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    text = out.read_text()
    assert len(text) == size  # filled to the limit, the last line cut short there
    written = complete_lines(text)
    assert all(record["status"] == 200 for record in written)
    assert f"fetched {len(written)} URLs in " in done.stderr
    assert "File too large" in done.stderr
    not_written = int(done.stderr.split("  not written: ")[1].split()[0])
    assert len(written) + not_written <= 60


# -- input that is not UTF-8 ------------------------------------------------


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_a_line_that_is_not_utf8_is_an_error_record_and_never_sent(
    where: str, server: LocalServer, tmp_path: Path
) -> None:
    source = tmp_path / "urls.txt"
    source.write_bytes(f"{server.url}/fine\n{server.url}/ok".encode() + b"\xff\n" + f"{server.url}/also\n".encode())
    if where == "file":
        done = fetch("--ordered", str(source))
    else:
        with source.open("rb") as stdin:
            done = fetch("--ordered", stdin=stdin)
    assert done.returncode == 1, done.stderr  # the line that is no URL failed
    lines = done.stdout.splitlines()
    assert all(line.isascii() for line in lines)  # escaped, as JSON allows: \udcff
    records = [json.loads(line) for line in lines]  # every line valid JSON
    assert [record["url"] for record in records] == [
        f"{server.url}/fine",
        f"{server.url}/ok\udcff",
        f"{server.url}/also",
    ]
    bad = records[1]
    assert (bad["status"], bad["attempts"], bad["error"]["type"]) == (None, 0, "InvalidURL")
    assert "not UTF-8" in bad["error"]["message"]
    assert "\\xff" in bad["error"]["message"]  # the line's own bytes, not a character put in their place
    assert [record["status"] for record in (records[0], records[2])] == [200, 200]
    assert sorted(request.path for request in server.requests) == ["/also", "/fine"]  # nothing sent for it
