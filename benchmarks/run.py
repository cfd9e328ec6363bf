"""sessionpool against what users would write instead, on loopback, as ratios to a baseline of the same run.

Every client (see clients.py) sends the same GETs from T threads to one
server (nginx, or a Python fallback: see servers.py), each run in a fresh
subprocess. A cell is the median of several rounds; every round runs every
client once in each environment (no proxy variable; NO_PROXY naming
loopback), in a rotated order, and each ratio is taken against the
``threading.local`` Session baseline (and urllib3.PoolManager) of the same
round and environment, then the median of those per-round ratios is kept.
niquests runs with the python of its own venv (make niquests-venv), or its
row says why not. The Targets table checks the pools against urllib3, httpx,
niquests and the baseline. The server counts the connections each run
opened. The micro-benchmarks run afterwards, in quick mode: layers.py in
both environments, and session_memory.py (memory per pooled session).

    python benchmarks/run.py            # threads 1/4/16/64, 2,000 GETs, 3 rounds; /16k at 16 threads
    python benchmarks/run.py --quick    # threads 1/16, 1,000 GETs, 2 rounds
    python benchmarks/run.py --smoke    # threads 1/4, 100 GETs, 1 round (the test suite runs it)

Writes latest.md, throughput.png and results.json to benchmarks/results/
(or --output DIR), and prints the tables.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chart import plot_throughput
from clients import BASELINE, CLIENTS, ClientSpec
from machine import describe, versions
from processes import die_with_parent, terminate_on_sigterm
from report import render, stdout_tables
from results import Run, summarize, targets
from servers import BODIES, BenchServer, start_server
from sessionpool.testing import DEFAULT_TIMEOUT

HERE = Path(__file__).resolve().parent
CLIENT_TIMEOUT = 120.0  # a client subprocess is killed after this, and recorded as broken
CLIENT_BUDGET = 100.0  # ... and stops starting requests after this, so that it still reports
MICRO_TIMEOUT = 300.0
PROTOCOLS = ("HTTP", "TLS")


@dataclass(frozen=True)
class Plan:
    """What one mode measures."""

    mode: str
    threads: tuple[int, ...]
    requests: int
    rounds: int
    wide_threads: tuple[int, ...]  # thread counts at which /16k is measured too (none: tiny body only)
    micro_args: tuple[str, ...]  # extra arguments of the micro-benchmarks
    memory_sessions: int = 200  # sessions in session_memory.py


PLANS = {
    "full": Plan("full", (1, 4, 16, 64), 2000, 3, (16,), ("--quick",)),
    "quick": Plan("quick", (1, 16), 1000, 2, (), ("--quick",)),
    "smoke": Plan("smoke", (1, 4), 100, 1, (), ("--quick", "--rounds", "1"), memory_sessions=20),
}
MICRO_BENCHMARKS = ("checkout.py", "retry_cost.py")
#: Micro-benchmarks run once per environment (they measure what the environment costs).
PER_ENVIRONMENT = ("layers.py",)
#: The two environments every client runs in: no proxy variable at all, and NO_PROXY naming loopback
#: (requests short-circuits its proxy lookup when NO_PROXY matches the host).
ENVIRONMENTS = ("bare", "no_proxy")
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
NO_PROXY = "localhost,127.0.0.1,::1"
#: Clients that run in a venv of their own: its directory, relative to the project.
VENVS = {"niquests": HERE.parent / ".venv-niquests"}
TIMEOUT_ARG = ",".join(f"{part:g}" for part in DEFAULT_TIMEOUT)


def client_env(ca_bundle: Path, environment: str = "bare") -> dict[str, str]:
    """This environment without any proxy variable (any case), CA variables at the test CA, NO_PROXY if asked."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    env |= {"REQUESTS_CA_BUNDLE": str(ca_bundle), "CURL_CA_BUNDLE": str(ca_bundle)}
    if environment == "no_proxy":
        env["NO_PROXY"] = NO_PROXY
    return env


def venv_python(spec: ClientSpec) -> tuple[str | None, str | None]:
    """The python that runs ``spec``, or None and why not (its venv missing)."""
    if spec.venv is None:
        return sys.executable, None
    directory = VENVS[spec.venv]
    python = directory / "bin" / "python"
    if (directory / ".installed").exists() and python.exists():
        return str(python), None
    log = directory / "install.log"
    why = f"not installed: {directory} not made (make {spec.venv}-venv)"
    if log.exists():
        tail = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()][-1:]
        why += f": {' '.join(tail)}"[:200]
    return None, why


#: Run by a client venv's python: niquests' version, urllib3's, and which distribution provides it.
VERSION_PROBE = """
import importlib.metadata as m, urllib3, niquests
def has(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
found = [f"{d} {has(d)}" for d in ("urllib3", "urllib3-future") if has(d)]
print(f"niquests {niquests.__version__}; urllib3 module {urllib3.__version__} from {', '.join(found)}")
"""


def venv_versions() -> dict[str, str]:
    """What each client venv holds: niquests' must have urllib3-future in place of urllib3."""
    import urllib3  # the dev venv's, which must stay urllib3 proper

    try:
        future = f"urllib3-future {metadata.version('urllib3-future')} present (!)"
    except metadata.PackageNotFoundError:
        future = "no urllib3-future"
    found = {"dev venv urllib3": f"urllib3 module {urllib3.__version__}, {future}"}
    for name, directory in VENVS.items():
        python = directory / "bin" / "python"
        if not python.exists():
            found[f"{name} venv"] = "not made"
            continue
        completed = subprocess.run(
            [str(python), "-c", VERSION_PROBE], capture_output=True, text=True, timeout=60, check=False
        )
        found[f"{name} venv"] = completed.stdout.strip() or completed.stderr.strip()[-200:]
    return found


def run_client(
    server: BenchServer, spec: ClientSpec, protocol: str, path: str, threads: int, requests: int, environment: str
) -> Run:
    """One client run in a fresh subprocess, with the connections the server accepted meanwhile."""
    url = (server.http_url if protocol == "HTTP" else server.https_url) + path
    python, why = venv_python(spec)
    if python is None:
        return {"client": spec.name, "skipped": why, "connections": None}
    command = [
        python,
        str(HERE / "client_run.py"),
        *("--client", spec.name, "--threads", str(threads), "--requests", str(requests)),
        *("--url", url, "--ca", str(server.ca_bundle)),
        *("--expect-bytes", str(len(BODIES[path])), "--budget", str(CLIENT_BUDGET), "--timeout", TIMEOUT_ARG),
    ]
    before = server.accepted()
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            env=client_env(server.ca_bundle, environment),
            # A preexec_fn is not safe while other threads run: the fallback server's do.
            preexec_fn=None if server.fallback else die_with_parent,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"broken": f"killed after {CLIENT_TIMEOUT:g} s", "connections": server.accepted() - before}
    connections = server.accepted() - before
    lines = completed.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = completed.stderr.strip().splitlines()[-3:]
        return {"broken": f"exit {completed.returncode}, no result: {' | '.join(tail)}"[:400]}
    result["connections"] = None if result.get("skipped") else connections
    return result


def rotated(clients: list[ClientSpec], shift: int) -> list[ClientSpec]:
    """The clients in round-robin order, starting ``shift`` places further along."""
    shift %= len(clients)
    return clients[shift:] + clients[:shift]


def measure(server: BenchServer, plan: Plan) -> list[Run]:
    """Every cell of the grid, rounds interleaved: each round runs each client once."""
    cells = [(p, "/tiny", t) for p in PROTOCOLS for t in plan.threads]
    cells += [(p, "/16k", t) for p in PROTOCOLS for t in plan.wide_threads]
    runs: list[Run] = []
    for index, (protocol, path, threads) in enumerate(cells):
        started = time.monotonic()
        for round_ in range(plan.rounds):
            # Each round runs every client in both environments, the environments' order alternating.
            for environment in ENVIRONMENTS[::-1] if (index + round_) % 2 else ENVIRONMENTS:
                for spec in rotated(CLIENTS, index + round_):
                    result = run_client(server, spec, protocol, path, threads, plan.requests, environment)
                    run = {"env": environment, "protocol": protocol, "path": path, "threads": threads, "round": round_}
                    run |= {"client": spec.name, "label": spec.label, "sessionpool": spec.sessionpool, **result}
                    runs.append(run)
        seconds = time.monotonic() - started
        print(f"[{index + 1}/{len(cells)}] {protocol} {path} {threads} threads: {seconds:.1f} s", file=sys.stderr)
    return runs


def micro_benchmarks(plan: Plan) -> dict[str, str]:
    """The micro-benchmarks' output, verbatim (each in its own process); layers.py once per environment."""
    outputs = {}
    jobs: list[tuple[str, tuple[str, ...], str | None]] = [(s, plan.micro_args, None) for s in MICRO_BENCHMARKS]
    jobs += [(s, ("--quick",), e) for s in PER_ENVIRONMENT for e in ENVIRONMENTS]
    jobs.append(("session_memory.py", ("--sessions", str(plan.memory_sessions)), None))
    for script, arguments, environment in jobs:
        command = [sys.executable, str(HERE / script), *arguments]
        shown = " ".join(["python", f"benchmarks/{script}", *arguments])
        env = None
        if environment is not None:
            shown = ("NO_PROXY=" + NO_PROXY + " " if environment == "no_proxy" else "(no proxy variables) ") + shown
            env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
            if environment == "no_proxy":
                env["NO_PROXY"] = NO_PROXY
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=MICRO_TIMEOUT,
                env=env,
                preexec_fn=die_with_parent,
                check=False,
            )
            text = completed.stdout + completed.stderr
            if completed.returncode:
                text += f"\n(exit status {completed.returncode})"
        except subprocess.TimeoutExpired:
            text = f"(killed after {MICRO_TIMEOUT:g} s)"
        outputs[shown] = text.rstrip()
    return outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="threads 1 and 16, 1,000 GETs, 2 rounds")
    size.add_argument("--smoke", action="store_true", help="threads 1 and 4, 100 GETs, 1 round")
    parser.add_argument("--output", type=Path, default=HERE / "results", help="where latest.md etc. go")
    parser.add_argument(
        "--server", choices=("auto", "nginx", "python"), default="auto", help="python: force the fallback server"
    )
    parser.add_argument(
        "--niquests-venv", type=Path, default=VENVS["niquests"], help="the niquests venv (make niquests-venv)"
    )
    args = parser.parse_args()
    VENVS["niquests"] = args.niquests_venv.resolve()
    plan = PLANS["smoke" if args.smoke else "quick" if args.quick else "full"]
    terminate_on_sigterm()
    began = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="sessionpool-bench-") as scratch,
        start_server(Path(scratch), args.server) as server,
    ):
        server_info: dict[str, Any] = {
            "kind": server.kind,
            "fallback": server.fallback,
            "version": server.version,
            "description": server.description,
        }
        runs = measure(server, plan)
    micro = micro_benchmarks(plan)
    meta = {
        "plan": asdict(plan),
        "machine": describe(),
        "versions": {
            **versions(),
            "nginx": server_info["version"] if server.kind == "nginx" else "not used",
            **venv_versions(),
        },
        "environments": {"bare": "no proxy variable", "no_proxy": f"NO_PROXY={NO_PROXY}"},
        "server": server_info,
        "baseline": BASELINE,
        "clients": [{"name": c.name, "label": c.label, "sessionpool": c.sessionpool, "venv": c.venv} for c in CLIENTS],
        "seconds": round(time.monotonic() - began, 1),
    }
    cells = summarize(runs, BASELINE)
    verdicts = targets(runs, plan.threads)
    args.output.mkdir(parents=True, exist_ok=True)
    chart = args.output / "throughput.png"
    plot_throughput(cells, plan.threads, chart, server_info["description"] if server.fallback else "nginx")
    (args.output / "results.json").write_text(
        json.dumps({"meta": meta, "targets": verdicts, "cells": cells, "runs": runs}, indent=1)
    )
    (args.output / "latest.md").write_text(render(meta, cells, micro, chart.name, verdicts))
    print(stdout_tables(meta, cells, verdicts))
    print(f"\nwrote {args.output / 'latest.md'}, {chart} and results.json in {meta['seconds']:.0f} s")


if __name__ == "__main__":
    main()
