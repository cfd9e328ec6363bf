"""``sessionpool fetch``, run as a subprocess against servers on 127.0.0.1."""

from __future__ import annotations

import argparse
import contextlib
import errno
import io
import itertools
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers import wait_until
from sessionpool import ErrorInfo, FetchOptions, FetchResult, PoolStats
from sessionpool._fetch.savedir import save_name
from sessionpool.cli import fetch as fetch_command
from sessionpool.cli.output import PlainProgress, ResultSink, Tally, format_summary, make_progress
from sessionpool.testing import LocalServer

FETCH = [sys.executable, "-m", "sessionpool", "fetch"]
SECONDS = 60


def fetch(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # subprocess.run kills the child if it outlives the timeout.
    return subprocess.run([*FETCH, *args], input=stdin, capture_output=True, text=True, timeout=SECONDS, check=False)


def results(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def _interrupt_until_it_exits(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Press Ctrl-C until ``process`` exits (signals sent together may arrive as one); its output.

    It must exit within 10 s of the first press: not after the 30 s read timeout.
    """
    interrupted = time.monotonic()
    for _ in range(50):
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.2)
            break
    stdout, stderr = process.communicate(timeout=SECONDS)
    assert time.monotonic() - interrupted < 10
    return stdout, stderr


def refused_url() -> str:
    with socket.socket() as sock:  # a port nothing listens on any more
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/"


def test_one_json_line_per_url_from_stdin(server: LocalServer) -> None:
    stdin = f"# a comment\n\n{server.url}/echo\n   \n{server.url}/redirect/2\n{server.url}/status/404\n"
    done = fetch("--threads", "2", "-H", "X-Test: yes", stdin=stdin)
    assert done.returncode == 0, done.stderr
    lines = results(done.stdout)
    paths = ("/echo", "/redirect/2", "/status/404")
    assert sorted(line["url"] for line in lines) == sorted(f"{server.url}{path}" for path in paths)
    for line in lines:
        assert set(line) == {"url", "final_url", "status", "bytes", "elapsed_ms", "attempts", "error", "saved"}
        assert (type(line["status"]), type(line["bytes"]), type(line["elapsed_ms"])) == (int, int, float)
        assert (line["attempts"], line["error"]) == (1, None)
    by_url = {line["url"]: line for line in lines}
    assert by_url[f"{server.url}/redirect/2"]["final_url"] == f"{server.url}/"
    assert by_url[f"{server.url}/echo"]["bytes"] > 0
    assert [r.headers.get("X-Test") for r in server.requests if r.path == "/echo"] == ["yes"]
    assert "2xx 2, 3xx 0, 4xx 1, 5xx 0" in done.stderr
    assert "reuse ratio" in done.stderr
    assert "retries: 0 stale, 0 transient, 0 read" in done.stderr


def test_ordered_writes_input_order(server: LocalServer, tmp_path: Path) -> None:
    urls = [f"{server.url}/sleep/0.2", *(f"{server.url}/echo?n={n}" for n in range(5))]
    source = tmp_path / "urls.txt"
    source.write_text("\n".join(urls) + "\n")
    unordered = fetch("--threads", "4", str(source))
    assert [line["url"] for line in results(unordered.stdout)][-1] == urls[0]  # the slow one came last
    ordered = fetch("--threads", "4", "--ordered", str(source))
    assert [line["url"] for line in results(ordered.stdout)] == urls
    assert ordered.returncode == unordered.returncode == 0


def test_errors_are_recorded_per_url(server: LocalServer) -> None:
    refused = refused_url()
    urls = [f"{server.url}/status/500", refused, "not a url", "ftp://x/", "http://", f"{server.url}/echo"]
    done = fetch(stdin="\n".join(urls))
    assert done.returncode == 1
    by_url = {line["url"]: line for line in results(done.stdout)}
    assert set(by_url) == set(urls)
    assert (by_url[f"{server.url}/status/500"]["status"], by_url[f"{server.url}/status/500"]["error"]) == (500, None)
    assert by_url[refused]["error"]["type"] == "ConnectionError"
    assert (by_url[refused]["status"], by_url[refused]["bytes"]) == (None, None)
    for malformed, kind in (("not a url", "MissingSchema"), ("ftp://x/", "InvalidSchema"), ("http://", "InvalidURL")):
        assert by_url[malformed]["error"]["type"] == kind
        assert by_url[malformed]["attempts"] == 0
        assert malformed in by_url[malformed]["error"]["message"]
    assert "errors: 4 (" in done.stderr


@pytest.mark.parametrize(("per_host", "expect_limited"), [(["--per-host", "2"], True), ([], False)])
def test_per_host_limits_requests_in_flight(per_host: list[str], expect_limited: bool) -> None:
    with LocalServer() as server:
        stdin = "".join(f"{server.url}/sleep/0.05?page={n}\n" for n in range(20))
        done = fetch("--threads", "8", *per_host, stdin=stdin)
        peak = server.peak_in_flight
    assert done.returncode == 0, done.stderr
    assert len(results(done.stdout)) == 20
    assert (peak <= 2) is expect_limited, peak
    assert peak >= 2


def test_robots_skips_disallowed_urls_and_says_so() -> None:
    robots = b"User-agent: *\nDisallow: /private\n"
    with LocalServer(bodies={"/robots.txt": robots}) as server:
        urls = [f"{server.url}/public/{n}" for n in range(3)] + [f"{server.url}/private/{n}" for n in range(2)]
        done = fetch("--threads", "4", "--robots", stdin="\n".join(urls))
        sent = [r.path for r in server.requests]
    assert done.returncode == 1, done.stderr  # the skipped URLs count as errors
    by_url = {line["url"]: line for line in results(done.stdout)}
    assert len(by_url) == 5
    for url in urls[3:]:
        assert by_url[url]["status"] is None
        assert by_url[url]["attempts"] == 0
        assert by_url[url]["error"]["type"] == "DisallowedByRobots"
        assert f"{server.url}/robots.txt disallows {url}" in by_url[url]["error"]["message"]
    assert all(by_url[url]["status"] == 200 for url in urls[:3])
    assert sent.count("/robots.txt") == 1
    assert not [path for path in sent if path.startswith("/private")]


@pytest.mark.parametrize(
    "politeness",
    [["--per-host-rate", "5"], ["--delay", "0.2"], ["--delay", "0.2", "--autothrottle"]],
    ids=["rate", "delay", "autothrottle"],
)
def test_rate_and_delay_space_out_one_hosts_requests(politeness: list[str]) -> None:
    # 6 URLs of one host on 6 threads: at 5 a second (a burst of 1), or 0.2 s
    # apart, they start 0.2 s apart or more (AutoThrottle starts at 1 s).
    with LocalServer() as server:
        stdin = "".join(f"{server.url}/r?page={n}\n" for n in range(6))
        done = fetch("--threads", "6", *politeness, stdin=stdin)
        received = sorted(r.received for r in server.requests)
    assert done.returncode == 0, done.stderr
    assert len(received) == 6
    assert received[-1] - received[0] >= 0.9
    assert all(later - earlier >= 0.15 for earlier, later in itertools.pairwise(received))


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_save_dir_never_writes_outside(server: LocalServer, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("keep me")
    saved = tmp_path / "work" / "saved"
    escaping = [
        f"{server.url}/../../outside.txt",
        f"{server.url}/%2e%2e%2f%2e%2e%2foutside.txt",
        f"{server.url}/a/..%2f..%2f..%2foutside.txt",
        f"{server.url}/" + "/".join([".."] * 12) + "/tmp/x",
    ]
    trapped = f"{server.url}/trapped"
    saved.mkdir(parents=True)
    (saved / save_name(trapped)).symlink_to(tmp_path / "outside.txt")  # a symlink already there, pointing out
    before = tree(tmp_path)
    done = fetch("--save-dir", str(saved), stdin="\n".join([f"{server.url}/echo", *escaping, trapped]))
    assert done.returncode == 1, done.stderr
    by_url = {line["url"]: line for line in results(done.stdout)}
    assert by_url[trapped]["error"]["type"] == "UnsafeSavePath"
    assert by_url[trapped]["status"] == 200
    assert all(by_url[url]["error"] is None for url in [f"{server.url}/echo", *escaping])
    after = tree(tmp_path)
    outside = {name: body for name, body in after.items() if not name.startswith("work/saved/")}
    assert outside == {name: body for name, body in before.items() if not name.startswith("work/saved/")}
    assert (tmp_path / "outside.txt").read_text() == "keep me"
    files = [path for path in saved.iterdir() if not path.is_symlink()]
    assert len(files) == 1 + len(escaping)
    assert {path.name for path in files} == {save_name(url) for url in [f"{server.url}/echo", *escaping]}
    assert json.loads((saved / save_name(f"{server.url}/echo")).read_bytes())["path"] == "/echo"


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--threads", "0"], "--threads"),
        (["--header", "nocolon"], "-H/--header"),
        (["--pool", "bogus"], "--pool"),
        (["--per-host", "-1"], "--per-host"),
        (["--size", "x"], "--size"),
        (["--size", "2"], "--size"),  # a QueuePool's size, without --pool queue
        (["--dask", "local:2", "--pool", "thread-local"], "--pool"),
        (["--timeout", "0"], "--timeout"),
        (["--per-host-rate", "0"], "--per-host-rate"),
        (["--delay", "-1"], "--delay"),
        (["--deadline", "-1"], "--deadline"),
        (["--deadline", "soon"], "--deadline"),
        (["--deadline", "inf"], "--deadline"),
        (["--max-bytes", "-1"], "--max-bytes"),
        (["--max-bytes", "1.5"], "--max-bytes"),
        (["--proxy", "no-scheme.example:8080"], "--proxy"),
        (["--proxy-file", "no-such-file.txt"], "--proxy-file"),
        (["no-such-file.txt"], "FILE"),
    ],
)
def test_bad_arguments_exit_2_naming_them(arguments: list[str], named: str) -> None:
    done = fetch(*arguments)
    assert done.returncode == 2
    assert f"argument {named}" in done.stderr
    assert done.stdout == ""


SECRET = "hunter2"


@pytest.mark.parametrize(
    "proxy",
    [
        f"ftp://user:{SECRET}@proxy.example:21",  # a scheme no proxy has
        f"http://user:{SECRET}@proxy.example:99999",  # a port out of range
        f"http://user:{SECRET}@proxy.example:port",  # a port that is no number
        f"http://user:{SECRET}\uff03@proxy.example:8080",  # quoted by urllib's own message: not by ours
        f"http://user:{SECRET}@",  # no host
    ],
    ids=["scheme", "port-range", "port-text", "nfkc", "no-host"],
)
def test_a_bad_proxy_exits_2_without_showing_its_password(proxy: str, tmp_path: Path, server: LocalServer) -> None:
    listed = tmp_path / "proxies.txt"
    listed.write_text(f"# the office proxies\n\nhttp://127.0.0.1:3128\n{proxy}\n", encoding="utf-8")
    for arguments, named in (
        (["--proxy", proxy], "argument --proxy: "),
        (["--proxy-file", str(listed)], f"argument --proxy-file: {listed} line 4: "),
    ):
        done = fetch(*arguments, stdin=f"{server.url}/echo\n")
        assert done.returncode == 2, done.stderr
        assert named + "expected a proxy URL" in done.stderr
        assert SECRET not in done.stderr
        assert done.stdout == ""
    assert server.requests == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [("# none yet\n\n", "holds no proxy URL"), ("http://127.0.0.1:3128\n\xff\n", "line 2: not UTF-8 text")],
    ids=["empty", "not-utf8"],
)
def test_a_proxy_file_without_proxies_or_text_exits_2(content: str, problem: str, tmp_path: Path) -> None:
    listed = tmp_path / "proxies.txt"
    listed.write_bytes(content.encode("latin-1"))
    done = fetch("--proxy-file", str(listed), stdin="http://127.0.0.1:1/\n")
    assert done.returncode == 2
    assert f"argument --proxy-file: {listed}" in done.stderr
    assert problem in done.stderr


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    fetch_command.add_arguments(parser)
    return parser.parse_args(argv)


def test_deadline_max_bytes_and_proxies_reach_the_pool_and_the_options(tmp_path: Path) -> None:
    defaults = parsed()
    assert fetch_command.pool_config(defaults).deadline == fetch_command.DEFAULT_DEADLINE == 120.0
    assert fetch_command.fetch_options(defaults).max_bytes == FetchOptions().max_bytes == 64 * 1024 * 1024
    assert fetch_command.pool_config(defaults).proxy_rotation == ()
    off = parsed("--deadline", "0", "--max-bytes", "0")
    assert (fetch_command.pool_config(off).deadline, fetch_command.fetch_options(off).max_bytes) == (None, None)
    listed = tmp_path / "proxies.txt"
    listed.write_text("# first the cheap ones\nsocks5h://u:p@127.0.0.1:1080\n\n  http://127.0.0.1:3129  \n")
    chosen = parsed("--deadline", "2.5", "--max-bytes", "1000", "--proxy", "http://127.0.0.1:3128", "--proxy-file",
                    str(listed))  # fmt: skip
    assert fetch_command.pool_config(chosen).deadline == 2.5
    assert fetch_command.fetch_options(chosen).max_bytes == 1000
    assert fetch_command.pool_config(chosen).proxy_rotation == (
        "http://127.0.0.1:3128", "socks5h://u:p@127.0.0.1:1080", "http://127.0.0.1:3129"
    )  # fmt: skip


@pytest.mark.parametrize(("limit", "too_large"), [("999", True), ("1000", False), ("0", False)])
def test_max_bytes_cuts_off_a_longer_body(limit: str, too_large: bool) -> None:
    with LocalServer(bodies={"/big": b"x" * 1000}) as server:
        done = fetch("--max-bytes", limit, stdin=f"{server.url}/big\n")
    (record,) = results(done.stdout)
    assert record["status"] == 200
    if too_large:
        assert done.returncode == 1
        assert (record["bytes"], record["error"]["type"]) == (None, "BodyTooLarge")
        assert "999" in record["error"]["message"]
    else:
        assert done.returncode == 0, done.stderr
        assert (record["bytes"], record["error"]) == (1000, None)


def test_deadline_bounds_a_whole_request(server: LocalServer) -> None:
    started = time.monotonic()
    done = fetch("--deadline", "0.5", stdin=f"{server.url}/sleep/20\n{server.url}/ok\n")
    assert time.monotonic() - started < 15  # not the 20 s the server takes, nor the 30 s read timeout
    assert done.returncode == 1
    by_url = {line["url"]: line for line in results(done.stdout)}
    assert by_url[f"{server.url}/sleep/20"]["error"]["type"] == "DeadlineExceeded"
    assert by_url[f"{server.url}/ok"]["status"] == 200


def test_ctrl_c_writes_what_was_received_and_exits_130(server: LocalServer, tmp_path: Path) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    source.write_text("".join(f"{server.url}/sleep/0.1?n={n}\n" for n in range(200)))
    with subprocess.Popen(
        [*FETCH, "--output", str(out), str(source)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert wait_until(lambda: out.exists() and out.read_text().count("\n") >= 5, seconds=30)
            process.send_signal(signal.SIGINT)
            interrupted = time.monotonic()
            _, stderr = process.communicate(timeout=SECONDS)
            assert time.monotonic() - interrupted < 5  # the requests in flight take 0.1 s
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 130
    assert "interrupted" in stderr
    assert "reuse ratio" in stderr
    assert out.read_text().endswith("\n")
    lines = results(out.read_text())
    assert 5 <= len(lines) < 200
    assert all(line["status"] == 200 for line in lines)


def test_a_second_ctrl_c_gives_up_on_requests_in_flight(server: LocalServer) -> None:
    with LocalServer(silent=True) as silent:  # never answers: only giving up ends these requests
        stdin = f"{server.url}/echo\n{silent.url}/a\n{silent.url}/b\n"
        with subprocess.Popen(
            [*FETCH, "--threads", "3", "--ordered"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ) as process:  # fmt: skip
            try:
                assert process.stdin is not None
                process.stdin.write(stdin)
                process.stdin.flush()  # left open: the input has not ended
                assert wait_until(lambda: len(silent.requests) == 2, seconds=30)
                stdout, stderr = _interrupt_until_it_exits(process)  # two presses at least
            finally:
                if process.poll() is None:
                    process.kill()
                    process.communicate()
    assert process.returncode == 130
    assert "gave up on 2 requests still in flight" in stderr
    assert [line["url"] for line in results(stdout)] == [f"{server.url}/echo"]


def test_sigterm_lets_requests_in_flight_finish_writes_them_and_exits_143(server: LocalServer, tmp_path: Path) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    source.write_text("".join(f"{server.url}/sleep/0.5?n={n}\n" for n in range(100)))
    with subprocess.Popen(
        [*FETCH, "--threads", "4", "--output", str(out), str(source)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    ) as process:  # fmt: skip
        try:
            assert wait_until(lambda: out.exists() and out.read_text().count("\n") >= 4, seconds=30)
            process.send_signal(signal.SIGTERM)  # as timeout, systemd, docker stop and Kubernetes do
            stopped = time.monotonic()
            _, stderr = process.communicate(timeout=SECONDS)
            assert time.monotonic() - stopped < 10  # the requests in flight take 0.5 s
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr
    text = out.read_text()
    assert text.endswith("\n")
    lines = results(text)  # every line valid JSON
    assert 4 <= len(lines) < 100
    assert all(line["status"] == 200 and line["error"] is None for line in lines)  # none given up on
    assert len(lines) == len(server.requests)  # the requests in flight when it came were waited for and written
    assert f"fetched {len(lines)} URLs" in stderr
    assert "interrupted by SIGTERM: " in stderr
    assert "gave up" not in stderr


def test_a_second_signal_after_sigterm_gives_up_and_the_first_decides_the_status(server: LocalServer) -> None:
    stdin = f"{server.url}/echo\n{{silent}}/a\n{{silent}}/b\n"
    with (
        LocalServer(silent=True) as silent,
        subprocess.Popen(  # the silent server never answers
            [*FETCH, "--threads", "3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process,
    ):
        try:
            assert process.stdin is not None
            process.stdin.write(stdin.format(silent=silent.url))
            process.stdin.flush()  # left open: the input has not ended
            assert wait_until(lambda: len(silent.requests) == 2, seconds=30)
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.5)
            assert process.poll() is None  # waiting for the requests in flight, which only giving up ends
            stdout, stderr = _interrupt_until_it_exits(process)  # then Ctrl-C, until it has been received
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 143, stderr  # SIGTERM came first
    assert "interrupted by SIGTERM" in stderr
    assert "gave up on 2 requests still in flight" in stderr
    assert [line["url"] for line in results(stdout)] == [f"{server.url}/echo"]


def test_help_lists_every_option() -> None:
    done = fetch("--help")
    assert done.returncode == 0
    for option in ("FILE", "--threads", "--pool", "--size", "--timeout", "-H", "--header", "--method",
                   "--retry-transient", "--per-host", "--per-host-rate", "--delay", "--autothrottle", "--robots",
                   "--ordered", "--output", "--save-dir", "--deadline", "--max-bytes", "--proxy",
                   "--proxy-file"):  # fmt: skip
        assert option in done.stdout
    assert "130 when interrupted by Ctrl-C (SIGINT), 143 when stopped by SIGTERM" in " ".join(done.stdout.split())


def _result(n: int, error: ErrorInfo | None = None) -> FetchResult:
    return FetchResult(
        index=n, url=f"http://h/{n}", final_url=f"http://h/{n}", status=200, size=2, elapsed_ms=1.0004, attempts=1,
        error=error,
    )  # fmt: skip


def test_sink_writes_one_line_per_result_in_the_order_given() -> None:
    out = io.BytesIO()
    sink = ResultSink(out, progress=make_progress(io.StringIO(), None))
    sink.add(_result(2))
    sink.add(_result(0, ErrorInfo("UnsafeSavePath", "refusing")))
    sink.close()
    sink.add(_result(1))  # after close: dropped
    lines = results(out.getvalue().decode())
    assert [line["url"] for line in lines] == ["http://h/2", "http://h/0"]
    assert lines[0] == {
        "url": "http://h/2", "final_url": "http://h/2", "status": 200, "bytes": 2, "elapsed_ms": 1.0, "attempts": 1,
        "error": None, "saved": None,
    }  # fmt: skip
    assert lines[1]["error"] == {"type": "UnsafeSavePath", "message": "refusing"}
    assert (sink.tally.results, sink.tally.failed) == (2, 1)


class _FillingFile(io.BytesIO):
    """A file that takes at most ``room`` bytes, a few at a time, as a disk that fills up does."""

    def __init__(self, room: int, *, chunk: int = 7) -> None:
        super().__init__()
        self.room, self.chunk = room, chunk

    def write(self, data: Any, /) -> int:
        if self.room == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        taken = bytes(data[: min(self.chunk, self.room)])
        self.room -= len(taken)
        return super().write(taken)


def test_the_sink_counts_the_complete_lines_written_and_the_results_not_written() -> None:
    line = len(json.dumps(_result(0).to_json())) + 1
    out = _FillingFile(room=2 * line + line // 2)  # two lines and a half
    sink = ResultSink(out, progress=make_progress(io.StringIO(), None))
    for n in range(5):
        sink.add(_result(n, None if n else ErrorInfo("ConnectionError", "refused")))
    sink.close()
    written = out.getvalue().decode()
    assert written.count("\n") == 2  # and half a line, cut off where the room ran out
    assert [record["url"] for record in results(written.rpartition("\n")[0])] == ["http://h/0", "http://h/1"]
    assert (sink.tally.results, sink.tally.failed, sink.tally.not_written) == (2, 1, 3)
    assert isinstance(sink.write_error, OSError)
    assert sink.write_error.errno == errno.ENOSPC
    summary = format_summary(sink.tally, PoolStats.combine([]), 1.0)
    assert summary.startswith("fetched 2 URLs in 1.00 s")
    assert "  not written: 3 more results, after the output failed" in summary


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_plain_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    quiet = io.StringIO()
    progress = make_progress(quiet, 3)
    progress.update(Tally(results=1))
    progress.close()
    assert quiet.getvalue() == ""
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if it were not installed
    assert isinstance(make_progress(_Terminal(), 3), PlainProgress)


def test_proxies_from_the_command_line_and_a_file_carry_every_request(tmp_path: Path) -> None:
    with LocalServer() as first, LocalServer() as second:  # a LocalServer answers as a proxy too
        listed = tmp_path / "proxies.txt"
        listed.write_text(f"# the second proxy\n{second.url}\n")
        stdin = "".join(f"http://sessionpool.invalid/echo?n={n}\n" for n in range(8))  # a name no resolver knows
        done = fetch("--threads", "2", "--proxy", first.url, "--proxy-file", str(listed), stdin=stdin)
        proxied = [request.path for request in (*first.requests, *second.requests)]
    assert done.returncode == 0, done.stderr
    assert all(line["status"] == 200 for line in results(done.stdout))
    assert sorted(proxied) == sorted(f"http://sessionpool.invalid/echo?n={n}" for n in range(8))


def test_the_curl_transport_fetches_the_same_results(server: LocalServer) -> None:
    stdin = "".join(f"{server.url}/n/{n}\n" for n in range(20))
    plain = fetch("--ordered", stdin=stdin)
    curl = fetch("--ordered", "--transport", "curl", stdin=stdin)
    assert plain.returncode == curl.returncode == 0, curl.stderr
    keep = ("url", "final_url", "status", "bytes", "attempts", "error")
    expected = [{k: r[k] for k in keep} for r in results(plain.stdout)]
    assert [{k: r[k] for k in keep} for r in results(curl.stdout)] == expected
    opened = int(curl.stderr.split("20 HTTP requests on ", 1)[1].split(" ", 1)[0])
    assert 1 <= opened <= 8  # at most one connection per worker thread (8 by default)
