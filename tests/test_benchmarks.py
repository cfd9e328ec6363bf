"""The benchmark suites run end to end (--smoke) and their numbers hold together; every entry point starts.

Every benchmark module runs as a module from the repository's root
(``python -m benchmarks.peers``), as the Makefile runs them.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from helpers import require_nginx
from sessionpool.testing import nginx_binary

ROOT = Path(__file__).resolve().parent.parent
SESSIONPOOL_CLIENTS = {"threadlocalpool", "queuepool", "queuepool-quarter", "threadlocalpool-curl", "queuepool-curl"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    output = tmp_path_factory.mktemp("bench")
    # No niquests venv here (whether or not `make niquests-venv` was run): its row must say why.
    absent = output / "absent"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.peers", "--smoke", "--output", str(output), "--niquests-venv", str(absent)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
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
    assert "python -m benchmarks.peers.micro.checkout --quick" in text
    assert "python -m benchmarks.peers.micro.retry_cost --quick" in text


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
    cells = {(c["env"], c["protocol"], c["threads"], c["client"]) for c in results["cells"]}
    for env in ("bare", "no_proxy"):
        for protocol in ("HTTP", "TLS"):
            for threads in results["meta"]["plan"]["threads"]:
                assert {name for e, p, t, name in cells if (e, p, t) == (env, protocol, threads)} == names


@pytest.mark.timeout(200)
def test_each_round_runs_both_environments(smoke: tuple[Path, dict[str, Any]]) -> None:
    output, results = smoke
    rounds: dict[tuple[str, int, int], set[str]] = {}
    for run in results["runs"]:
        rounds.setdefault((run["protocol"], run["threads"], run["round"]), set()).add(run["env"])
    assert rounds
    assert all(envs == {"bare", "no_proxy"} for envs in rounds.values()), rounds
    text = (output / "latest.md").read_text()
    assert "bare environment (no proxy variable)" in text
    assert "NO_PROXY=localhost,127.0.0.1,::1" in text


def benchmark_module(name: str) -> ModuleType:
    """A module of the benchmarks package, imported with the repository's root on sys.path for the while."""
    sys.path.insert(0, str(ROOT))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT))


def test_client_env_removes_every_proxy_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    client_env = benchmark_module("benchmarks.peers.run").client_env
    for name in ("http_proxy", "HTTPS_PROXY", "All_Proxy", "ftp_proxy", "no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "http://proxy.invalid:1")
    bare = client_env(Path("/ca.pem"), "bare")
    assert not [k for k in bare if k.lower().endswith("_proxy")]
    assert bare["REQUESTS_CA_BUNDLE"] == bare["CURL_CA_BUNDLE"] == "/ca.pem"
    scoped = client_env(Path("/ca.pem"), "no_proxy")
    assert [(k, v) for k, v in scoped.items() if k.lower().endswith("proxy")] == [
        ("NO_PROXY", "localhost,127.0.0.1,::1")
    ]


@pytest.mark.timeout(200)
def test_niquests_row_is_there_and_says_why_it_did_not_run(smoke: tuple[Path, dict[str, Any]]) -> None:
    output, results = smoke
    cells = [c for c in results["cells"] if c["client"] == "niquests"]
    assert cells
    assert all(c["skipped"] and "not installed" in c["skipped"] for c in cells), cells
    text = (output / "latest.md").read_text()
    assert "| niquests.Session " in text
    assert cells[0]["skipped"] in text
    assert "niquests venv" in results["meta"]["versions"]


@pytest.mark.timeout(200)
def test_targets_table_has_a_verdict_or_a_reason_per_line(smoke: tuple[Path, dict[str, Any]]) -> None:
    output, results = smoke
    lines = results["targets"]
    threads = set(results["meta"]["plan"]["threads"])
    against = {line["against"] for line in lines}
    assert against == {"urllib3.PoolManager", "httpx.Client", "niquests.Session", "threading.local Session"}
    pools = {"ThreadLocalPool", "QueuePool(size=T)", "ThreadLocalPool, curl", "QueuePool(size=T), curl"}
    assert {line["pool"] for line in lines} == pools
    curl = [line for line in lines if line["pool"].endswith(", curl")]
    assert {(line["against"], line["bound"], line["threads"]) for line in curl} <= {
        ("urllib3.PoolManager", "≥ 1x", 1),
        ("urllib3.PoolManager", "≥ 1.5x", 16),
    }
    assert {line["env"] for line in lines} == {"bare", "no_proxy"}
    assert {line["threads"] for line in lines} <= threads
    for line in lines:
        if line["against"] == "niquests.Session":  # its venv is absent here
            assert line["verdict"] is None
            assert "not installed" in line["why"]
        else:
            assert line["verdict"] in {"PASS", "MISS"}, line
            assert line["ratio"] > 0
    text = (output / "latest.md").read_text()
    assert "## Targets" in text
    for cell in results["cells"]:
        if cell["client"] == "urllib3" and cell["rps"]:
            assert cell["ratio_urllib3"] == pytest.approx(1.0)


@pytest.mark.timeout(200)
def test_micro_benchmarks_include_layers_in_both_environments_and_session_memory(
    smoke: tuple[Path, dict[str, Any]],
) -> None:
    output, _ = smoke
    text = (output / "latest.md").read_text()
    assert "(no proxy variables) python -m benchmarks.peers.micro.layers --quick" in text
    assert "NO_PROXY=localhost,127.0.0.1,::1 python -m benchmarks.peers.micro.layers --quick" in text
    assert "python -m benchmarks.peers.micro.session_memory" in text
    for name in ("requests.Session (plain)", "QueuePool(size=N)", "ThreadLocalPool"):
        assert name in text.split("benchmarks.peers.micro.session_memory", 1)[1]


@pytest.mark.timeout(200)
def test_sessionpool_clients_make_no_errors_and_few_connections(smoke: tuple[Path, dict[str, Any]]) -> None:
    _, results = smoke
    runs = [run for run in results["runs"] if run["client"] in SESSIONPOOL_CLIENTS]
    assert len(runs) == len(SESSIONPOOL_CLIENTS) * len(results["meta"]["plan"]["threads"]) * 2 * 2  # protocols, envs
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


@pytest.fixture(scope="module")
def scaleout_smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    require_nginx()  # the scale-out benchmark has no fallback server
    output = tmp_path_factory.mktemp("scaleout")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.scaleout", "--smoke", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
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
    assert "### Against the targets" in text


#: Every module a user, the Makefile or a runner starts, with what its --help says first.
ENTRY_POINTS = {
    "benchmarks.peers": "sessionpool against what users would write instead",
    "benchmarks.peers.client_run": "Run one client on the workload",
    "benchmarks.peers.micro.checkout": "What lending a session costs",
    "benchmarks.peers.micro.layers": "Where one GET's time goes",
    "benchmarks.peers.micro.retry_cost": "What the retry policy costs",
    "benchmarks.peers.micro.session_memory": "Memory per pooled session",
    "benchmarks.scaleout": "Scale-out: ``sessionpool fetch``",
    "benchmarks.scaleout.memory": "Memory of ``sessionpool fetch``",
    "benchmarks.scaleout.threadpool_fetch": "What users write without sessionpool",
}


@pytest.mark.parametrize("module", sorted(ENTRY_POINTS))
def test_every_entry_point_starts_as_a_module_from_the_root(module: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert ENTRY_POINTS[module] in completed.stdout


def test_a_client_subprocess_imports_neither_sessionpool_nor_requests() -> None:
    # client_run is run by the niquests venv's python too, which has neither: only the client itself may import them.
    probe = (
        "import sys, benchmarks.peers.client_run;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sessionpool', 'requests', 'urllib3', 'psutil'}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "[]"
