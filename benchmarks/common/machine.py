"""What the numbers were measured on: the machine, the OS, Python, the package versions and the tools' versions."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

#: The packages every report lists (a suite adds its own: ``versions("distributed")``).
PACKAGES = ("requests", "urllib3", "sessionpool", "httpx", "requests-futures", "requests-toolbelt", "pycurl")


def _first(path: str, key: str) -> str | None:
    """The value of the first ``key: value`` line of a /proc file."""
    try:
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        return None
    return None


def _os_name() -> str:
    pretty = None
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{pretty or platform.system()} (kernel {platform.release()})"


def _memory() -> str:
    total = _first("/proc/meminfo", "MemTotal")  # "24000000 kB"
    if total is None:
        return "unknown"
    return f"{int(total.split()[0]) / 1024 / 1024:.1f} GiB"


def versions(*more: str) -> dict[str, str]:
    """The installed version of every package of PACKAGES, and of ``more``."""
    found = {}
    for name in (*PACKAGES, *more):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def describe() -> dict[str, str]:
    """Date, CPU, cores, memory, OS and Python of this run."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "memory": _memory(),
        "os": _os_name(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def command_version(command: list[str]) -> tuple[str | None, str]:
    """(the first line ``command`` printed, "") if it succeeds, else (None, why not): a tool's or a venv's version."""
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"{type(error).__name__}: {error}"
    text = (completed.stdout or completed.stderr).strip()
    if completed.returncode:
        tail = " | ".join(completed.stderr.strip().splitlines()[-2:])
        return None, f"exit {completed.returncode}: {tail}"[:300]
    return text.splitlines()[0] if text else "", ""
