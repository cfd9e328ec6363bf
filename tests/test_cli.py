"""The sessionpool command line."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from sessionpool import cli
from sessionpool._stats import PoolStats
from sessionpool.cli import demo_resilience
from sessionpool.cli.demo import ClientResult

SPEED_TITLE = "Speed: "
RESILIENCE_TITLE = "Resilience: "


def test_demo_prints_the_table_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--threads", "2", "--requests", "20", "--size", "1", "--only", "speed"]) == 0
    out = capsys.readouterr().out
    assert "ThreadLocalPool" in out
    assert "QueuePool(size=1)" in out
    assert "requests.get" in out
    assert RESILIENCE_TITLE not in out


def test_demo_runs_both_rounds_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--requests", "40", "--threads", "2", "--resilience-requests", "40"]) == 0
    out = capsys.readouterr().out
    speed, _, resilience = out.partition(RESILIENCE_TITLE)
    assert speed.startswith(SPEED_TITLE)
    assert "requests/s" in speed
    assert "requests.get" in speed
    assert resilience, "no resilience table"
    header = next(line for line in resilience.splitlines() if line.startswith("client"))
    assert header.split()[1:] == ["requests", "errors", "retries", "connections", "opened"]
    for client in ("threading.local Session, by hand", "ThreadLocalPool", "QueuePool(size=1)"):
        assert any(line.startswith(client + " ") for line in resilience.splitlines()), client


def test_demo_runs_only_the_resilience_round(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--only", "resilience", "--threads", "2", "--resilience-requests", "10"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(RESILIENCE_TITLE)
    assert SPEED_TITLE not in out


def _pool_stats(stale_retries: int) -> PoolStats:
    return PoolStats(
        sessions_created=1,
        sessions_closed=1,
        sessions_replaced=0,
        sessions_in_use=0,
        checkouts=1,
        checkout_timeouts=0,
        checkout_wait_seconds_max=0.0,
        requests=1,
        requests_reused=0,
        connections_opened=1,
        stale_retries=stale_retries,
        transient_retries=0,
        read_retries=0,
        unsafe_not_retried=0,
        idle_connections_discarded=0,
    )


@pytest.mark.parametrize(("pool_errors", "status"), [(0, 0), (1, 1)])
def test_demo_fails_when_a_pool_failed_a_request(
    pool_errors: int, status: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*, threads: int, total_requests: int, queue_size: int) -> list[ClientResult]:
        return [
            ClientResult("threading.local Session, by hand", total_requests, 1.0, 3, 2, 0, None),
            ClientResult("ThreadLocalPool", total_requests, 1.0, pool_errors, 2, 0, _pool_stats(3)),
        ]

    monkeypatch.setattr(demo_resilience, "run", run)
    # The plain Session's errors never fail the demo: only the pools' do.
    assert cli.main(["demo", "--only", "resilience"]) == status
    assert "ThreadLocalPool" in capsys.readouterr().out


@pytest.mark.parametrize("argument", ["0", "-3", "many"])
@pytest.mark.parametrize("option", ["--threads", "--requests", "--rounds", "--resilience-requests"])
def test_bad_numbers_are_refused_with_usage(option: str, argument: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["demo", option, argument])
    assert exited.value.code == 2
    assert option in capsys.readouterr().err


def test_an_unknown_round_is_refused_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["demo", "--only", "fastest"])
    assert exited.value.code == 2
    assert "--only" in capsys.readouterr().err


def test_help_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sessionpool", "demo", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    for option in ("--threads", "--requests", "--size", "--rounds", "--resilience-requests", "--only"):
        assert option in done.stdout
    assert "speed,resilience" in done.stdout


def _private_imports(module: Path) -> list[str]:
    """The private sessionpool modules (``sessionpool._x``) that ``module`` imports."""
    found: list[str] = []
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("sessionpool._")]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            if node.module.startswith("sessionpool._"):
                found.append(node.module)
            elif node.module == "sessionpool":
                found += [f"sessionpool.{alias.name}" for alias in node.names if alias.name.startswith("_")]
    return found


@pytest.mark.parametrize("module", sorted(Path(cli.__file__).parent.glob("*.py")), ids=lambda path: path.name)
def test_the_applications_use_only_the_public_api(module: Path) -> None:
    assert _private_imports(module) == []
