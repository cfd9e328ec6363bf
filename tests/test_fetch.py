"""``sessionpool fetch``, run as a subprocess against servers on 127.0.0.1."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from helpers import wait_until
from sessionpool.cli.output import FetchResult, PlainProgress, ResultSink, Tally, make_progress
from sessionpool.cli.save import save_name
from sessionpool.testing import LocalServer

FETCH = [sys.executable, "-m", "sessionpool", "fetch"]
SECONDS = 60


def fetch(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # subprocess.run kills the child if it outlives the timeout.
    return subprocess.run([*FETCH, *args], input=stdin, capture_output=True, text=True, timeout=SECONDS, check=False)


def results(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


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
        assert set(line) == {"url", "final_url", "status", "bytes", "elapsed_ms", "attempts", "error"}
        assert (type(line["status"]), type(line["bytes"]), type(line["elapsed_ms"])) == (int, int, float)
        assert (line["attempts"], line["error"]) == (1, None)
    by_url = {line["url"]: line for line in lines}
    assert by_url[f"{server.url}/redirect/2"]["final_url"] == f"{server.url}/"
    assert by_url[f"{server.url}/echo"]["bytes"] > 0
    assert [r.headers.get("X-Test") for r in server.requests if r.path == "/echo"] == ["yes"]
    assert "2xx 2, 3xx 0, 4xx 1, 5xx 0" in done.stderr
    assert "reuse ratio" in done.stderr
    assert "replays: 0 stale, 0 transient, 0 read" in done.stderr


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


class _Counting(ThreadingHTTPServer):
    """A server that records the most requests it was answering at once."""

    request_queue_size = 64
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CountingHandler)
        self.lock = threading.Lock()
        self.now = self.peak = 0


class _CountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Counting

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.now += 1
            self.server.peak = max(self.server.peak, self.server.now)
        time.sleep(0.05)
        with self.server.lock:  # before answering: the client's next request may come at once
            self.server.now -= 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize(("per_host", "expect_limited"), [(["--per-host", "2"], True), ([], False)])
def test_per_host_limits_requests_in_flight(per_host: list[str], expect_limited: bool) -> None:
    with _Counting() as counting:  # closed on leaving the block
        thread = threading.Thread(target=counting.serve_forever, name="counting-server")
        thread.start()
        try:
            stdin = "".join(f"http://127.0.0.1:{counting.server_address[1]}/page/{n}\n" for n in range(20))
            done = fetch("--threads", "8", *per_host, stdin=stdin)
        finally:
            counting.shutdown()
            thread.join(10)
    assert done.returncode == 0, done.stderr
    assert len(results(done.stdout)) == 20
    assert (counting.peak <= 2) is expect_limited, counting.peak
    assert counting.peak >= 2


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
        (["--header", "nocolon"], "--header"),
        (["--pool", "bogus"], "--pool"),
        (["--per-host", "-1"], "--per-host"),
        (["--size", "x"], "--size"),
        (["--timeout", "0"], "--timeout"),
        (["no-such-file.txt"], "FILE"),
    ],
)
def test_bad_arguments_exit_2_naming_them(arguments: list[str], named: str) -> None:
    done = fetch(*arguments)
    assert done.returncode == 2
    assert named in done.stderr
    assert done.stdout == ""


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


def test_help_lists_every_option() -> None:
    done = fetch("--help")
    assert done.returncode == 0
    for option in ("FILE", "--threads", "--pool", "--size", "--timeout", "-H", "--header", "--method",
                   "--retry-transient", "--per-host", "--ordered", "--output", "--save-dir"):  # fmt: skip
        assert option in done.stdout


def _result(n: int) -> FetchResult:
    return FetchResult(f"http://h/{n}", f"http://h/{n}", 200, 2, 1.0, 1)


def test_ordered_sink_holds_back_until_the_gap_fills_or_is_skipped() -> None:
    out = io.StringIO()
    sink = ResultSink(out, ordered=True, progress=make_progress(io.StringIO(), None))
    sink.add(2, _result(2))
    sink.add(1, _result(1))
    assert out.getvalue() == ""
    sink.skipped(0)  # never sent: no line, and no longer waited for
    sink.add(4, _result(4))
    sink.close()  # held back at the end: written, in order
    assert [line["url"] for line in results(out.getvalue())] == ["http://h/1", "http://h/2", "http://h/4"]
    assert (sink.tally.results, sink.tally.not_sent) == (3, 1)


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
