"""Clients kept in a virtual environment of their own (niquests, Scrapy): its python, and why it cannot run.

The Makefile's ``client-venv`` makes them (``make niquests-venv``,
``make scrapy-venv``): pip's output goes to ``install.log``, and the stamp
``.installed`` is written only when the install succeeded.
"""

from __future__ import annotations

from pathlib import Path


def python_of(venv: Path) -> Path:
    """The python of ``venv``."""
    return venv / "bin" / "python"


def installed(venv: Path) -> bool:
    """Whether ``make`` finished installing ``venv``: its stamp and its python are there."""
    return (venv / ".installed").exists() and python_of(venv).exists()


def pip_last_words(venv: Path) -> str | None:
    """The last line pip wrote when ``make`` last tried to install ``venv`` (None: no log, or an empty one)."""
    log = venv / "install.log"
    if not log.exists():
        return None
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else None
