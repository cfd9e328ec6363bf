"""The public surface of the package: __all__, docstrings, py.typed, __version__."""

from __future__ import annotations

import importlib
import importlib.resources
import subprocess
import sys

import pytest

import sessionpool

PUBLIC_NAMES = [
    "AutoThrottle",
    "BodyTooLarge",
    "DeadlineExceeded",
    "DisallowedByRobots",
    "ErrorInfo",
    "Fetch",
    "FetchError",
    "FetchOptions",
    "FetchResult",
    "GreenThreadsUnsupported",
    "HostStats",
    "HostWaitTimeout",
    "LeaseError",
    "NoWorkerPool",
    "OpenConnections",
    "Pool",
    "PoolClosed",
    "PoolConfig",
    "PoolError",
    "PoolListener",
    "PoolStats",
    "PoolTimeout",
    "ProxyStats",
    "QueuePool",
    "RetryPolicy",
    "SessionFactoryError",
    "ThreadLocalPool",
    "WorkerDied",
    "attempts",
    "fetch_all",
    "fetch_one",
]


def test_all_is_pinned() -> None:
    assert sessionpool.__all__ == PUBLIC_NAMES
    assert sorted(sessionpool.__all__) == sessionpool.__all__


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_name_is_importable(name: str) -> None:
    module = importlib.import_module("sessionpool")
    assert hasattr(module, name)
    assert getattr(module, name).__name__ == name


def test_star_import_resolves_every_name() -> None:
    namespace: dict[str, object] = {}
    exec("from sessionpool import *", namespace)
    assert set(PUBLIC_NAMES) <= set(namespace)


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_has_docstring(name: str) -> None:
    obj = getattr(sessionpool, name)
    assert isinstance(obj, type) or callable(obj)
    assert "__doc__" in vars(obj) or obj.__doc__
    assert obj.__doc__ is not None
    assert obj.__doc__.strip()


def test_ships_py_typed() -> None:
    marker = importlib.resources.files("sessionpool") / "py.typed"
    assert marker.is_file()


def test_version() -> None:
    assert isinstance(sessionpool.__version__, str)
    assert sessionpool.__version__.strip()


def test_importing_the_library_imports_no_command_line_code() -> None:
    check = (
        "import sys, sessionpool; assert 'argparse' not in sys.modules"
        " and not any(m.startswith('sessionpool.cli') for m in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
