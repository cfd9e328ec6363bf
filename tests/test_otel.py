"""sessionpool.otel: the metrics bridge read through the SDK, and the tracing recipe of docs/ecosystem.md."""

from __future__ import annotations

import gc
import importlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Sum
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span

from helpers import PoolMaker, wait_until
from sessionpool import PoolClosed, QueuePool, ThreadLocalPool, attempts
from sessionpool.otel import DEFAULT_POOL_NAME, PoolMetrics, instrument_pool
from sessionpool.testing import Faults, LocalServer

Points = dict[str, list[tuple[dict[str, Any], int]]]
Metrics = tuple[MeterProvider, InMemoryMetricReader]


@pytest.fixture
def meter_provider() -> Iterator[Metrics]:
    """A meter provider of the test's own (never the global one), and its reader."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        yield provider, reader
    finally:
        provider.shutdown()


def _collect(reader: InMemoryMetricReader) -> Points:
    points: Points = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data is not None else []:
        for scope_metrics in resource_metrics.scope_metrics:
            assert scope_metrics.scope.name == "sessionpool"
            for metric in scope_metrics.metrics:
                assert isinstance(metric.data, Sum)  # every instrument is a counter or an up-down counter
                points[metric.name] = [(dict(p.attributes or {}), int(p.value)) for p in metric.data.data_points]
    return points


def _value(points: Points, name: str, **attributes: Any) -> int:
    """The value of the one point of ``name`` whose attributes include ``attributes`` (dots spelt as __)."""
    wanted = {key.replace("__", "."): value for key, value in attributes.items()}
    matches = [value for point, value in points.get(name, []) if wanted.items() <= point.items()]
    assert len(matches) == 1, (name, wanted, points.get(name))
    return matches[0]


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_counters_and_connections_after_requests(
    server: LocalServer, make_pool: PoolMaker, meter_provider: Metrics, transport: str
) -> None:
    provider, reader = meter_provider
    with make_pool(transport=transport) as pool, instrument_pool(pool, meter_provider=provider):
        for _ in range(5):
            assert pool.get(f"{server.url}/").content == b"ok"
        points = _collect(reader)
        stats = pool.stats()
    assert _value(points, "sessionpool.requests") == stats.requests == 5
    assert _value(points, "sessionpool.requests_reused") == 4
    assert _value(points, "sessionpool.connections_opened") == stats.connections_opened == 1
    assert _value(points, "sessionpool.checkouts") == 5
    assert _value(points, "sessionpool.sessions_in_use") == 0
    assert _value(points, "sessionpool.checkout_timeouts") == 0
    assert _value(points, "sessionpool.retries", sessionpool__retry__reason="stale") == 0
    assert _value(points, "sessionpool.retries", sessionpool__retry__reason="transient") == 0
    assert _value(points, "sessionpool.retries", sessionpool__retry__reason="read") == 0
    origin = {"server__address": "127.0.0.1", "server__port": server.port, "url__scheme": "http"}
    # One session, keeping its one connection, idle between requests.
    assert _value(points, "http.client.open_connections", http__connection__state="idle", **origin) == 1
    assert _value(points, "http.client.open_connections", http__connection__state="active", **origin) == 0
    assert _value(points, "http.client.active_requests", **origin) == 0
    assert all(point["sessionpool.pool.name"] == DEFAULT_POOL_NAME for series in points.values() for point, _ in series)


def test_instruments_have_the_semantic_conventions_kinds_and_units(
    server: LocalServer, meter_provider: Metrics
) -> None:
    provider, reader = meter_provider
    with ThreadLocalPool() as pool, instrument_pool(pool, meter_provider=provider):
        pool.get(f"{server.url}/")
        data = reader.get_metrics_data()
    assert data is not None
    metrics = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    expected = {
        "http.client.open_connections": ("{connection}", False),
        "http.client.active_requests": ("{request}", False),
        "sessionpool.requests": ("{request}", True),
        "sessionpool.requests_reused": ("{request}", True),
        "sessionpool.connections_opened": ("{connection}", True),
        "sessionpool.retries": ("{request}", True),
        "sessionpool.sessions_in_use": ("{session}", False),
        "sessionpool.checkouts": ("{checkout}", True),
        "sessionpool.checkout_timeouts": ("{checkout}", True),
    }
    assert set(metrics) == set(expected)
    for name, (unit, monotonic) in expected.items():
        assert metrics[name].unit == unit, name
        points = metrics[name].data
        assert isinstance(points, Sum), name
        assert points.is_monotonic is monotonic, name


@pytest.mark.parametrize("transport", ["urllib3", "curl"])
def test_a_request_held_by_a_slow_server_is_active(
    server: LocalServer, meter_provider: Metrics, transport: str
) -> None:
    provider, reader = meter_provider
    origin = {"server__address": "127.0.0.1", "server__port": server.port}

    def active(points: Points) -> tuple[int, int, int]:
        return (
            _value(points, "http.client.active_requests", **origin),
            _value(points, "http.client.open_connections", http__connection__state="active", **origin),
            _value(points, "sessionpool.sessions_in_use"),
        )

    with QueuePool(size=2, transport=transport) as pool, instrument_pool(pool, meter_provider=provider):
        slow = threading.Thread(target=pool.get, args=(f"{server.url}/sleep/2",))
        slow.start()
        try:
            assert wait_until(lambda: "http.client.active_requests" in _collect(reader))
            assert active(_collect(reader)) == (1, 1, 1)
        finally:
            slow.join()
        assert active(_collect(reader)) == (0, 0, 0)


def test_stale_retries_are_counted_by_reason(meter_provider: Metrics) -> None:
    provider, reader = meter_provider
    with (
        LocalServer(faults=Faults(after=1)) as fault,
        QueuePool(size=1) as pool,
        instrument_pool(pool, meter_provider=provider),
    ):
        pool.get(f"{fault.url}/first")
        pool.get(f"{fault.url}/second")  # its reused connection dies under it: sent again on a new one
        points = _collect(reader)
    assert _value(points, "sessionpool.retries", sessionpool__retry__reason="stale") == 1
    assert _value(points, "sessionpool.retries", sessionpool__retry__reason="transient") == 0
    assert _value(points, "sessionpool.retries", sessionpool__retry__reason="read") == 0
    assert _value(points, "sessionpool.requests") == 3
    assert _value(points, "sessionpool.connections_opened") == 2


def test_pools_sharing_a_provider_are_told_apart_by_name(server: LocalServer, meter_provider: Metrics) -> None:
    provider, reader = meter_provider
    with QueuePool(size=1) as first, QueuePool(size=1) as second, QueuePool(size=1) as third:
        instrument_pool(first, meter_provider=provider, name="api")
        instrument_pool(second, meter_provider=provider, name="cdn")
        instrument_pool(third, meter_provider=provider, name="cdn")
        first.get(f"{server.url}/")
        for pool in (second, third):
            pool.get(f"{server.url}/")
            pool.get(f"{server.url}/")
        points = _collect(reader)
    assert _value(points, "sessionpool.requests", sessionpool__pool__name="api") == 1
    assert _value(points, "sessionpool.requests", sessionpool__pool__name="cdn") == 4  # same name: added up
    idle = {"http__connection__state": "idle", "server__port": server.port}
    assert _value(points, "http.client.open_connections", sessionpool__pool__name="cdn", **idle) == 2


def test_reporting_stops_when_the_link_or_the_pool_closes(server: LocalServer, meter_provider: Metrics) -> None:
    provider, reader = meter_provider
    kept, ended = ThreadLocalPool(), ThreadLocalPool()
    with kept:
        link = instrument_pool(kept, meter_provider=provider, name="kept")
        instrument_pool(ended, meter_provider=provider, name="ended")
        assert {point["sessionpool.pool.name"] for point, _ in _collect(reader)["sessionpool.requests"]} == {
            "kept",
            "ended",
        }
        ended.close()
        assert [point["sessionpool.pool.name"] for point, _ in _collect(reader)["sessionpool.requests"]] == ["kept"]
        link.close()
        link.close()  # again: nothing
        assert link.closed
        assert "sessionpool.requests" not in _collect(reader)
        # A closed link lets the pool be reported again.
        instrument_pool(kept, meter_provider=provider)
        assert "sessionpool.requests" in _collect(reader)


def test_a_pool_dropped_unclosed_stops_being_reported(meter_provider: Metrics) -> None:
    provider, reader = meter_provider
    link = instrument_pool(ThreadLocalPool(), meter_provider=provider)
    gc.collect()
    assert link.closed
    assert _collect(reader) == {}


def test_a_pool_is_reported_once_per_provider(meter_provider: Metrics) -> None:
    provider, _ = meter_provider
    with ThreadLocalPool() as pool, instrument_pool(pool, meter_provider=provider) as link:
        assert isinstance(link, PoolMetrics)
        with pytest.raises(ValueError, match="already reported"):
            instrument_pool(pool, meter_provider=provider, name="again")
        with instrument_pool(pool, meter_provider=MeterProvider(shutdown_on_exit=False)):
            pass  # another provider: fine


def test_a_closed_pool_cannot_be_instrumented(meter_provider: Metrics) -> None:
    provider, _ = meter_provider
    pool = ThreadLocalPool()
    pool.close()
    with pytest.raises(PoolClosed):
        instrument_pool(pool, meter_provider=provider)


def test_without_opentelemetry_the_import_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.metrics", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "sessionpool.otel")
    with pytest.raises(ImportError, match=r"pip install 'sessionpool\[otel\]'"):
        importlib.import_module("sessionpool.otel")


# -- the tracing recipe of docs/ecosystem.md ---------------------------------


def resend_count_hook(span: Span, request: requests.PreparedRequest, response: requests.Response) -> None:
    """Record on the request's span how many times sessionpool sent it again."""
    resends = attempts(response) - 1
    if resends > 0:
        span.set_attribute("http.request.resend_count", resends)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """requests instrumented for tracing into memory, for the test only."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = RequestsInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, response_hook=resend_count_hook)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        tracer_provider.shutdown()
        # Nothing left behind: requests is as it was.
        assert not hasattr(requests.Session.send, "opentelemetry_instrumentation_requests_applied")


def test_a_retried_request_carries_its_resend_count(spans: InMemorySpanExporter) -> None:
    with LocalServer(faults=Faults(after=1)) as fault, QueuePool(size=1) as pool:
        assert pool.get(f"{fault.url}/first").content == b"ok"
        retried = pool.get(f"{fault.url}/second")  # its reused connection dies under it
        assert attempts(retried) == 2
    first, second = spans.get_finished_spans()
    assert first.attributes is not None
    assert second.attributes is not None
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.request.resend_count"] == 1
    assert len(fault.requests) == 3  # one span for the two sends of /second
