"""sessionpool against what users would write instead, on loopback, as ratios to a baseline of the same run.

Every client (see clients.py) sends the same GETs from T threads to one
server (nginx, or a Python fallback: see servers.py), each run in a fresh
subprocess. A cell is the median of several rounds; every round runs every
client once, in a rotated order, and each ratio is taken against the
``threading.local`` Session baseline of the same round, then the median of
those per-round ratios is kept. The server counts the connections each run
opened. The existing micro-benchmarks run afterwards, in quick mode.

    python benchmarks/run.py            # threads 1/4/16/64, 2,000 GETs, 3 rounds; /16k at 16 threads
    python benchmarks/run.py --quick    # threads 1/16, 1,000 GETs, 2 rounds
    python benchmarks/run.py --smoke    # threads 1/4, 100 GETs, 1 round (the test suite runs it)

Writes latest.md, throughput.png and results.json to benchmarks/results/
(or --output DIR), and prints the tables.
"""

from __future__ import annotations

import argparse
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
from results import Run, summarize
from servers import BODIES, BenchServer, start_server

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


PLANS = {
    "full": Plan("full", (1, 4, 16, 64), 2000, 3, (16,), ("--quick",)),
    "quick": Plan("quick", (1, 16), 1000, 2, (), ("--quick",)),
    "smoke": Plan("smoke", (1, 4), 100, 1, (), ("--quick", "--rounds", "1")),
}
MICRO_BENCHMARKS = ("checkout.py", "retry_cost.py")


def client_env(ca_bundle: Path) -> dict[str, str]:
    """This environment, with requests' and curl's CA variables pointing at the test CA."""
    return {**os.environ, "REQUESTS_CA_BUNDLE": str(ca_bundle), "CURL_CA_BUNDLE": str(ca_bundle)}


def run_client(server: BenchServer, spec: ClientSpec, protocol: str, path: str, threads: int, requests: int) -> Run:
    """One client run in a fresh subprocess, with the connections the server accepted meanwhile."""
    url = (server.http_url if protocol == "HTTP" else server.https_url) + path
    command = [
        sys.executable,
        str(HERE / "client_run.py"),
        *("--client", spec.name, "--threads", str(threads), "--requests", str(requests)),
        *("--url", url, "--ca", str(server.ca_bundle)),
        *("--expect-bytes", str(len(BODIES[path])), "--budget", str(CLIENT_BUDGET)),
    ]
    before = server.accepted()
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            env=client_env(server.ca_bundle),
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
            for spec in rotated(CLIENTS, index + round_):
                result = run_client(server, spec, protocol, path, threads, plan.requests)
                run = {"protocol": protocol, "path": path, "threads": threads, "round": round_}
                run |= {"client": spec.name, "label": spec.label, "sessionpool": spec.sessionpool, **result}
                runs.append(run)
        seconds = time.monotonic() - started
        print(f"[{index + 1}/{len(cells)}] {protocol} {path} {threads} threads: {seconds:.1f} s", file=sys.stderr)
    return runs


def micro_benchmarks(plan: Plan) -> dict[str, str]:
    """The existing micro-benchmarks' output, verbatim (each in its own process)."""
    outputs = {}
    for script in MICRO_BENCHMARKS:
        command = [sys.executable, str(HERE / script), *plan.micro_args]
        shown = " ".join(["python", f"benchmarks/{script}", *plan.micro_args])
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=MICRO_TIMEOUT,
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
    args = parser.parse_args()
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
        "versions": {**versions(), "nginx": server_info["version"] if server.kind == "nginx" else "not used"},
        "server": server_info,
        "baseline": BASELINE,
        "clients": [{"name": c.name, "label": c.label, "sessionpool": c.sessionpool} for c in CLIENTS],
        "seconds": round(time.monotonic() - began, 1),
    }
    cells = summarize(runs, BASELINE)
    args.output.mkdir(parents=True, exist_ok=True)
    chart = args.output / "throughput.png"
    plot_throughput(cells, plan.threads, chart, server_info["description"] if server.fallback else "nginx")
    (args.output / "results.json").write_text(json.dumps({"meta": meta, "cells": cells, "runs": runs}, indent=1))
    (args.output / "latest.md").write_text(render(meta, cells, micro, chart.name))
    print(stdout_tables(meta, cells))
    print(f"\nwrote {args.output / 'latest.md'}, {chart} and results.json in {meta['seconds']:.0f} s")


if __name__ == "__main__":
    main()
