"""The sessionpool command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sessionpool import cli


def test_demo_prints_the_table_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--threads", "2", "--requests", "20", "--size", "1"]) == 0
    out = capsys.readouterr().out
    assert "ThreadLocalPool" in out
    assert "QueuePool(size=1)" in out
    assert "requests.get" in out


@pytest.mark.parametrize("argument", ["0", "-3", "many"])
def test_bad_numbers_are_refused_with_usage(argument: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["demo", "--threads", argument])
    assert exited.value.code == 2
    assert "--threads" in capsys.readouterr().err


def test_help_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sessionpool", "demo", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert "--threads" in done.stdout
    assert "--requests" in done.stdout
