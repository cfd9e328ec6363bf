"""Polling, ownership-checking and TLS-file helpers shared by the behaviour tests."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from sessionpool import Pool, PoolConfig, QueuePool
from sessionpool.testing import nginx_binary

#: Makes a pool from a config and/or PoolConfig fields (the ``make_pool`` fixture).
PoolMaker = Callable[..., Pool]


@dataclass
class TLSFiles:
    """A test CA and the client certificate it signed, as PEM files."""

    ca_bundle: str
    client_cert: str
    client_key: str


def wait_until(condition: Callable[[], bool], *, seconds: float = 5.0) -> bool:
    """Poll ``condition`` every 10 ms for up to ``seconds``; return its last value."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        time.sleep(0.01)
    return True


class OwnershipCheckingSession(requests.Session):
    """A session that records any moment two threads use it at once.

    Every ``send`` marks the session as owned by the calling thread for the
    duration of the call; a second thread arriving meanwhile is a violation.
    """

    def __init__(self) -> None:
        super().__init__()
        self.owner: int | None = None
        self.threads_seen: set[int] = set()
        self.violations: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
        me = threading.get_ident()
        if self.owner is not None and self.owner != me:
            self.violations.append(f"thread {me} used a session held by thread {self.owner}")
        previous, self.owner = self.owner, me
        self.threads_seen.add(me)
        try:
            return super().send(request, **kwargs)  # type: ignore[arg-type]
        finally:
            if self.owner != me:
                self.violations.append(f"thread {self.owner} took the session while thread {me} was sending")
            self.owner = previous


class CheckingFactory:
    """A session factory for a pool that makes :class:`OwnershipCheckingSession` objects and keeps them all."""

    def __init__(self) -> None:
        self.made: list[OwnershipCheckingSession] = []
        self._lock = threading.Lock()

    def __call__(self) -> requests.Session:
        session = OwnershipCheckingSession()
        with self._lock:
            self.made.append(session)
        return session

    @property
    def violations(self) -> list[str]:
        """Every moment any of its sessions was used by two threads at once."""
        return [violation for session in self.made for violation in session.violations]


def fetch_with_config(config: PoolConfig, url: str) -> tuple[str, int, int]:
    """In a worker process: make a pool from a config sent there, fetch ``url`` twice; body, requests, connections."""
    with QueuePool(config, size=1) as pool:
        body = pool.get(url).text
        pool.get(url)
        stats = pool.stats()
    return body, stats.requests, stats.connections_opened


def require_nginx() -> None:
    """Go on only where nginx is installed: in CI (which installs it) a missing nginx fails; locally it skips."""
    if nginx_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is required in CI and is missing: .ci/run should have installed nginx-light")
        pytest.skip("nginx is not installed here (apt-get install nginx-light); CI runs this test")


def on_curl() -> bool:
    """Whether a config that names no transport is on libcurl (``pytest --transport curl``).

    Tests that meet a documented difference of the transports (docs/transports.md,
    "Where the transports differ") ask this to hold each transport to its own behaviour.
    """
    return PoolConfig().transport == "curl"
