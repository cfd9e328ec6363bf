"""Scale-out: ``sessionpool fetch`` over one URL list in 1 process, in 2 processes and on a 2-worker Dask cluster.

The same list of distinct URLs, spread round-robin over several nginx hosts
on loopback (127.0.0.2, 127.0.0.3, ...: one nginx each, worker_processes 1),
is fetched with the same concurrency by each client of clients.py:
``sessionpool fetch`` alone, with ``--processes 2`` and with
``--dask local:2``, and the tools a user would pick instead (a
ThreadPoolExecutor of threading.local Sessions, ``curl --parallel``, a
Scrapy spider). Every run is a fresh process tree, measured as a whole (see
benchmarks/common/proctree.py), and its records are read back: a run that missed a URL, got a
status other than 200 or exited non-zero is reported as such and left out of
the medians. Every round runs every client once per environment, in a
rotated order; each ratio is taken against the one-process run of the same
round and environment, and the median of the per-round ratios is kept.

    python -m benchmarks.scaleout            # 12,000 URLs over 4 hosts, 8 threads, 5 rounds, bare and no-proxy
    python -m benchmarks.scaleout --smoke    # 400 URLs, 1 round, bare only (the test suite runs it)

Writes scaleout.md and scaleout.json to benchmarks/results/ (or --output DIR),
and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks.common.environment import without_proxies
from benchmarks.common.machine import describe, versions
from benchmarks.common.paths import RESULTS, ROOT
from benchmarks.common.processes import die_with_parent, terminate_on_sigterm
from benchmarks.common.proctree import become_subreaper, machine_cpu_seconds, run_tree, tree_cpu_seconds
from benchmarks.common.rounds import median, rotated
from benchmarks.common.servers import KEEPALIVE_SECONDS, Host, start_hosts
from benchmarks.common.venvs import python_of
from benchmarks.scaleout.clients import (
    CLIENTS,
    DEFAULT_SCRAPY_VENV,
    ONE_PROCESS,
    SCALE_OUT_TARGETS,
    ClientSpec,
    Workload,
    availability,
    parse_json_line,
    write_workload,
)
from benchmarks.scaleout.report import render, stdout_tables
from sessionpool.testing import nginx_binary

BODY_PATH = "/body"
BODY = bytes(range(256)) * 4  # 1 KiB, served as a static file whatever the query string
RUN_TIMEOUT = 300.0  # a client still running after this is killed (its tree too) and reported
NO_PROXY = "127.0.0.0/8,localhost"
ENVIRONMENTS = ("bare", "no-proxy")
#: Rounds of a full run: the speed of these machines swings by a third within a minute, and three rounds
#: were seen to give a median ratio 0.4 below the five-round one.
ROUNDS = 5


@dataclass(frozen=True)
class Plan:
    """What one invocation measures."""

    mode: str  # "full" or "smoke"
    urls: int
    hosts: int
    threads: int
    rounds: int
    environments: tuple[str, ...]


def url_list(hosts: list[Host], count: int) -> list[str]:
    """``count`` distinct URLs, round-robin over the hosts."""
    return [f"{hosts[i % len(hosts)].nginx.url}{BODY_PATH}?n={i}" for i in range(count)]


def environment(name: str) -> dict[str, str]:
    """This process' environment without any proxy variable ("bare"), or with NO_PROXY for loopback too."""
    if name == "no-proxy":
        return without_proxies(NO_PROXY=NO_PROXY, no_proxy=NO_PROXY)
    return without_proxies()


def check_records(spec: ClientSpec, output: Path, urls: list[str]) -> dict[str, Any]:
    """What a client's records say: URLs answered 200, errors (other statuses, failures), URLs missing."""
    expected = set(urls)
    seen: set[str] = set()
    ok = errors = unreadable = 0
    samples: list[str] = []
    parse = spec.parse or parse_json_line
    text = output.read_text(errors="replace") if output.exists() else ""
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            url, status, error = parse(line)
        except (ValueError, KeyError, TypeError):
            unreadable += 1
            continue
        if url not in expected or url in seen:
            unreadable += 1
            continue
        seen.add(url)
        if status == 200 and not error:
            ok += 1
        else:
            errors += 1
            if len(samples) < 3:
                samples.append(f"{status}: {error}"[:200])
    return {"ok": ok, "errors": errors, "missing": len(expected - seen), "unreadable": unreadable, "samples": samples}


def _tail(path: Path, lines: int = 3) -> str:
    text = path.read_text(errors="replace").strip() if path.exists() else ""
    return " | ".join(text.splitlines()[-lines:])[:500]


def run_client(
    spec: ClientSpec, env_name: str, hosts: list[Host], work: Workload, urls: list[str], scratch: Path
) -> dict[str, Any]:
    """One run of one client in a fresh process tree, with what it cost the client and the servers."""
    output, stderr = scratch / f"{spec.name}.out", scratch / f"{spec.name}.err"
    output.unlink(missing_ok=True)
    servers = [host.pid for host in hosts]
    connections_before = sum(host.nginx.connections_accepted() for host in hosts)
    server_cpu_before = tree_cpu_seconds(servers)
    machine_cpu_before = machine_cpu_seconds()
    sink = output if spec.stdout_is_output else Path(os.devnull)  # curl's records are its standard output
    with stderr.open("wb") as err, sink.open("wb") as out:
        tree = run_tree(
            spec.command(work, output),
            timeout=RUN_TIMEOUT,
            servers=servers,
            env=environment(env_name),
            stdout=out.fileno(),
            stderr=err.fileno(),
            preexec_fn=die_with_parent,
            cwd=ROOT,  # the scripts run as modules of this package (threadpool_fetch, scrapy_spider)
        )
    server_cpu = tree_cpu_seconds(servers) - server_cpu_before
    # What neither the client, nor nginx, nor the runner spent: other work on the machine, which the run competed with.
    other_cpu = machine_cpu_seconds() - machine_cpu_before - tree.cpu_seconds - server_cpu - tree.runner_cpu_seconds
    connections = sum(host.nginx.connections_accepted() for host in hosts) - connections_before
    records = check_records(spec, output, urls)
    failed = None
    if tree.returncode is None:
        failed = f"killed after {RUN_TIMEOUT:g} s; its last words: {_tail(stderr)}"
    elif tree.returncode:
        failed = f"exit status {tree.returncode}: {_tail(stderr)}"
    complete = failed is None and records["ok"] == len(urls)
    return {
        "seconds": round(tree.seconds, 3),
        "urls_per_s": round(len(urls) / tree.seconds, 1) if complete else None,
        "ok_per_s": round(records["ok"] / tree.seconds, 1),
        "cpu_seconds": round(tree.cpu_seconds, 3),
        "cpu_per_1k": round(tree.cpu_seconds * 1000 / len(urls), 4),
        "sampled_cpu_seconds": round(tree.sampled_cpu_seconds, 3),
        "runner_cpu_seconds": round(tree.runner_cpu_seconds, 3),
        "other_cpu_seconds": round(other_cpu, 2),
        "other_cores": round(other_cpu / tree.seconds, 2),
        "server_cpu_seconds": round(server_cpu, 3),
        "peak_rss_mib": round(tree.peak_rss_bytes / 2**20, 1),
        "peak_processes": tree.peak_processes,
        "stragglers_killed": tree.stragglers,
        "connections": connections,
        **records,
        "complete": complete,
        "failed": failed,
    }


def measure(
    plan: Plan, hosts: list[Host], work: Workload, urls: list[str], missing: dict[str, str], scratch: Path
) -> list[dict[str, Any]]:
    """Every client once per environment per round, in an order rotated each time."""
    runs: list[dict[str, Any]] = []
    turn = 0
    for round_ in range(plan.rounds):
        for env_name in plan.environments:
            for spec in rotated(CLIENTS, turn):
                run: dict[str, Any] = {"round": round_, "env": env_name, "client": spec.name}
                if spec.name in missing:
                    runs.append(run | {"skipped": missing[spec.name]})
                    continue
                run |= run_client(spec, env_name, hosts, work, urls, scratch)
                runs.append(run)
                rate = f"{run['urls_per_s']:,.0f} URLs/s" if run["complete"] else "INCOMPLETE"
                problem = f" ({run['failed'] or ''} {run['errors']} errors, {run['missing']} missing)"
                print(
                    f"[round {round_ + 1}/{plan.rounds}, {env_name}] {spec.label}: {run['seconds']:.1f} s, {rate}"
                    + ("" if run["complete"] else problem),
                    file=sys.stderr,
                )
            turn += 1
    return runs


def summarize(runs: list[dict[str, Any]], plan: Plan) -> list[dict[str, Any]]:
    """One row per (environment, client): medians over its complete runs, ratios to the same round's 1 process."""
    reference = {
        (run["env"], run["round"]): run["urls_per_s"]
        for run in runs
        if run["client"] == ONE_PROCESS and run.get("urls_per_s")
    }
    rows = []
    for env_name in plan.environments:
        for spec in CLIENTS:
            group = [run for run in runs if run["env"] == env_name and run["client"] == spec.name]
            complete = [run for run in group if run.get("complete")]
            ratios = [
                run["urls_per_s"] / reference[(env_name, run["round"])]
                for run in complete
                if (env_name, run["round"]) in reference
            ]
            connections = sorted(run["connections"] for run in complete)
            rows.append(
                {
                    "env": env_name,
                    "client": spec.name,
                    "label": spec.label,
                    "sessionpool": spec.sessionpool,
                    "runs": len(group),
                    "complete": len(complete),
                    "urls_per_s": median([run["urls_per_s"] for run in complete]),
                    "ratio": median(ratios),
                    "cpu_per_1k": median([run["cpu_per_1k"] for run in complete]),
                    "server_cpu_seconds": median([run["server_cpu_seconds"] for run in complete]),
                    "other_cores": max((run["other_cores"] for run in complete), default=None),
                    "peak_rss_mib": median([run["peak_rss_mib"] for run in complete]),
                    "connections": [connections[0], connections[-1]] if connections else None,
                    "errors": sum(run.get("errors", 0) + run.get("unreadable", 0) for run in group),
                    "missing": sum(run.get("missing", 0) for run in group),
                    "failed_runs": sum(1 for run in group if run.get("failed")),
                    "failed": sorted({run["failed"] for run in group if run.get("failed")}),
                    "samples": sorted({s for run in group for s in run.get("samples", [])})[:3],
                    "skipped": next((run["skipped"] for run in group if run.get("skipped")), None),
                    "target": SCALE_OUT_TARGETS.get(spec.name),
                }
            )
    return rows


def plan_from(args: argparse.Namespace) -> Plan:
    if args.smoke:
        return Plan("smoke", args.urls or 400, args.hosts, args.threads, args.rounds or 1, ("bare",))
    environments = ENVIRONMENTS if args.env == "both" else (args.env,)
    return Plan("full", args.urls or 12_000, args.hosts, args.threads, args.rounds or ROUNDS, environments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, help="URLs in the list (default 12,000; --smoke: 400)")
    parser.add_argument("--hosts", type=int, default=4, help="nginx hosts on 127.0.0.2 and up (default 4)")
    parser.add_argument("--threads", type=int, default=8, help="concurrency of every client (default 8)")
    parser.add_argument("--rounds", type=int, help=f"rounds (default {ROUNDS}; --smoke: 1)")
    parser.add_argument("--env", choices=("bare", "no-proxy", "both"), default="both", help="environments to run in")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where scaleout.md and .json go")
    parser.add_argument("--scrapy-venv", type=Path, default=DEFAULT_SCRAPY_VENV, help="the venv Scrapy runs in")
    parser.add_argument("--smoke", action="store_true", help="400 URLs, 1 round, bare environment only")
    parser.add_argument(
        "--client",
        action="append",
        choices=[spec.name for spec in CLIENTS],
        help="run only this client (repeatable); fetch-1, the reference of every ratio, always runs",
    )
    args = parser.parse_args()
    plan = plan_from(args)
    if not 1 <= plan.hosts <= 250 or plan.threads < 1 or plan.rounds < 1 or plan.urls < plan.hosts:
        parser.error("need 1 <= hosts <= 250, threads >= 1, rounds >= 1 and at least one URL per host")
    if nginx_binary() is None:
        sys.exit("the scale-out benchmark needs nginx (Debian package nginx-light): there is no fallback server")
    terminate_on_sigterm()
    subreaper = become_subreaper()
    scrapy_python = python_of(args.scrapy_venv.absolute())  # absolute, not resolved: a venv is its path
    tool_versions, missing = availability(scrapy_python)
    if plan.hosts < 2:
        missing["fetch-split-2"] = "one host cannot be split between two processes"
    if args.client:
        chosen = {"fetch-1", *args.client}
        missing |= {spec.name: "--client chose others" for spec in CLIENTS if spec.name not in chosen}
    began = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="sessionpool-scaleout-") as scratch,
        start_hosts(Path(scratch), plan.hosts, {BODY_PATH: BODY}) as hosts,
    ):
        urls = url_list(hosts, plan.urls)
        work = write_workload(urls, plan.hosts, Path(scratch), plan.threads, scrapy_python)
        runs = measure(plan, hosts, work, urls, missing, Path(scratch))
        nginx_version = hosts[0].nginx.version
    meta = {
        "plan": asdict(plan),
        "machine": describe(),
        "versions": {**versions("distributed", "psutil"), **tool_versions, "nginx": nginx_version},
        "server": f"{nginx_version}, {plan.hosts} instances on 127.0.0.2-127.0.0.{plan.hosts + 1}, worker_processes 1"
        f" each, keepalive_timeout {KEEPALIVE_SECONDS}s, a {len(BODY):,}-byte static file at {BODY_PATH}",
        "clients": [{"name": c.name, "label": c.label, "sessionpool": c.sessionpool} for c in CLIENTS],
        "targets": SCALE_OUT_TARGETS,
        "no_proxy": NO_PROXY,
        "subreaper": subreaper,
        "run_timeout": RUN_TIMEOUT,
        "seconds": round(time.monotonic() - began, 1),
    }
    rows = summarize(runs, plan)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "scaleout.json").write_text(json.dumps({"meta": meta, "rows": rows, "runs": runs}, indent=1))
    (args.output / "scaleout.md").write_text(render(meta, rows))
    print(stdout_tables(meta, rows))
    print(f"\nwrote {args.output / 'scaleout.md'} and scaleout.json in {meta['seconds']:.0f} s")


if __name__ == "__main__":
    main()
