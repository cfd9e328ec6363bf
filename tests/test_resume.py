"""``sessionpool fetch --resume``: compacting an interrupted run's output, and skipping what it did."""

from __future__ import annotations

import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from helpers import wait_until
from sessionpool import ErrorInfo, FetchResult
from sessionpool.cli.resume import ResumeError, ResumePlan, compact_output, prepare_output
from sessionpool.testing import LocalServer

FETCH = [sys.executable, "-m", "sessionpool", "fetch"]
SECONDS = 60
REFUSED = ErrorInfo("ConnectionError", "connection refused")


def fetch(*args: str) -> subprocess.CompletedProcess[str]:
    # subprocess.run kills the child if it outlives the timeout.
    return subprocess.run([*FETCH, *args], capture_output=True, text=True, timeout=SECONDS, check=False)


def line(url: str, *, status: int | None = 200, error: ErrorInfo | None = None) -> bytes:
    """One record as ``sessionpool fetch`` writes it."""
    answered = status is not None
    result = FetchResult(
        index=0,
        url=url,
        final_url=url if answered else None,
        status=status,
        size=2 if answered else None,
        elapsed_ms=1.25,
        attempts=1,
        error=error,
    )
    return (json.dumps(result.to_json()) + "\n").encode()


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(text) for text in path.read_text().splitlines()]


def refused_port() -> int:
    with socket.socket() as sock:  # a port nothing listens on any more
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the output file --------------------------------------------------------


def test_compaction_keeps_done_lines_byte_identical_and_drops_error_lines(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    spaced = (  # not as json.dumps would write it, and from a version that wrote no "saved"
        b'{ "error" : null,  "status": 200, "url": "http://h/spaced", "final_url": "http://h/spaced",'
        b' "bytes" : 2, "elapsed_ms": 1, "attempts": 1 }\n'
    )
    done = [line("http://h/a"), line("http://h/404", status=404), spaced, line("http://h/a")]
    out.write_bytes(
        done[0] + line("http://h/b", status=None, error=REFUSED) + done[1] + done[2]
        + line("http://h/c", status=500, error=ErrorInfo("UnsafeSavePath", "no")) + done[3]
    )  # fmt: skip
    out.chmod(0o644)
    plan = compact_output(str(out))
    assert out.read_bytes() == b"".join(done)
    assert plan.done == Counter({"http://h/a": 2, "http://h/404": 1, "http://h/spaced": 1})
    assert (plan.kept, plan.dropped_errors, plan.truncated) == (4, 2, False)
    assert out.stat().st_mode & 0o777 == 0o644  # not the temporary file's 0600
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_a_file_with_nothing_to_drop_is_left_as_it_is(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(line("http://h/a") + line("http://h/b"))
    before = out.stat()
    plan = compact_output(str(out))
    assert (out.stat().st_ino, out.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert (plan.kept, plan.dropped_errors) == (2, 0)
    assert list(tmp_path.iterdir()) == [out]


def test_a_cut_off_last_line_is_dropped_with_a_warning_naming_the_file(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    cut = line("http://h/b")[:30]
    out.write_bytes(line("http://h/a") + cut)
    warnings = io.StringIO()
    plan = prepare_output(str(out), warnings=warnings)
    assert out.read_bytes() == line("http://h/a")
    assert plan.truncated
    assert plan.done == Counter({"http://h/a": 1})
    assert f"warning: {out}: dropped its last line" in warnings.getvalue()
    assert "incomplete last line dropped" in plan.summary_line()


def test_a_whole_last_record_without_its_newline_is_kept_and_ended(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(line("http://h/a") + line("http://h/b").rstrip(b"\n"))
    warnings = io.StringIO()
    plan = prepare_output(str(out), warnings=warnings)
    assert out.read_bytes() == line("http://h/a") + line("http://h/b")  # the run appends after a newline
    assert (plan.kept, plan.truncated, warnings.getvalue()) == (2, False, "")


def test_a_missing_file_means_nothing_is_done(tmp_path: Path) -> None:
    plan = compact_output(str(tmp_path / "out.jsonl"))
    assert (plan.done, plan.kept, plan.dropped_errors, plan.truncated) == (Counter(), 0, 0, False)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_regular_file_is_refused_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    os.mkfifo(out)  # opening it to read would wait for a writer
    with pytest.raises(ResumeError, match=r"out\.jsonl"):
        compact_output(str(out))


def record(**changes: Any) -> bytes:
    """A record as ``sessionpool fetch`` writes it, with some keys changed (or dropped, given ``DROP``)."""
    fields = json.loads(line("http://h/a"))
    fields.update(changes)
    return (json.dumps({key: value for key, value in fields.items() if value is not DROP}) + "\n").encode()


DROP = object()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"id": 7}, 'it has "id"'),
        ({"url": DROP, "tags": [], "name": "x"}, 'it lacks "url" and has "name", "tags"'),
        ({"status": True}, 'its "status" is a boolean, not a whole number or null'),
        ({"status": 200.0}, 'its "status" is a decimal number, not a whole number or null'),
        ({"url": None}, 'its "url" is null, not a string'),
        ({"final_url": 3}, 'its "final_url" is a whole number, not a string or null'),
        ({"bytes": "2"}, 'its "bytes" is a string, not a whole number or null'),
        ({"elapsed_ms": "1.25"}, 'its "elapsed_ms" is a string, not a number'),
        ({"elapsed_ms": False}, 'its "elapsed_ms" is a boolean, not a number'),
        ({"attempts": 1.0}, 'its "attempts" is a decimal number, not a whole number'),
        ({"error": "boom"}, 'its "error" is a string, not an object or null'),
        ({"error": {"type": "ConnectionError"}}, 'its "error" is not an object of a "type" and a "message" string'),
        ({"error": {"type": "X", "message": 1}}, 'its "error" is not an object of a "type" and a "message" string'),
        ({"saved": 1}, 'its "saved" is a whole number, not a string or null'),
    ],
)
def test_a_line_is_a_record_only_with_exactly_the_keys_and_types_fetch_writes(
    changes: dict[str, Any], problem: str, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    content = line("http://h/a") + line("http://h/b", status=None, error=REFUSED) + record(**changes)
    out.write_bytes(content)
    with pytest.raises(ResumeError) as refused:
        compact_output(str(out))
    assert str(refused.value) == f"{out} line 3: not a record of sessionpool fetch: {problem}"
    assert out.read_bytes() == content
    assert list(tmp_path.iterdir()) == [out]


def test_records_with_and_without_saved_are_both_recognised(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    earlier = record(saved=DROP, url="http://h/earlier")  # written before records had "saved"
    saved = record(saved="pages/h-a.html", url="http://h/saved")
    out.write_bytes(earlier + saved + record(error={"type": "WorkerDied", "message": "gone"}, status=None))
    plan = compact_output(str(out))
    assert out.read_bytes() == earlier + saved
    assert plan.done == Counter({"http://h/earlier": 1, "http://h/saved": 1})
    assert plan.dropped_errors == 1


# -- skipping what is done --------------------------------------------------


def test_each_done_record_skips_its_url_once() -> None:
    plan = ResumePlan("out.jsonl", done=Counter({"a": 1, "b": 2}))
    urls = ["a", "a", "b", "c", "b", "b"]
    assert list(plan.skip_done(urls)) == ["a", "c", "b"]  # a listed twice and done once: fetched once more
    assert plan.skipped == 3
    assert plan.done == Counter()  # what the input matched is forgotten


def test_a_url_with_credentials_is_matched_as_its_record_holds_it_redacted() -> None:
    plan = ResumePlan("out.jsonl", done=Counter({"http://***@h/a": 1, "http://h/b": 1}))
    assert list(plan.skip_done(["http://user:secret@h/a", "http://h/a", "http://h/b", "http://u@h/c"])) == [
        "http://h/a",
        "http://u@h/c",
    ]
    assert plan.skipped == 2


def test_skipping_reads_the_input_lazily() -> None:
    plan = ResumePlan("out.jsonl", done=Counter({"u1": 1, "u3": 1}))
    endless = (f"u{n}" for n in itertools.count())
    assert list(itertools.islice(plan.skip_done(endless), 3)) == ["u0", "u2", "u4"]


def test_the_summary_line_says_what_was_skipped_and_dropped() -> None:
    plan = ResumePlan("out.jsonl", dropped_errors=1, skipped=1234)
    expected = "  resumed: 1,234 URLs already done in out.jsonl skipped; 1 error record dropped to fetch again"
    assert plan.summary_line() == expected


# -- the command ------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "number", "problem"),
    [
        (b"not json\n", 2, "not JSON"),
        (b"[1, 2]\n", 2, "not a JSON object but an array"),
        (
            b'{"status": 200, "error": null}\n',
            2,
            'not a record of sessionpool fetch: it lacks "attempts", "bytes", "elapsed_ms", "final_url", "url"',
        ),
        (b"\xff\xfe\n", 2, "not JSON"),
        (b'{"url": "http://h/c", "sta\n', 3, "not JSON"),  # the last line: cut off, yet it ends in a newline
    ],
    ids=["not-json", "array", "no-url", "not-utf8", "bad-complete-last-line"],
)
def test_a_bad_line_exits_2_naming_it_and_leaves_the_file(
    bad: bytes, number: int, problem: str, server: LocalServer, tmp_path: Path
) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    source.write_text(f"{server.url}/a\n{server.url}/b\n")
    good = [line("http://h/a"), line("http://h/b", status=None, error=REFUSED)]  # an error line: a rewrite is due
    good.insert(number - 1, bad)
    content = b"".join(good)
    out.write_bytes(content)
    done = fetch("--resume", "-o", str(out), str(source))
    assert done.returncode == 2
    assert f"sessionpool fetch: error: argument --resume: {out} line {number}: {problem}" in done.stderr
    assert out.read_bytes() == content
    assert sorted(tmp_path.iterdir()) == [out, source]  # no temporary file left behind
    assert server.requests == []


def test_a_json_lines_file_fetch_did_not_write_is_refused_and_left_whole(server: LocalServer, tmp_path: Path) -> None:
    source, items = tmp_path / "urls.txt", tmp_path / "items.jsonl"
    source.write_text(f"{server.url}/a\n")
    content = (
        b'{"url": "https://shop.example/1", "title": "Lamp", "price": 30, "error": null}\n'
        b'{"url": "https://shop.example/2", "title": "Desk", "price": 120, "error": "out of stock"}\n'
    )
    items.write_bytes(content)
    done = fetch("--resume", "-o", str(items), str(source))
    assert done.returncode == 2
    assert f"argument --resume: {items} line 1: not a record of sessionpool fetch: it lacks " in done.stderr
    assert items.read_bytes() == content
    assert sorted(tmp_path.iterdir()) == [items, source]
    assert server.requests == []


def test_a_directory_is_refused_naming_it(server: LocalServer, tmp_path: Path) -> None:
    source = tmp_path / "urls.txt"
    source.write_text(f"{server.url}/a\n")
    done = fetch("--resume", "-o", str(tmp_path), str(source))
    assert done.returncode == 2
    assert f"argument --resume: cannot read {str(tmp_path)!r}: it is a directory" in done.stderr
    assert server.requests == []


@pytest.mark.parametrize("output", [[], ["-o", "-"]], ids=["no-output", "stdout"])
def test_resume_needs_an_output_file(output: list[str], server: LocalServer) -> None:
    done = subprocess.run(
        [*FETCH, "--resume", *output], input=f"{server.url}/a\n", capture_output=True, text=True, timeout=SECONDS,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "sessionpool fetch: error: argument --resume: " in done.stderr
    assert (done.stdout, server.requests) == ("", [])


def test_help_explains_resume() -> None:
    done = fetch("--help")
    assert done.returncode == 0
    assert "--resume" in done.stdout


@pytest.mark.parametrize("where", [[], ["--processes", "2"]], ids=["threads", "processes"])
def test_an_interrupted_crawl_resumes_fetching_each_url_once(
    server: LocalServer, tmp_path: Path, where: list[str]
) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    paths = [f"/sleep/0.05?n={n}" for n in range(200)]
    source.write_text("".join(f"{server.url}{path}\n" for path in paths))
    command = [*FETCH, "--threads", "4", *where, "--resume", "-o", str(out), str(source)]  # starts afresh too
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert wait_until(lambda: out.exists() and out.read_text().count("\n") >= 20, seconds=30)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 130, stderr
    first = records(out)
    assert 20 <= len(first) < 200
    assert all(record["status"] == 200 and record["error"] is None for record in first)

    resumed = fetch(*command[len(FETCH) :])
    assert resumed.returncode == 0, resumed.stderr
    assert f"  resumed: {len(first)} URLs already done in {out} skipped; 0 error records dropped" in resumed.stderr
    assert f"fetched {200 - len(first)} URLs" in resumed.stderr
    after = records(out)
    assert after[: len(first)] == first  # kept as they were, the new ones appended
    assert sorted(record["url"] for record in after) == sorted(f"{server.url}{path}" for path in paths)
    sent = Counter(request.path for request in server.requests)
    assert sent == Counter(paths)  # every URL once: none that was done was fetched again


def test_error_records_are_dropped_and_fetched_again(server: LocalServer, tmp_path: Path) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    port = refused_port()
    working = [f"{server.url}/echo?n={n}" for n in range(10)]
    failing = [f"http://127.0.0.1:{port}/later?n={n}" for n in range(5)]
    source.write_text("".join(f"{url}\n" for url in [*working[:5], *failing, *working[5:]]))
    first = fetch("--resume", "-o", str(out), str(source))
    assert first.returncode == 1, first.stderr  # the refused ones failed
    assert sorted(record["url"] for record in records(out) if record["error"] is not None) == sorted(failing)

    with LocalServer(port=port) as later:  # the refused port now answers
        resumed = fetch("--resume", "-o", str(out), str(source))
        assert resumed.returncode == 0, resumed.stderr
        assert "5 error records dropped to fetch again" in resumed.stderr
        assert sorted(request.path for request in later.requests) == sorted(f"/later?n={n}" for n in range(5))
    after = records(out)
    assert sorted(record["url"] for record in after) == sorted(working + failing)
    assert all(record["status"] == 200 and record["error"] is None for record in after)
    assert Counter(request.path for request in server.requests) == Counter(f"/echo?n={n}" for n in range(10))


def test_urls_with_credentials_done_are_not_fetched_again(server: LocalServer, tmp_path: Path) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    with_password = server.url.replace("http://", "http://user:secret@") + "/private"
    source.write_text(f"{with_password}\n{server.url}/public\n")
    first = fetch("--resume", "-o", str(out), str(source))
    assert first.returncode == 0, first.stderr
    assert "secret" not in out.read_text()  # the record holds the URL redacted
    resumed = fetch("--resume", "-o", str(out), str(source))
    assert resumed.returncode == 0, resumed.stderr
    assert f"  resumed: 2 URLs already done in {out} skipped" in resumed.stderr
    assert sorted(request.path for request in server.requests) == ["/private", "/public"]  # each once


def test_a_resume_after_a_killed_run_fetches_the_cut_off_url_again(server: LocalServer, tmp_path: Path) -> None:
    source, out = tmp_path / "urls.txt", tmp_path / "out.jsonl"
    source.write_text(f"{server.url}/a\n{server.url}/b\n")
    out.write_bytes(line(f"{server.url}/a") + line(f"{server.url}/b")[:25])  # killed while writing /b
    done = fetch("--resume", "-o", str(out), str(source))
    assert done.returncode == 0, done.stderr
    assert f"warning: {out}: dropped its last line" in done.stderr
    assert [request.path for request in server.requests] == ["/b"]
    assert [record["url"] for record in records(out)] == [f"{server.url}/a", f"{server.url}/b"]
