"""A pytest plugin for both runs of requests' suite: stay on this machine, and record each test's outcome.

requests' suite reaches beyond the machine in a few places (its TARPIT
address, ``doesnotexist.google.com``, proxies named ``proxy.com``). Here
nothing may leave the loopback range, so this plugin refuses, in the test
process, every name lookup of a host that is not local and every connect to
an address outside 127.0.0.0/8 and ::1: the test sees what an offline
machine answers (``gaierror``, ``ENETUNREACH``), in the plain run and the
pooled run alike, and the refusal is recorded with the test's id.

Outcomes go to the JSON file named by ``--compat-report``: per node id
``passed``, ``failed``, ``error``, ``skipped``, ``xfailed`` or ``xpassed``,
with the start of the failure text, and the refused destinations.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import sys
from typing import Any

import pytest

#: The test being run, for the record of refused destinations.
_current: list[str] = ["(outside a test)"]
#: node id -> destinations refused during it.
_refused: dict[str, list[str]] = {}
#: node id -> outcome, and the failure text of tests that did not pass.
_outcomes: dict[str, str] = {}
_failures: dict[str, str] = {}
#: Tests collected and not run.
_deselected: list[str] = []

#: How much of a failure's text the report keeps.
_FAILURE_CHARS = 4000


def _is_local(host: object) -> bool:
    """Whether ``host`` (a name or an address literal) is this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").rstrip(".").lower()
    if name in ("", "localhost") or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _refuse(what: str) -> None:
    _refused.setdefault(_current[0], []).append(what)


def _install_guard() -> None:
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex
    real_gethostbyaddr = socket.gethostbyaddr
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def lookup_refused(host: object) -> socket.gaierror:
        _refuse(f"lookup {host!r}")
        return socket.gaierror(socket.EAI_NONAME, f"Name or service not known (compat guard: {host!r} is not local)")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host):
            raise lookup_refused(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: Any) -> Any:
        if not _is_local(host):
            raise lookup_refused(host)
        return real_gethostbyname(host)

    def gethostbyname_ex(host: Any) -> Any:
        if not _is_local(host):
            raise lookup_refused(host)
        return real_gethostbyname_ex(host)

    def gethostbyaddr(host: Any) -> Any:
        if not _is_local(host):
            raise lookup_refused(host)
        return real_gethostbyaddr(host)

    def remote(sock: socket.socket, address: Any) -> bool:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return False  # a Unix socket, a socketpair: on this machine
        return not (isinstance(address, tuple) and _is_local(address[0]))

    def connect(self: socket.socket, address: Any) -> None:
        if remote(self, address):
            _refuse(f"connect {address!r}")
            raise OSError(errno.ENETUNREACH, f"Network is unreachable (compat guard: {address!r} is not local)")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if remote(self, address):
            _refuse(f"connect {address!r}")
            return errno.ENETUNREACH
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    socket.gethostbyaddr = gethostbyaddr
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]


# Installed on import: before requests' conftest and its servers start.
_install_guard()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--compat-report``."""
    parser.addoption("--compat-report", required=True, help="where to write the outcomes, as JSON")


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to test a requests that was not installed (the unpacked sdist's own copy, for one)."""
    import requests

    here = os.path.realpath(os.getcwd())
    if os.path.realpath(requests.__file__).startswith(here + os.sep):
        raise pytest.UsageError(f"requests is imported from the test tree ({requests.__file__}), not the venv")


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Note the tests not run (``--deselect``), for the summary."""
    _deselected.extend(item.nodeid for item in items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Note which test runs, for the record of refused destinations."""
    _current[0] = item.nodeid
    try:
        return (yield)
    finally:
        _current[0] = "(outside a test)"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Fold the setup, call and teardown reports of each test into one outcome."""
    nodeid = report.nodeid
    previous = _outcomes.get(nodeid)
    wasxfail = hasattr(report, "wasxfail")
    if report.failed:
        outcome = "failed" if report.when == "call" else "error"
        _failures.setdefault(nodeid, f"[{report.when}] {report.longreprtext}"[:_FAILURE_CHARS])
    elif report.skipped:
        outcome = "xfailed" if wasxfail else "skipped"
    elif report.when == "call":
        outcome = "xpassed" if wasxfail else "passed"
    else:
        return  # a setup or teardown that passed changes nothing
    if previous in ("failed", "error"):
        return  # a failed call stays failed whatever its teardown does
    _outcomes[nodeid] = outcome


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report."""
    import requests
    import urllib3

    report = {
        "requests": requests.__version__,
        "urllib3": urllib3.__version__,
        "python": sys.version.split()[0],
        "exitstatus": int(exitstatus),
        "outcomes": _outcomes,
        "failures": _failures,
        "refused": _refused,
        "deselected": _deselected,
        "pooled": session.config.stash.get(POOLED_KEY, None),
    }
    with open(session.config.getoption("--compat-report"), "w", encoding="utf-8") as file:
        json.dump(report, file, indent=1, sort_keys=True)


#: What the pooled plugin, when loaded, reports about the pools it used.
POOLED_KEY = pytest.StashKey[dict[str, Any]]()
