"""The clients of the scale-out benchmark: ``sessionpool fetch`` three ways, and what a user would pick instead.

Each client is a command line, run to completion over the same URL list with
the same concurrency T, and writes one record per URL, which the runner reads
back to check that every URL came back with status 200:

- ``sessionpool fetch`` in one process, in ``--processes 2`` and on
  ``--dask local:2`` (T threads in each process): its JSON lines (``-o``).
- for reference, what ``--processes 2`` can hope for: two ``sessionpool
  fetch`` commands side by side, each given the URLs of half the hosts (as
  the issue's "for scale" figure was measured); their records concatenated.
- a ThreadPoolExecutor of T threads with a threading.local Session each
  (threadpool_fetch.py, run by the dev venv's Python): JSON lines.
- ``curl --parallel --parallel-max T`` over a config file (``-K``) of
  ``url``/``output = /dev/null`` pairs; ``--write-out`` prints each
  transfer's status, URL and error message: one line per URL on stdout.
- a minimal Scrapy spider (scrapy_spider.py), CONCURRENT_REQUESTS = T, run
  by the Python of its own venv (``make scrapy-venv``): JSON lines.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common.machine import command_version
from benchmarks.common.paths import ROOT, module_command
from benchmarks.common.venvs import pip_last_words

DEFAULT_SCRAPY_VENV = ROOT / ".venv-scrapy"
#: worker processes of the two scale-out clients (the machine has two cores).
WORKERS = 2
#: curl's --write-out line: the status (000 when no response), the URL, and curl's error message if any.
CURL_WRITE_OUT = "%{http_code} %{url} %{errormsg}\n"

Record = tuple[str, int | None, str | None]  # url, status, error


@dataclass(frozen=True)
class Workload:
    """What every client is given: the URL list, its concurrency, and where the tools are."""

    urls_file: Path
    halves: tuple[Path, Path]  # the URLs of every other host (1st, 3rd, ... and 2nd, 4th, ...), for the hand split
    curl_config: Path  # the same list as curl's -K config
    threads: int
    scrapy_python: Path


@dataclass(frozen=True)
class ClientSpec:
    """One client: how to run it, and how to read its records back."""

    name: str
    label: str
    sessionpool: bool
    command: Callable[[Workload, Path], list[str]]  # given the workload and the output file
    stdout_is_output: bool = False  # the records are its standard output (else it writes the output file)
    parse: Callable[[str], Record] | None = None  # one output line to a record (default: a JSON line)


def _sessionpool() -> list[str]:
    """The ``sessionpool`` console script beside this Python, as users run it (or ``python -m sessionpool``)."""
    script = Path(sys.executable).parent / "sessionpool"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sessionpool"]


def _fetch(*extra: str) -> Callable[[Workload, Path], list[str]]:
    def command(work: Workload, output: Path) -> list[str]:
        threads = str(work.threads)
        return [*_sessionpool(), "fetch", "--threads", threads, *extra, str(work.urls_file), "-o", str(output)]

    return command


def _split(work: Workload, output: Path) -> list[str]:
    """Two fetch commands at once, each on the URLs of half the hosts; both must succeed, then their records join."""
    fetch = " ".join(shlex.quote(part) for part in _sessionpool())
    parts = [shlex.quote(f"{output}.{index}") for index in range(2)]
    one, two = (
        f"{fetch} fetch --threads {work.threads} {shlex.quote(str(half))} -o {part}"
        for half, part in zip(work.halves, parts, strict=True)
    )
    joined = f"cat {parts[0]} {parts[1]} > {shlex.quote(str(output))}"
    return ["sh", "-c", f"{one} & first=$!; {two}; second=$?; wait $first && [ $second -eq 0 ] && {joined}"]


def _threadpool(work: Workload, output: Path) -> list[str]:
    module = "benchmarks.scaleout.threadpool_fetch"
    return module_command(module, "--threads", str(work.threads), str(work.urls_file), str(output))


def _curl(work: Workload, output: Path) -> list[str]:
    return [
        "curl",
        *("--silent", "--show-error", "--parallel", "--parallel-max", str(work.threads)),
        *("--write-out", CURL_WRITE_OUT, "--config", str(work.curl_config)),
    ]


def _scrapy(work: Workload, output: Path) -> list[str]:
    arguments = ("--concurrency", str(work.threads), str(work.urls_file), str(output))
    return module_command("benchmarks.scaleout.scrapy_spider", *arguments, python=work.scrapy_python)


def parse_json_line(line: str) -> Record:
    """A record of sessionpool fetch, threadpool_fetch.py or scrapy_spider.py: url, status, error."""
    record = json.loads(line)
    return record["url"], record.get("status"), record.get("error")


def parse_curl_line(line: str) -> Record:
    """A --write-out line of curl: ``STATUS URL [ERROR MESSAGE]``; status 000 means no response."""
    status, url, *message = line.split(" ", 2)
    error = message[0].strip() if message else ""
    code = int(status)
    return url, code or None, error or None


CLIENTS = [
    ClientSpec("fetch-1", "sessionpool fetch (1 process)", True, _fetch()),
    ClientSpec("fetch-1-curl", "sessionpool fetch --transport curl (1 process)", True, _fetch("--transport", "curl")),
    ClientSpec(
        "fetch-processes-2", f"sessionpool fetch --processes {WORKERS}", True, _fetch("--processes", f"{WORKERS}")
    ),
    ClientSpec("fetch-dask-2", f"sessionpool fetch --dask local:{WORKERS}", True, _fetch("--dask", f"local:{WORKERS}")),
    ClientSpec("fetch-split-2", f"{WORKERS} x sessionpool fetch, hosts split by hand (reference)", True, _split),
    ClientSpec("threadpool", "ThreadPoolExecutor + threading.local Session", False, _threadpool),
    ClientSpec("curl", "curl --parallel --parallel-max T", False, _curl, stdout_is_output=True, parse=parse_curl_line),
    ClientSpec("scrapy", "Scrapy spider (CONCURRENT_REQUESTS = T)", False, _scrapy),
]
BY_NAME = {client.name: client for client in CLIENTS}
ONE_PROCESS = "fetch-1"  # what every ratio is taken against
#: The issues' targets on this 2-core machine, as ratios to fetch-1 of the same round.
SCALE_OUT_TARGETS = {"fetch-1-curl": 2.0, "fetch-processes-2": 1.6, "fetch-dask-2": 1.3}


def write_workload(urls: list[str], hosts: int, directory: Path, threads: int, scrapy_python: Path) -> Workload:
    """The URL list (round-robin over ``hosts``) written as every client reads it, into ``directory``."""
    work = Workload(
        urls_file=directory / "urls.txt",
        halves=(directory / "urls-half0.txt", directory / "urls-half1.txt"),
        curl_config=directory / "curl.conf",
        threads=threads,
        scrapy_python=scrapy_python,
    )
    work.urls_file.write_text("".join(f"{url}\n" for url in urls))
    for index, half in enumerate(work.halves):
        half.write_text("".join(f"{url}\n" for i, url in enumerate(urls) if i % hosts % 2 == index))
    with work.curl_config.open("w") as config:
        for url in urls:
            config.write(f'url = "{url}"\noutput = "/dev/null"\n')
    return work


def availability(scrapy_python: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The versions of the outside tools, and for each client that cannot run, why not."""
    versions: dict[str, str] = {}
    missing: dict[str, str] = {}
    if shutil.which("curl") is None:
        missing["curl"] = "curl is not installed"
    else:
        version, why = command_version(["curl", "--version"])
        versions["curl"] = version or f"unknown ({why})"
    venv = scrapy_python.parent.parent
    if not scrapy_python.exists():
        missing["scrapy"] = f"no Scrapy venv at {venv} (`make scrapy-venv` makes it){_install_failure(venv)}"
    else:
        version, why = command_version([str(scrapy_python), "-c", "import scrapy; print(scrapy.__version__)"])
        if version is None:
            missing["scrapy"] = f"Scrapy does not import in {venv}: {why}{_install_failure(venv)}"
        else:
            versions["scrapy"] = version
    return versions, missing


def _install_failure(venv: Path) -> str:
    """The last line pip wrote when `make scrapy-venv` last tried (it keeps pip's output in install.log)."""
    words = pip_last_words(venv)
    return "" if words is None else f"; pip's last words in install.log: {words[:200]}"
