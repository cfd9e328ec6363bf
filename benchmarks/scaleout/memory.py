"""Memory of ``sessionpool fetch`` over URL lists of growing length: it must not grow with the list.

The input is streamed, so the peak memory of the whole process tree (the
command, its worker processes, multiprocessing's helpers) should be the
same for 20,000 URLs as for a million. Each list is written to a file,
fetched from nginx on loopback hosts (as in the scale-out runner) by one
command, and measured by sampling the tree's summed RSS
(benchmarks/common/proctree.py).

    python -m benchmarks.scaleout.memory                                  # 20,000 and 1,000,000 URLs, --processes 2
    python -m benchmarks.scaleout.memory --urls 20000 200000 --processes 1

A million URLs take about 8 minutes at 2,000 URLs/s. Prints one line per
list: URLs, URLs/s, peak tree RSS, and the records checked (each URL once,
status 200).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.common.processes import die_with_parent
from benchmarks.common.proctree import become_subreaper, run_tree
from benchmarks.common.servers import start_hosts
from benchmarks.scaleout.run import BODY, BODY_PATH, RUN_TIMEOUT, environment

HOSTS = 4
THREADS = 8


def write_urls(path: Path, hosts: list[str], count: int) -> None:
    """``count`` distinct URLs, round-robin over ``hosts``, one per line, written as they are made."""
    with path.open("w") as file:
        for n in range(count):
            file.write(f"{hosts[n % len(hosts)]}{BODY_PATH}?n={n}\n")


def check_output(path: Path, count: int) -> str:
    """Whether the output holds every URL once with status 200, read line by line."""
    seen = 0
    bad = 0
    with path.open() as file:
        for line in file:
            seen += 1
            bad += json.loads(line)["status"] != 200
    return "ok" if (seen, bad) == (count, 0) else f"{seen} records, {bad} not 200"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, nargs="+", default=[20_000, 1_000_000], help="list lengths")
    parser.add_argument("--processes", type=int, default=2, help="sessionpool fetch --processes (default 2)")
    args = parser.parse_args()
    become_subreaper()
    with tempfile.TemporaryDirectory(prefix="sessionpool-memory-") as name:
        directory = Path(name)
        with start_hosts(directory, HOSTS, {BODY_PATH: BODY}) as hosts:
            servers = {host.pid for host in hosts}
            origins = [host.nginx.url for host in hosts]
            for count in args.urls:
                source, output = directory / "urls.txt", directory / "out.jsonl"
                write_urls(source, origins, count)
                command = [sys.executable, "-m", "sessionpool", "fetch", "--threads", str(THREADS)]
                command += ["--processes", str(args.processes), str(source), "-o", str(output)]
                run = run_tree(
                    command,
                    timeout=RUN_TIMEOUT + count / 500,  # far beyond the expected 2,000 URLs/s
                    servers=servers,
                    env=environment("bare"),
                    stdout=None,
                    stderr=None,
                    preexec_fn=die_with_parent,
                )
                rate = count / run.seconds if run.returncode == 0 else 0.0
                print(
                    f"{count:>9,} URLs, --processes {args.processes}: exit {run.returncode}, {rate:,.0f} URLs/s,"
                    f" peak RSS of the whole tree {run.peak_rss_bytes / 2**20:.1f} MiB"
                    f" ({run.peak_processes} processes); records: {check_output(output, count)}",
                    flush=True,
                )
                output.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
