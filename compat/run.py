"""Run requests' own test suite twice, plain and with pooled sessions, and compare (``make compat``).

1. Take the source distribution of the installed requests (``pip download
   requests==X --no-binary :all: --no-deps``, cached in ``compat/.cache``)
   and unpack its tests, without its own copy of requests: the tests import
   the installed one.
2. Check that this venv meets the sdist's ``requirements-dev.txt``.
3. Run its ``tests/`` plain, and with ``pytest_pooled`` (every
   ``requests.Session`` lent by a pool), side by side; ``pytest_loopback``
   keeps both on this machine and writes each test's outcome.
4. Every test that passed plain must pass pooled, except those listed in
   ``differences.py`` for the transport; a listed test must still pass
   plain and fail pooled.

``--transport curl`` runs the pooled side on the libcurl transport
(``PoolConfig(transport="curl")``, ``make compat-curl``), against its own
list of differences.

Exits 0 when both hold, 1 otherwise, 2 when a run could not be made.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from differences import DIFFERENCES, OFF_MACHINE, OFF_MACHINE_BY_TRANSPORT, TRANSPORT_ENV

HERE = Path(__file__).resolve().parent
#: Requirements of requests' suite this harness has no use for.
_NOT_NEEDED = {"pytest-cov", "wheel"}
#: Environment variables that would make the outcome depend on the machine.
_MACHINE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC")
#: pytest's exit statuses for "ran, all passed" and "ran, some failed".
_RAN = (0, 1)


class CompatError(Exception):
    """A run could not be made, or its results cannot be compared."""


@dataclass
class Run:
    """One run of the suite: its name, report and log."""

    name: str
    report_path: Path
    log_path: Path
    report: dict[str, Any] | None = None

    @property
    def outcomes(self) -> dict[str, str]:
        """Node id -> outcome."""
        assert self.report is not None
        outcomes: dict[str, str] = self.report["outcomes"]
        return outcomes

    def passed(self) -> set[str]:
        """The tests that passed."""
        return {test for test, outcome in self.outcomes.items() if outcome == "passed"}


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run, and say how it went."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--requests-version",
        help="the requests version the dev venv has (default: this venv's); it must be this venv's too",
    )
    parser.add_argument("--cache", type=Path, default=HERE / ".cache", help="where the sdist and the runs go")
    parser.add_argument("--serial", action="store_true", help="run plain, then pooled, instead of side by side")
    parser.add_argument(
        "--transport", choices=sorted(DIFFERENCES), default="urllib3", help="the pooled sessions' transport"
    )
    parser.add_argument("--run-timeout", type=float, default=1200.0, help="seconds each run may take")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments for both runs (after --)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        return compare(*run_both(args), started, DIFFERENCES[args.transport], complete=not args.pytest_args)
    except CompatError as error:
        print(f"compat: {error}", file=sys.stderr)
        return 2


def run_both(args: argparse.Namespace) -> tuple[Run, Run]:
    """Fetch and unpack the suite, then run it plain and pooled."""
    installed = importlib.metadata.version("requests")
    wanted = args.requests_version or installed
    if wanted != installed:
        raise CompatError(
            f"the dev venv has requests {wanted} but this venv {installed}:"
            " rebuild it (rm -rf .venv-compat; make compat)"
        )
    cache: Path = args.cache.resolve()
    cache.mkdir(parents=True, exist_ok=True)
    tree = unpack(download(wanted, cache), cache / f"requests-{wanted}")
    check_requirements(tree)

    env = {key: value for key, value in os.environ.items() if key not in _MACHINE_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env[TRANSPORT_ENV] = args.transport
    pooled = "pooled" if args.transport == "urllib3" else f"pooled-{args.transport}"
    runs = [
        Run("plain", cache / "plain.json", cache / "plain.log"),
        Run("pooled", cache / f"{pooled}.json", cache / f"{pooled}.log"),
    ]
    common = [
        sys.executable, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider", f"--rootdir={tree}",
        "-p", "pytest_loopback",
        *(f"--deselect={prefix}" for prefix in {**OFF_MACHINE, **OFF_MACHINE_BY_TRANSPORT[args.transport]}),
        *args.pytest_args,
    ]  # fmt: skip
    print(
        f"compat: requests {wanted}: running its tests plain and pooled, on {args.transport} (logs in {cache})",
        flush=True,
    )
    processes = []
    try:
        for run in runs:
            run.report_path.unlink(missing_ok=True)
            command = [*common, f"--compat-report={run.report_path}"]
            if run.name == "pooled":
                command += ["-p", "pytest_pooled"]
            log = run.log_path.open("w", encoding="utf-8")
            process = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT)
            processes.append((run, process, log))
            if args.serial:
                wait(run, process, log, args.run_timeout)
        for run, process, log in processes:
            wait(run, process, log, args.run_timeout)
    finally:
        for _, process, log in processes:
            if process.poll() is None:  # the other run, when one failed
                process.kill()
                process.wait()
            log.close()
    return runs[0], runs[1]


def wait(run: Run, process: subprocess.Popen[bytes], log: Any, timeout: float) -> None:
    """Wait for one run and read its report."""
    if run.report is not None:
        return
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CompatError(f"the {run.name} run took more than {timeout:g} s; see {run.log_path}") from None
    log.close()
    if status not in _RAN or not run.report_path.exists():
        tail = "\n".join(run.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
        raise CompatError(f"the {run.name} run ended with status {status} (see {run.log_path}):\n{tail}")
    run.report = json.loads(run.report_path.read_text(encoding="utf-8"))


def download(version: str, cache: Path) -> Path:
    """The sdist of requests ``version``, from the cache or else from the package index."""
    for name in (f"requests-{version}.tar.gz", f"requests-{version}.zip"):
        if (cache / name).exists():
            return cache / name
    command = [sys.executable, "-m", "pip", "download", "--quiet", f"requests=={version}"]
    command += ["--no-binary", ":all:", "--no-deps", "--dest", str(cache)]
    print(f"compat: downloading the source distribution of requests {version}", flush=True)
    if subprocess.run(command, check=False).returncode != 0:
        raise CompatError(f"pip could not download requests {version}'s source distribution")
    found = sorted(cache.glob(f"requests-{version}.*"))
    if not found:
        raise CompatError(f"pip downloaded no requests-{version} source distribution into {cache}")
    return found[0]


def unpack(sdist: Path, tree: Path) -> Path:
    """Unpack ``sdist`` afresh into ``tree``, without its package: the tests must import the installed requests."""
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    if sdist.suffix == ".zip":
        raise CompatError(f"{sdist.name}: zip source distributions are not supported")
    with tarfile.open(sdist) as archive:
        members = []
        for member in archive.getmembers():
            parts = Path(member.name).parts
            if len(parts) < 2:
                continue
            member.name = str(Path(*parts[1:]))  # drop the requests-X/ prefix
            members.append(member)
        extract: Any = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(tree, members=members, **extract)
    for package in ("src", "requests"):
        shutil.rmtree(tree / package, ignore_errors=True)
    if not (tree / "tests").is_dir():
        raise CompatError(f"{sdist.name} has no tests/ directory")
    return tree


def check_requirements(tree: Path) -> None:
    """Raise unless this venv has what the sdist's ``requirements-dev.txt`` asks for."""
    from packaging.requirements import InvalidRequirement, Requirement

    path = tree / "requirements-dev.txt"
    if not path.exists():
        return
    problems = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue  # "-e .[socks]": requests itself, installed; its socks extra is in compat/requirements.txt
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            problems.append(f"cannot read {line!r}")
            continue
        if requirement.name.lower() in _NOT_NEEDED or (requirement.marker and not requirement.marker.evaluate()):
            continue
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{requirement} is not installed")
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement} is wanted, {version} is installed")
    if problems:
        raise CompatError(
            f"this venv does not meet {path.name} of the requests under test; update compat/requirements.txt:\n  "
            + "\n  ".join(problems)
        )


def compare(plain: Run, pooled: Run, started: float, differences: dict[str, str], *, complete: bool = True) -> int:
    """Print the summary; 0 if every plain pass is a pooled pass or one of ``differences`` (the transport's list).

    ``complete``: the whole suite ran, so a listed test missing from it is stale
    (not so when pytest arguments chose some tests).
    """
    if set(plain.outcomes) != set(pooled.outcomes):
        only = sorted(set(plain.outcomes) ^ set(pooled.outcomes))
        raise CompatError(f"the two runs did not run the same tests: {', '.join(only[:10])}")
    if not plain.outcomes:
        raise CompatError("requests' suite ran no test")
    pooled_info = pooled.report["pooled"] if pooled.report else None
    if not pooled_info or not pooled_info["requests_session_is_pooled"] or not pooled_info["stats"].get("requests"):
        raise CompatError(f"the pooled run sent nothing through a pool: {pooled_info}")

    passed_plain, passed_pooled = plain.passed(), pooled.passed()
    regressions = sorted(passed_plain - passed_pooled - set(differences))
    stale = {}
    for test in sorted(differences):
        if test not in plain.outcomes:
            if complete:
                stale[test] = "no such test in this version of requests' suite"
        elif test not in passed_plain:
            stale[test] = f"does not pass plain ({plain.outcomes[test]})"
        elif test in passed_pooled:
            stale[test] = "passes pooled now"
    as_listed = [test for test in differences if test in passed_plain and test not in passed_pooled]
    failed_plain = sorted(test for test, outcome in plain.outcomes.items() if outcome in ("failed", "error"))
    gained = sorted(passed_pooled - passed_plain)

    for test in regressions:
        print(f"\nREGRESSION {test}: passes plain, {pooled.outcomes[test]} pooled")
        text = pooled.report["failures"].get(test, "") if pooled.report else ""
        print(textwrap.indent("\n".join(text.splitlines()[-40:]), "    "))
    for test, why in stale.items():
        print(f"\nSTALE DIFFERENCE {test}: {why}; remove it from compat/differences.py")
    for test in failed_plain:
        print(f"not compared (fails plain, {pooled.outcomes[test]} pooled): {test}")
    for test in gained:
        print(f"passes pooled but not plain ({plain.outcomes[test]}): {test}")

    assert plain.report is not None
    stats = pooled_info["stats"]
    prefixes = tuple(OFF_MACHINE) + tuple(prefix for listed in OFF_MACHINE_BY_TRANSPORT.values() for prefix in listed)
    off_machine = [test for test in plain.report["deselected"] if test.startswith(prefixes)]
    refused = {**plain.report["refused"], **(pooled.report or {}).get("refused", {})}
    print(
        f"\nrequests {plain.report['requests']} (urllib3 {plain.report['urllib3']}, Python {plain.report['python']}):"
        f" its own test suite, plain and with every Session lent by a sessionpool pool on {pooled_info['transport']}\n"
        f"  tests:               {len(plain.outcomes)} (and {len(off_machine)} not run: they leave the machine)\n"
        f"  passed plain:        {len(passed_plain)}\n"
        f"  passed pooled:       {len(passed_pooled)}\n"
        f"  listed differences:  {len(differences)} ({len(as_listed)} fail pooled as listed)\n"
        f"  regressions:         {len(regressions)}\n"
        f"  stale differences:   {len(stale)}\n"
        f"  failed plain:        {len(failed_plain)} (not compared)\n"
        f"  pools:               {pooled_info['sessions']} sessions lent ({pooled_info['sessions_closed_by_suite']}"
        f" closed by the suite), {stats['requests']} requests through their adapters,"
        f" {stats['connections_opened']} connections opened\n"
        f"  kept on the machine: {len(refused)} tests had a lookup or connect refused by the loopback guard\n"
        f"  took:                {time.monotonic() - started:.0f} s"
    )
    failed = len(regressions) + len(stale)
    skipped = sum(1 for outcome in pooled.outcomes.values() if outcome in ("skipped", "xfailed"))
    # The closing line: tests passing pooled; regressions and stale differences.
    print(f"compat: {len(passed_pooled)} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
