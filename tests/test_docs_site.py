"""The documentation site as a reader meets it: built strict, served on loopback, opened in headless Chromium.

``make docs-check`` runs this module on the ``site/`` that ``make docs``
built (``SESSIONPOOL_SITE_DIR=site``); in ``make test`` it builds the site
into a temporary directory first. Chromium is Debian's ``chromium``, which
``.ci/run`` installs: there a missing browser fails the browser tests; on a
machine without it they are skipped, saying why. Chromium is driven through
its DevTools protocol (tornado's websocket client), so a test can type into
the search box and wait for material's search worker to answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sessionpool import FetchOptions, PoolConfig, RetryPolicy

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: ``$SESSIONPOOL_SITE_DIR`` (make docs-check), or built here with ``mkdocs build --strict``."""
    given = os.environ.get("SESSIONPOOL_SITE_DIR")
    if given:
        site = (ROOT / given).resolve()
        assert (site / "index.html").is_file(), f"{site} holds no built site: run make docs"
        return site
    site = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    built = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr, built.stderr
    return site


@pytest.fixture(scope="module")
def site_url(site_dir: Path) -> Iterator[str]:
    """The site served over HTTP on a loopback port, as a reader's browser gets it."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def chromium_binary() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
    if found is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs it")
        pytest.skip(message)
    return found


class Browser:
    """Headless Chromium with one page, driven through the DevTools protocol."""

    def __init__(self, binary: str, profile: str) -> None:
        self._process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its zygote, renderers and crash handler join its group
        )
        self._profile = Path(profile)
        self._loop = asyncio.new_event_loop()
        self._socket: Any = None
        self._next_id = 0
        self.exceptions: list[str] = []

    def start(self) -> None:
        self._loop.run_until_complete(self._connect())

    async def _connect(self) -> None:
        from tornado.httpclient import AsyncHTTPClient
        from tornado.websocket import websocket_connect

        port_file = self._profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.is_file() and len(port_file.read_text().split()) >= 2:
                break
            assert self._process.poll() is None, "chromium exited at start"
            await asyncio.sleep(0.1)
        port = port_file.read_text().split()[0]
        listing = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/json/list")
        page = next(target for target in json.loads(listing.body) if target["type"] == "page")
        self._socket = await websocket_connect(page["webSocketDebuggerUrl"], max_message_size=64 * 2**20)
        await self._call("Page.enable")
        await self._call("Runtime.enable")

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        me = self._next_id
        await self._socket.write_message(json.dumps({"id": me, "method": method, "params": params}))
        while True:
            raw = await asyncio.wait_for(self._socket.read_message(), timeout=60)
            assert raw is not None, "chromium closed the DevTools connection"
            message = json.loads(raw)
            if message.get("method") == "Runtime.exceptionThrown":
                self.exceptions.append(json.dumps(message["params"]["exceptionDetails"])[:500])
            elif message.get("method") == "Page.loadEventFired":
                self._loaded = True
            if message.get("id") == me:
                assert "error" not in message, message
                return message["result"]  # type: ignore[no-any-return]

    def open(self, url: str) -> None:
        """Go to ``url`` and wait for its load event."""

        async def go() -> None:
            self._loaded = False
            await self._call("Page.navigate", url=url)
            for _ in range(300):
                if self._loaded:
                    return
                await self._call("Runtime.evaluate", expression="1")  # read the events that came
                await asyncio.sleep(0.05)
            raise AssertionError(f"{url} did not load")

        self._loop.run_until_complete(go())

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = self._loop.run_until_complete(
            self._call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        )
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def close(self) -> None:
        """Stop Chromium and every process it started (they write to the profile until they exit)."""
        if self._socket is not None:
            self._socket.close()
        self._loop.close()
        group = self._process.pid  # start_new_session made chromium its group's leader
        _signal_group(group, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        _signal_group(group, signal.SIGKILL)
        for _ in range(100):  # bounded: 10 s for the group's last member to go
            if not _group_alive(group):
                return
            time.sleep(0.1)
        raise AssertionError(f"chromium's process group {group} outlived SIGKILL")


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = chromium_binary()
    with tempfile.TemporaryDirectory(prefix="sessionpool-chromium-") as profile:
        opened = Browser(binary, profile)
        try:
            opened.start()
            yield opened
        finally:
            opened.close()


def _texts(browser: Browser, selector: str) -> list[str]:
    return browser.evaluate(  # type: ignore[no-any-return]
        f"[...document.querySelectorAll({json.dumps(selector)})].map(e => e.textContent.trim())"
    )


# -- the build itself ----------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "page"),
    [(PoolConfig, "configuration"), (RetryPolicy, "configuration"), (FetchOptions, "fetch")],
)
def test_every_field_has_its_section_with_its_default(site_dir: Path, cls: type, page: str) -> None:
    html = (site_dir / page / "index.html").read_text()
    for field in dataclasses.fields(cls):
        assert f'id="{cls.__name__.lower()}-{field.name}"' in html, f"{cls.__name__}.{field.name} is not on {page}"
    assert f"{cls.__name__}(" in html


def test_the_benchmark_results_are_in_the_site(site_dir: Path) -> None:
    assert (site_dir / "benchmarks" / "throughput.png").read_bytes() == (
        ROOT / "benchmarks" / "results" / "throughput.png"
    ).read_bytes()
    latest = (site_dir / "benchmarks" / "latest" / "index.html").read_text()
    assert 'src="../throughput.png"' in latest


def test_the_search_index_holds_every_page(site_dir: Path) -> None:
    index = json.loads((site_dir / "search" / "search_index.json").read_text())
    locations = {doc["location"].split("#")[0] for doc in index["docs"]}
    for page in ("getting-started/", "configuration/", "transports/", "reference/pools/", "changelog/"):
        assert page in locations


# -- in the browser -------------------------------------------------------------


def test_the_navigation_renders(browser: Browser, site_url: str) -> None:
    browser.open(site_url + "/")
    tabs = _texts(browser, ".md-tabs__link")
    for tab in ("Home", "Getting started", "Guide", "Crawling", "Performance", "Architecture", "API reference"):
        assert tab in tabs
    nav = _texts(browser, ".md-nav--primary .md-nav__link")
    for entry in ("The two pools", "Configuration", "Transports", "Hostile servers and limits", "Changelog"):
        assert entry in nav
    # A link of the navigation leads to a page that renders its own title.
    browser.open(site_url + "/transports/")
    assert [title.rstrip("¶") for title in _texts(browser, "article h1")] == ["Transports"]
    assert browser.exceptions == []


def test_search_finds_a_page(browser: Browser, site_url: str) -> None:
    browser.open(site_url + "/")
    found = browser.evaluate(
        """new Promise((resolve) => {
          const input = document.querySelector('.md-search__input');
          input.focus();
          input.value = 'keepalive_expiry';
          input.dispatchEvent(new Event('input', {bubbles: true}));
          input.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true, key: 'y'}));
          const started = Date.now();
          const poll = () => {
            const links = [...document.querySelectorAll('.md-search-result__item a')].map(a => a.href);
            if (links.length || Date.now() - started > 20000) resolve(links);
            else setTimeout(poll, 100);
          };
          poll();
        })"""
    )
    assert any("/configuration/" in link for link in found), found
    assert any("#poolconfig-keepalive_expiry" in link for link in found), found


def test_the_api_pages_render(browser: Browser, site_url: str) -> None:
    browser.open(site_url + "/reference/config/")
    headings = _texts(browser, ".doc-heading")
    assert any(heading.startswith("PoolConfig") for heading in headings), headings
    assert any(heading.startswith("RetryPolicy") for heading in headings), headings
    signature = " ".join(_texts(browser, ".doc-signature"))
    assert "pool_maxsize" in signature
    assert "keepalive_expiry" in signature
    parameters = " ".join(_texts(browser, ".doc-section-title, .doc-param-details, table"))
    assert "Parameters" in parameters or "pool_maxsize" in parameters
    browser.open(site_url + "/reference/pools/")
    headings = _texts(browser, ".doc-heading")
    for name in ("ThreadLocalPool", "QueuePool", "Pool"):
        assert any(heading.startswith(name) for heading in headings), headings
    assert browser.exceptions == []
