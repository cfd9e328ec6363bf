"""sessionpool against what users would write instead, on loopback, as ratios to a baseline of the same run.

Every client (see clients.py) sends the same GETs from T threads to one
server (nginx, or a Python fallback: see benchmarks/common/servers.py), each
run in a fresh subprocess (client_run.py). A cell is the median of several
rounds; every round runs every client once in each environment (no proxy
variable; NO_PROXY naming loopback), in a rotated order, and each ratio is
taken against the ``threading.local`` Session baseline (and
urllib3.PoolManager) of the same round and environment, then the median of
those per-round ratios is kept (benchmarks/common/rounds.py). niquests runs
with the python of its own venv (make niquests-venv), or its row says why
not. The Targets table checks the pools against urllib3, httpx, niquests and
the baseline. The server counts the connections each run opened. The
micro-benchmarks (micro/) run afterwards, in quick mode: checkout and
retry_cost, layers in both environments, and session_memory (memory per
pooled session).

    python -m benchmarks.peers            # threads 1/4/16/64, 2,000 GETs, 3 rounds; /16k at 16 threads
    python -m benchmarks.peers --quick    # threads 1/16, 1,000 GETs, 2 rounds
    python -m benchmarks.peers --smoke    # threads 1/4, 100 GETs, 1 round (the test suite runs it)

Writes latest.md, throughput.png and results.json to benchmarks/results/
(or --output DIR), and prints the tables.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.common.environment import without_proxies
from benchmarks.common.machine import command_version, describe, versions
from benchmarks.common.paths import RESULTS, ROOT, module_command
from benchmarks.common.processes import die_with_parent, terminate_on_sigterm
from benchmarks.common.rounds import rotated
from benchmarks.common.servers import BODIES, BenchServer, start_server
from benchmarks.common.venvs import installed, pip_last_words, python_of
from benchmarks.peers.chart import plot_throughput
from benchmarks.peers.clients import BASELINE, CLIENTS, ClientSpec
from benchmarks.peers.report import render, stdout_tables
from benchmarks.peers.summary import PROTOCOLS, Run, summarize, targets
from sessionpool.testing import DEFAULT_TIMEOUT

CLIENT_TIMEOUT = 120.0  # a client subprocess is killed after this, and recorded as broken
CLIENT_BUDGET = 100.0  # ... and stops starting requests after this, so that it still reports
MICRO_TIMEOUT = 300.0


@dataclass(frozen=True)
class Plan:
    """What one mode measures."""

    mode: str
    threads: tuple[int, ...]
    requests: int
    rounds: int
    wide_threads: tuple[int, ...]  # thread counts at which /16k is measured too (none: tiny body only)
    micro_args: tuple[str, ...]  # extra arguments of the micro-benchmarks
    memory_sessions: int = 200  # sessions in micro/session_memory.py


PLANS = {
    "full": Plan("full", (1, 4, 16, 64), 2000, 3, (16,), ("--quick",)),
    "quick": Plan("quick", (1, 16), 1000, 2, (), ("--quick",)),
    "smoke": Plan("smoke", (1, 4), 100, 1, (), ("--quick", "--rounds", "1"), memory_sessions=20),
}
MICRO = "benchmarks.peers.micro"
MICRO_BENCHMARKS = (f"{MICRO}.checkout", f"{MICRO}.retry_cost")
#: Micro-benchmarks run once per environment (they measure what the environment costs).
PER_ENVIRONMENT = (f"{MICRO}.layers",)
#: The two environments every client runs in: no proxy variable at all, and NO_PROXY naming loopback
#: (requests short-circuits its proxy lookup when NO_PROXY matches the host).
ENVIRONMENTS = ("bare", "no_proxy")
NO_PROXY = "localhost,127.0.0.1,::1"
#: Clients that run in a venv of their own: its directory, relative to the project.
VENVS = {"niquests": ROOT / ".venv-niquests"}
TIMEOUT_ARG = ",".join(f"{part:g}" for part in DEFAULT_TIMEOUT)


def proxy_env(environment: str) -> dict[str, str]:
    """This environment without any proxy variable (any case), and with NO_PROXY in the "no_proxy" one."""
    return without_proxies(NO_PROXY=NO_PROXY) if environment == "no_proxy" else without_proxies()


def client_env(ca_bundle: Path, environment: str = "bare") -> dict[str, str]:
    """A client's environment (see :func:`proxy_env`), the CA variables pointing at the test CA."""
    return proxy_env(environment) | {"REQUESTS_CA_BUNDLE": str(ca_bundle), "CURL_CA_BUNDLE": str(ca_bundle)}


def venv_python(spec: ClientSpec) -> tuple[str | None, str | None]:
    """The python that runs ``spec``, or None and why not (its venv missing)."""
    if spec.venv is None:
        return sys.executable, None
    directory = VENVS[spec.venv]
    if installed(directory):
        return str(python_of(directory)), None
    why = f"not installed: {directory} not made (make {spec.venv}-venv)"
    words = pip_last_words(directory)
    if words is not None:
        why += f": {words}"[:200]
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
        python = python_of(directory)
        if not python.exists():
            found[f"{name} venv"] = "not made"
            continue
        version, why = command_version([str(python), "-c", VERSION_PROBE])
        found[f"{name} venv"] = version if version is not None else why
    return found


def run_client(
    server: BenchServer, spec: ClientSpec, protocol: str, path: str, threads: int, requests: int, environment: str
) -> Run:
    """One client run in a fresh subprocess, with the connections the server accepted meanwhile."""
    url = (server.http_url if protocol == "HTTP" else server.https_url) + path
    python, why = venv_python(spec)
    if python is None:
        return {"client": spec.name, "skipped": why, "connections": None}
    command = module_command(
        "benchmarks.peers.client_run",
        *("--client", spec.name, "--threads", str(threads), "--requests", str(requests)),
        *("--url", url, "--ca", str(server.ca_bundle)),
        *("--expect-bytes", str(len(BODIES[path])), "--budget", str(CLIENT_BUDGET), "--timeout", TIMEOUT_ARG),
        python=python,
    )
    before = server.accepted()
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            cwd=ROOT,
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
    jobs.append((f"{MICRO}.session_memory", ("--sessions", str(plan.memory_sessions)), None))
    for module, arguments, environment in jobs:
        command = module_command(module, *arguments)
        shown = " ".join(["python", "-m", module, *arguments])
        env = None
        if environment is not None:
            shown = ("NO_PROXY=" + NO_PROXY + " " if environment == "no_proxy" else "(no proxy variables) ") + shown
            env = proxy_env(environment)
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=MICRO_TIMEOUT,
                cwd=ROOT,
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
    parser.add_argument("--output", type=Path, default=RESULTS, help="where latest.md etc. go")
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
