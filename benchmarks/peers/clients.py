"""The clients compared, each as users would write it, all on the same workload (see benchmarks/common/harness.py).

Each client imports its library only when it runs, so a client subprocess
loads (and its peak RSS counts) what that client needs, and besides only what
every one loads alike: the harness, whose barrier is sessionpool.testing's
``_threads.py`` loaded from its file (stdlib only; no sessionpool import), and
the timeout, passed on the command line. The CA bundle
is given to every client explicitly; the requests-based ones keep
``trust_env`` on, so the runner also points REQUESTS_CA_BUNDLE and
CURL_CA_BUNDLE at it (requests lets those override a session's ``verify``).
"""

from __future__ import annotations

import abc
import io
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.common.harness import Fetch, Outcome, Tally, Workload, run_workload

BASELINE = "threadlocal-session"


class ClientUnavailable(Exception):
    """The client's library is not installed: the run is skipped, not failed."""


class Client(abc.ABC):
    """One way to send the workload."""

    @abc.abstractmethod
    def run(self, work: Workload) -> Outcome:
        """Send the workload and count what came back."""


class ThreadedClient(Client):
    """A client driven by the harness' own T threads: ``fetch`` is all it defines."""

    def setup(self, work: Workload) -> None:
        """Build what the threads share (before the clock starts)."""

    def close(self) -> None:
        """Release what the threads shared."""

    def per_thread(self, work: Workload) -> tuple[Fetch, Callable[[], None] | None]:
        """A thread's fetch (and its cleanup); by default the shared :meth:`fetch`."""
        return self.fetch, None

    def fetch(self, url: str) -> tuple[int, int]:
        """One GET: the status and the number of body bytes read."""
        raise NotImplementedError

    def run(self, work: Workload) -> Outcome:
        self.setup(work)
        try:
            return run_workload(lambda: self.per_thread(work), work)
        finally:
            self.close()


class RequestsGet(ThreadedClient):
    """``requests.get``: a new session, and so a new connection, for every call."""

    def setup(self, work: Workload) -> None:
        import requests

        self._get = requests.get
        self._verify = work.ca_bundle
        self._timeout = work.timeout

    def fetch(self, url: str) -> tuple[int, int]:
        response = self._get(url, timeout=self._timeout, verify=self._verify)
        return response.status_code, len(response.content)


class SharedSession(ThreadedClient):
    """One ``requests.Session`` used by every thread (its pool keeps 10 connections per host)."""

    def setup(self, work: Workload) -> None:
        import requests

        self._session = requests.Session()
        self._session.verify = work.ca_bundle
        self._timeout = work.timeout

    def fetch(self, url: str) -> tuple[int, int]:
        response = self._session.get(url, timeout=self._timeout)
        return response.status_code, len(response.content)

    def close(self) -> None:
        self._session.close()


class ThreadLocalSession(ThreadedClient):
    """The hand-rolled per-thread Session, made on a thread's first call: the baseline (sessionpool.testing's)."""

    def setup(self, work: Workload) -> None:
        from sessionpool.testing import HandRolledSessions

        self._sessions = HandRolledSessions(timeout=work.timeout, verify=work.ca_bundle)

    def fetch(self, url: str) -> tuple[int, int]:
        response = self._sessions.get(url)
        return response.status_code, len(response.content)

    def close(self) -> None:
        self._sessions.close()


class HttpxClient(ThreadedClient):
    """One shared ``httpx.Client`` with T connections."""

    def setup(self, work: Workload) -> None:
        import ssl

        import httpx

        limits = httpx.Limits(max_connections=work.threads, max_keepalive_connections=work.threads)
        timeout = httpx.Timeout(work.timeout[1], connect=work.timeout[0])
        context = ssl.create_default_context(cafile=work.ca_bundle)  # httpx 0.28 deprecates verify=<path>
        self._client = httpx.Client(limits=limits, timeout=timeout, verify=context)

    def fetch(self, url: str) -> tuple[int, int]:
        response = self._client.get(url)
        return response.status_code, len(response.content)

    def close(self) -> None:
        self._client.close()


class Urllib3Pool(ThreadedClient):
    """One shared ``urllib3.PoolManager(maxsize=T, block=True)``: requests' own transport, bare."""

    def setup(self, work: Workload) -> None:
        import urllib3

        self._manager = urllib3.PoolManager(
            maxsize=work.threads,
            block=True,
            cert_reqs="CERT_REQUIRED",
            ca_certs=work.ca_bundle,
            timeout=urllib3.Timeout(connect=work.timeout[0], read=work.timeout[1]),
        )

    def fetch(self, url: str) -> tuple[int, int]:
        response = self._manager.request("GET", url)
        return response.status, len(response.data)

    def close(self) -> None:
        self._manager.clear()


class Pycurl(ThreadedClient):
    """One ``pycurl.Curl`` handle per thread, reused (libcurl keeps its connection)."""

    def setup(self, work: Workload) -> None:
        try:
            import pycurl  # type: ignore[import-untyped]
        except ImportError as error:
            raise ClientUnavailable(f"pycurl is not installed ({error})") from error
        self._pycurl = pycurl

    def per_thread(self, work: Workload) -> tuple[Fetch, Callable[[], None] | None]:
        pycurl = self._pycurl
        handle = pycurl.Curl()
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.CONNECTTIMEOUT, int(work.timeout[0]))
        handle.setopt(pycurl.TIMEOUT, int(work.timeout[1]))
        handle.setopt(pycurl.CAINFO, work.ca_bundle)
        handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)

        def fetch(url: str) -> tuple[int, int]:
            body = io.BytesIO()
            handle.setopt(pycurl.URL, url)
            handle.setopt(pycurl.WRITEDATA, body)
            handle.perform()
            return int(handle.getinfo(pycurl.RESPONSE_CODE)), body.tell()

        return fetch, handle.close


class NiquestsSession(ThreadedClient):
    """One shared ``niquests.Session`` with T connections, HTTP/1.1 only; run by the niquests venv's python.

    niquests replaces the ``urllib3`` package with urllib3-future, so it lives in
    a venv of its own (``make niquests-venv``). ``disable_http2`` and
    ``disable_http3`` keep it on HTTP/1.1 like every other client (it would
    otherwise offer h2 in ALPN on TLS); ``pool_maxsize=T`` lets T connections
    stay open to the one host.
    """

    def setup(self, work: Workload) -> None:
        try:
            import niquests  # type: ignore[import-not-found,unused-ignore]
        except ImportError as error:
            raise ClientUnavailable(f"niquests is not installed ({error})") from error
        self._session = niquests.Session(
            pool_connections=1, pool_maxsize=work.threads, disable_http2=True, disable_http3=True
        )
        self._session.verify = work.ca_bundle
        self._timeout = work.timeout

    def fetch(self, url: str) -> tuple[int, int]:
        response = self._session.get(url, timeout=self._timeout)
        return int(response.status_code or 0), len(response.content or b"")

    def close(self) -> None:
        self._session.close()


class SessionPool(ThreadedClient):
    """A sessionpool pool, used as documented: ``pool.get(url)`` from any thread."""

    def __init__(self, size: Callable[[int], int] | None = None, transport: str = "urllib3") -> None:
        self._size = size  # None: a ThreadLocalPool; else a QueuePool of size(threads)
        self._transport = transport

    def setup(self, work: Workload) -> None:
        import sessionpool

        settings: dict[str, Any] = {"verify": work.ca_bundle, "transport": self._transport}
        if self._size is None:
            self._pool: Any = sessionpool.ThreadLocalPool(**settings)
        else:
            self._pool = sessionpool.QueuePool(size=self._size(work.threads), **settings)

    def fetch(self, url: str) -> tuple[int, int]:
        response = self._pool.get(url)
        return response.status_code, len(response.content)

    def close(self) -> None:
        self._pool.close()


class Futures(Client):
    """``FuturesSession(max_workers=T)``: N futures submitted with at most T in flight.

    The window keeps the executor's queue empty, so that the time from submit
    to done is one request's latency rather than its wait in the queue.
    """

    def run(self, work: Workload) -> Outcome:
        from requests_futures.sessions import FuturesSession  # type: ignore[import-untyped]

        session = FuturesSession(max_workers=work.threads)
        session.verify = work.ca_bundle
        window = threading.BoundedSemaphore(work.threads)
        tally = Tally()
        outcome = Outcome(requests=work.requests, seconds=0.0, tally=tally)
        hung = False

        def done(began: float, future: Any) -> None:
            took = time.perf_counter() - began
            try:
                response = future.result()
                with tally.lock:
                    tally.response(response.status_code, len(response.content), work.expect_bytes, took)
            except Exception as error:
                with tally.lock:
                    tally.error(error)
            finally:
                window.release()

        try:
            started = time.perf_counter()
            for _ in range(work.requests):
                if not window.acquire(timeout=work.remaining()):
                    outcome.broken.append("the deadline passed before every request was sent")
                    break
                began = time.perf_counter()
                future = session.get(work.url, timeout=work.timeout)
                future.add_done_callback(lambda f, began=began: done(began, f))
            # Every done callback releases the window last: holding all of it means all were counted.
            drained = 0
            while drained < work.threads and window.acquire(timeout=work.remaining() + 5.0):
                drained += 1
            outcome.seconds = time.perf_counter() - started
            hung = drained < work.threads
            if hung:
                outcome.broken.append(f"{work.threads - drained} futures still running after the deadline (hung)")
        finally:
            if not hung:  # close() waits for the running futures
                session.close()
        return outcome


class ToolbeltPool(Client):
    """``requests_toolbelt.threaded.pool.Pool(num_processes=T)`` over a queue of N jobs.

    Its threads start in the constructor and leave when the queue is empty;
    responses and exceptions are collected from its two queues, and whatever
    is in neither was lost. Latency is timed inside each worker's session.
    """

    def run(self, work: Workload) -> Outcome:
        import requests
        from requests_toolbelt.threaded.pool import Pool  # type: ignore[import-untyped]

        latencies: list[float] = []

        class TimedSession(requests.Session):
            def request(self, *args: Any, **kwargs: Any) -> requests.Response:
                began = time.perf_counter()
                response = super().request(*args, **kwargs)  # reads the whole body (stream=False)
                latencies.append(time.perf_counter() - began)
                return response

        jobs: queue.Queue[dict[str, Any]] = queue.Queue()
        for _ in range(work.requests):
            jobs.put({"method": "GET", "url": work.url, "timeout": work.timeout, "verify": work.ca_bundle})
        tally = Tally()
        outcome = Outcome(requests=work.requests, seconds=0.0, tally=tally)
        started = time.perf_counter()
        pool = Pool(jobs, num_processes=work.threads, session=TimedSession)
        # Queue.join() with a bound: every job is marked done, even by a worker that then dies.
        with jobs.all_tasks_done:
            finished = jobs.all_tasks_done.wait_for(lambda: jobs.unfinished_tasks == 0, timeout=work.remaining())
        outcome.seconds = time.perf_counter() - started
        unfinished = jobs.unfinished_tasks
        for item in pool.responses():
            tally.response(item.response.status_code, len(item.response.content), work.expect_bytes, 0.0)
        for failure in pool.exceptions():
            tally.error(failure.exception)
        tally.latencies = latencies  # the workers' own timings, in place of the zeros counted above
        if not finished:
            outcome.broken.append(f"{unfinished} jobs still queued or running at the deadline")
        elif outcome.lost:
            outcome.broken.append(f"lost {outcome.lost} of {work.requests} responses (neither returned nor raised)")
        return outcome


def _quarter(threads: int) -> int:
    return max(1, threads // 4)


@dataclass(frozen=True)
class ClientSpec:
    """A client as the runner lists it."""

    name: str  # the --client argument
    label: str  # its row in the tables
    make: Callable[[], Client]
    sessionpool: bool = False
    venv: str | None = None  # run by this venv's python (see run.py's VENVS), not the dev venv's


CLIENTS: list[ClientSpec] = [
    ClientSpec("requests-get", "requests.get", RequestsGet),
    ClientSpec("shared-session", "shared Session", SharedSession),
    ClientSpec(BASELINE, "threading.local Session (baseline)", ThreadLocalSession),
    ClientSpec("requests-futures", "requests-futures", Futures),
    ClientSpec("requests-toolbelt", "requests-toolbelt Pool", ToolbeltPool),
    ClientSpec("httpx", "httpx.Client", HttpxClient),
    ClientSpec("urllib3", "urllib3.PoolManager", Urllib3Pool),
    ClientSpec("niquests", "niquests.Session", NiquestsSession, venv="niquests"),
    ClientSpec("pycurl", "pycurl (handle per thread)", Pycurl),
    ClientSpec("threadlocalpool", "ThreadLocalPool", SessionPool, sessionpool=True),
    ClientSpec("queuepool", "QueuePool(size=T)", lambda: SessionPool(lambda t: t), sessionpool=True),
    ClientSpec("queuepool-quarter", "QueuePool(size=max(1,T//4))", lambda: SessionPool(_quarter), sessionpool=True),
    ClientSpec(
        "threadlocalpool-curl", "ThreadLocalPool, curl", lambda: SessionPool(transport="curl"), sessionpool=True
    ),
    ClientSpec("queuepool-curl", "QueuePool(size=T), curl", lambda: SessionPool(lambda t: t, "curl"), sessionpool=True),
]
BY_NAME = {spec.name: spec for spec in CLIENTS}
