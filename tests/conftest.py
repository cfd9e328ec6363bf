"""Servers and settings shared by the tests: every server a test starts is stopped."""

from __future__ import annotations

import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from helpers import PoolMaker, TLSFiles, require_nginx
from sessionpool import PoolConfig, QueuePool, ThreadLocalPool
from sessionpool.testing import HostileServer, LocalServer, Nginx


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--transport",
        choices=("urllib3", "curl"),
        default="urllib3",
        help="the transport of every pool a test makes without naming one (default: urllib3)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """With ``--transport curl``, a config that names no transport is on curl (this process only)."""
    transport = config.getoption("--transport")
    if transport != "urllib3":
        defaults = PoolConfig.__init__.__kwdefaults__
        if defaults is None or defaults.get("transport") != "urllib3":
            raise pytest.UsageError("--transport: PoolConfig no longer has a keyword default 'transport'")
        defaults["transport"] = transport


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A keep-alive HTTP server on 127.0.0.1."""
    with LocalServer() as local:
        yield local


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_files(ca: trustme.CA, tmp_path: Path) -> TLSFiles:
    client = ca.issue_cert("client@sessionpool.test")
    files = TLSFiles(str(tmp_path / "ca.pem"), str(tmp_path / "client.pem"), str(tmp_path / "client.key"))
    ca.cert_pem.write_to_path(files.ca_bundle)
    client.cert_chain_pems[0].write_to_path(files.client_cert)
    client.private_key_pem.write_to_path(files.client_key)
    return files


def _server_context(ca: trustme.CA, *, require_client_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    if require_client_cert:
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[LocalServer]:
    """An HTTPS server on 127.0.0.1 whose certificate the test CA signed."""
    with LocalServer(tls=_server_context(ca, require_client_cert=False)) as local:
        yield local


@pytest.fixture
def mtls_server(ca: trustme.CA) -> Iterator[LocalServer]:
    """An HTTPS server that accepts only clients with a certificate from the test CA."""
    with LocalServer(tls=_server_context(ca, require_client_cert=True)) as local:
        yield local


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    """A server on 127.0.0.1 that trickles, stalls, lies and bombs (see HostileServer's paths)."""
    with HostileServer() as server:
        yield server


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server on 127.0.0.1 that reads every request and never answers; yields its URL."""
    with LocalServer(silent=True) as silent:
        yield silent.url


@pytest.fixture
def tiny_switch_interval() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can, to shake out races."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@pytest.fixture
def no_sleep() -> list[float]:
    """A record of the waits a RetryPolicy asked for; pass ``sleep=no_sleep.append``."""
    return []


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    """nginx with keepalive_timeout 1s and keepalive_requests 5.

    CI installs nginx (.ci/run), so there a missing nginx fails the test; on a
    developer's machine without it the test is skipped, saying why.
    """
    require_nginx()
    with Nginx(tmp_path, keepalive_timeout=1, keepalive_requests=5) as server:
        yield server


POOL_KINDS: dict[str, PoolMaker] = {
    "thread-local": ThreadLocalPool,
    "queue": lambda config=None, **fields: QueuePool(config, size=8, **fields),
}


@pytest.fixture(params=sorted(POOL_KINDS))
def make_pool(request: pytest.FixtureRequest) -> PoolMaker:
    """Makes a pool of each kind in turn (a QueuePool of size 8), from a config and/or fields."""
    return POOL_KINDS[request.param]
