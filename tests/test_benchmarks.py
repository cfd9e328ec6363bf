"""The comparative benchmark runs end to end (--smoke) and its numbers hold together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import require_nginx
from sessionpool.testing import nginx_binary

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "benchmarks" / "run.py"
SESSIONPOOL_CLIENTS = {"threadlocalpool", "queuepool", "queuepool-quarter"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    output = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, str(RUNNER), "--smoke", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    return output, json.loads((output / "results.json").read_text())


@pytest.mark.timeout(200)
def test_writes_the_report_and_the_chart(smoke: tuple[Path, dict[str, Any]]) -> None:
    output, results = smoke
    report = output / "latest.md"
    chart = output / "throughput.png"
    assert report.stat().st_size > 0
    assert chart.stat().st_size > 0
    text = report.read_text()
    for client in results["meta"]["clients"]:
        assert f"| {client['label']} " in text, client["label"]
    assert "checkout.py" in text
    assert "retry_cost.py" in text


@pytest.mark.timeout(200)
def test_uses_nginx_or_says_it_fell_back(smoke: tuple[Path, dict[str, Any]]) -> None:
    output, results = smoke
    server = results["meta"]["server"]
    if nginx_binary() is not None:
        assert server["kind"] == "nginx"
        assert not server["fallback"]
    elif os.environ.get("CI"):
        pytest.fail("nginx (Debian package nginx-light) must be installed in CI: .ci/run installs it")
    else:
        assert server["fallback"]
        assert "FALLBACK" in (output / "latest.md").read_text()


@pytest.mark.timeout(200)
def test_every_client_ran_in_every_cell(smoke: tuple[Path, dict[str, Any]]) -> None:
    _, results = smoke
    names = {client["name"] for client in results["meta"]["clients"]}
    cells = {(c["protocol"], c["threads"], c["client"]) for c in results["cells"]}
    for protocol in ("HTTP", "TLS"):
        for threads in results["meta"]["plan"]["threads"]:
            assert {name for p, t, name in cells if (p, t) == (protocol, threads)} == names


@pytest.mark.timeout(200)
def test_sessionpool_clients_make_no_errors_and_few_connections(smoke: tuple[Path, dict[str, Any]]) -> None:
    _, results = smoke
    runs = [run for run in results["runs"] if run["client"] in SESSIONPOOL_CLIENTS]
    assert len(runs) == len(SESSIONPOOL_CLIENTS) * len(results["meta"]["plan"]["threads"]) * 2
    for run in runs:
        where = f"{run['client']} {run['protocol']} {run['threads']} threads"
        assert run.get("broken") is None, where
        assert run["errors"] == 0, where
        assert run["lost"] == 0, where
        assert run["ok"] == run["requests"], where
        if run["client"] == "threadlocalpool":
            assert run["connections"] == run["threads"], where
        if run["client"] == "queuepool":
            assert 1 <= run["connections"] <= run["threads"], where


SCALEOUT = ROOT / "benchmarks" / "scaleout.py"


@pytest.fixture(scope="module")
def scaleout_smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    require_nginx()  # the scale-out benchmark has no fallback server
    output = tmp_path_factory.mktemp("scaleout")
    completed = subprocess.run(
        [sys.executable, str(SCALEOUT), "--smoke", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    return output, json.loads((output / "scaleout.json").read_text())


@pytest.mark.timeout(260)
def test_scaleout_writes_a_row_per_client_and_sessionpool_rows_have_no_errors(
    scaleout_smoke: tuple[Path, dict[str, Any]],
) -> None:
    output, results = scaleout_smoke
    text = (output / "scaleout.md").read_text()
    rows = results["rows"]
    assert {row["client"] for row in rows} == {client["name"] for client in results["meta"]["clients"]}
    for row in rows:
        assert f"| {row['label']} " in text, row["label"]
        if row["skipped"]:  # Scrapy without its venv, curl where it is not installed: said so, with the reason
            assert not row["sessionpool"], row
            assert row["skipped"] in text
        elif row["sessionpool"]:
            assert row["failed"] == [], row["failed"]
            assert (row["errors"], row["missing"]) == (0, 0), row
            assert row["complete"] == row["runs"] == 1, row
            assert row["urls_per_s"] > 0
            assert row["connections"] is not None
            assert row["connections"][0] >= 1
    assert "Scale-out against the targets" in text
