"""OpenTelemetry metrics for a pool: :func:`instrument_pool` (the ``otel`` extra).

Install with ``pip install 'sessionpool[otel]'``; the rest of the package
never imports this module. Every instrument is observable: the SDK reads the
pool when it collects, so a request pays nothing for being measured.

- ``http.client.open_connections`` (UpDownCounter, ``{connection}``): the
  pool's open connections per ``http.connection.state`` (``active`` or
  ``idle``), ``server.address``, ``server.port`` and ``url.scheme``;
- ``http.client.active_requests`` (UpDownCounter, ``{request}``): requests
  in flight per ``server.address``, ``server.port`` and ``url.scheme``;
- ``sessionpool.requests``, ``sessionpool.requests_reused`` (Counters,
  ``{request}``), ``sessionpool.connections_opened`` (Counter,
  ``{connection}``): whether connections are reused;
- ``sessionpool.retries`` (Counter, ``{request}``), per
  ``sessionpool._retry.reason``: ``stale``, ``transient`` or ``read``;
- ``sessionpool.sessions_in_use`` (UpDownCounter, ``{session}``),
  ``sessionpool.checkouts`` and ``sessionpool.checkout_timeouts``
  (Counters, ``{checkout}``): whether the pool is big enough.

The two ``http.client.*`` instruments follow the OpenTelemetry semantic
conventions for HTTP client metrics (both in development there); the
``sessionpool.*`` ones are the counters of :class:`~sessionpool.PoolStats`,
named as its fields are. Every measurement carries ``sessionpool.pool.name``,
the name given to :func:`instrument_pool`, so that pools sharing a meter
provider can be told apart (pools given the same name are added up).

For traces, use ``opentelemetry-instrumentation-requests``: it wraps
``requests.Session.send``, so a request sent through a pool gets one span
covering all its attempts (see the README's recipe for
``http.request.resend_count``).
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING

try:
    from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation, get_meter_provider
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError(
        "sessionpool.otel needs the OpenTelemetry API, which sessionpool's 'otel' extra installs:"
        " pip install 'sessionpool[otel]'"
    ) from error

import sessionpool
from sessionpool._base import Pool
from sessionpool._connections import OpenConnections
from sessionpool._errors import PoolClosed
from sessionpool._policy import READ, STALE, TRANSIENT
from sessionpool._stats import PoolStats

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["DEFAULT_POOL_NAME", "PoolMetrics", "instrument_pool"]

#: The ``sessionpool.pool.name`` of a pool instrumented without a name.
DEFAULT_POOL_NAME = "default"

#: The instrumentation scope every instrument belongs to.
_METER_NAME = "sessionpool"

#: A measurement's attributes, as a key that adds up equal sets.
_Key = tuple[tuple[str, str | int], ...]


class PoolMetrics:
    """What :func:`instrument_pool` returns: one pool reported to one meter provider.

    Reporting stops at :meth:`close`, or by itself once the pool is closed or
    garbage collected; the pool's series then disappear from the next
    collection. Keeping this object is needed only to stop earlier: it holds
    the pool weakly, and so do the instruments' callbacks.
    """

    __slots__ = ("_closed", "_name", "_pool")

    def __init__(self, pool: Pool, name: str) -> None:
        self._pool = weakref.ref(pool)
        self._name = name
        self._closed = False

    @property
    def name(self) -> str:
        """The pool's ``sessionpool.pool.name``."""
        return self._name

    @property
    def closed(self) -> bool:
        """Whether reporting has stopped: :meth:`close` was called, or the pool is closed or gone."""
        return self._live_pool() is None

    def close(self) -> None:
        """Stop reporting the pool. Calling it again does nothing."""
        self._closed = True

    def _live_pool(self) -> Pool | None:
        pool = self._pool()
        if self._closed or pool is None or pool.closed:
            return None
        return pool

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PoolMetrics name={self._name!r}{' closed' if self.closed else ''}>"


def instrument_pool(
    pool: Pool, *, meter_provider: MeterProvider | None = None, name: str = DEFAULT_POOL_NAME
) -> PoolMetrics:
    """Report ``pool``'s connections and counters through OpenTelemetry metrics.

    :param pool: an open :class:`~sessionpool.ThreadLocalPool` or :class:`~sessionpool.QueuePool`.
    :param meter_provider: where to report; the global meter provider if None.
    :param name: the pool's ``sessionpool.pool.name`` on every measurement.
    :returns: the link, whose :meth:`PoolMetrics.close` stops the reporting.
    :raises PoolClosed: if the pool is closed.
    :raises ValueError: if the pool is already reported to this meter provider.

    The instruments are made once per meter provider and report every pool
    instrumented with it; see the module's documentation for the list.
    """
    if pool.closed:
        raise PoolClosed("a closed pool has nothing to report; instrument the pool that replaced it", pool=repr(pool))
    provider = meter_provider if meter_provider is not None else get_meter_provider()
    with _BRIDGES_LOCK:
        bridge = _BRIDGES.get(provider)
        if bridge is None:
            bridge = _BRIDGES[provider] = _Bridge(provider.get_meter(_METER_NAME, sessionpool.__version__))
    return bridge.add(pool, name)


@dataclass(frozen=True)
class _StatsInstrument:
    """A ``sessionpool.*`` instrument, and how to read its measurements from a snapshot."""

    name: str
    monotonic: bool
    unit: str
    description: str
    read: Callable[[PoolStats], Iterable[tuple[int, _Key]]]


_REASON = "sessionpool.retry.reason"

_STATS_INSTRUMENTS = (
    _StatsInstrument(
        "sessionpool.requests",
        True,
        "{request}",
        "HTTP requests the pool's sessions sent or tried to send, redirects and retries included.",
        lambda stats: [(stats.requests, ())],
    ),
    _StatsInstrument(
        "sessionpool.requests_reused",
        True,
        "{request}",
        "Requests that went out on a connection already open.",
        lambda stats: [(stats.requests_reused, ())],
    ),
    _StatsInstrument(
        "sessionpool.connections_opened",
        True,
        "{connection}",
        "TCP connections (with their TLS handshakes) the pool's sessions opened.",
        lambda stats: [(stats.connections_opened, ())],
    ),
    _StatsInstrument(
        "sessionpool.retries",
        True,
        "{request}",
        "Requests sent again: 'stale' when the reused connection was closed by the server,"
        " 'transient' after a connect failure or a transient status, 'read' after a read error.",
        lambda stats: [
            (stats.stale_retries, ((_REASON, STALE),)),
            (stats.transient_retries, ((_REASON, TRANSIENT),)),
            (stats.read_retries, ((_REASON, READ),)),
        ],
    ),
    _StatsInstrument(
        "sessionpool.sessions_in_use",
        False,
        "{session}",
        "Sessions lent out.",
        lambda stats: [(stats.sessions_in_use, ())],
    ),
    _StatsInstrument(
        "sessionpool.checkouts",
        True,
        "{checkout}",
        "Times a session was lent.",
        lambda stats: [(stats.checkouts, ())],
    ),
    _StatsInstrument(
        "sessionpool.checkout_timeouts",
        True,
        "{checkout}",
        "Checkouts that gave up waiting for a session.",
        lambda stats: [(stats.checkout_timeouts, ())],
    ),
)


class _Bridge:
    """The instruments of one meter provider, and the pools they report."""

    def __init__(self, meter: Meter) -> None:
        self._lock = threading.Lock()
        self._links: list[PoolMetrics] = []
        meter.create_observable_up_down_counter(
            "http.client.open_connections",
            callbacks=[self._observe_open_connections],
            unit="{connection}",
            description="Number of outbound HTTP connections that are currently active or idle on the client.",
        )
        meter.create_observable_up_down_counter(
            "http.client.active_requests",
            callbacks=[self._observe_active_requests],
            unit="{request}",
            description=(
                "Number of active HTTP requests. On HTTP/1.1 a request in flight holds one checked-out"
                " connection, from the moment it is connected until its response body is read: this is the"
                " number of active connections."
            ),
        )
        for spec in _STATS_INSTRUMENTS:
            create = meter.create_observable_counter if spec.monotonic else meter.create_observable_up_down_counter
            create(
                spec.name,
                callbacks=[partial(self._observe_stats, spec.read)],
                unit=spec.unit,
                description=spec.description,
            )

    def add(self, pool: Pool, name: str) -> PoolMetrics:
        """Start reporting ``pool`` under ``name``."""
        link = PoolMetrics(pool, name)
        with self._lock:
            if any(known._live_pool() is pool for known in self._links):
                raise ValueError(f"{pool!r} is already reported to this meter provider; close its PoolMetrics first")
            self._links.append(link)
        return link

    def _pools(self) -> list[tuple[str, Pool]]:
        """The pools to report now, each with its name; forgets the links that stopped."""
        with self._lock:
            live = [(link, link._live_pool()) for link in self._links]
            self._links = [link for link, pool in live if pool is not None]
        return [(link.name, pool) for link, pool in live if pool is not None]

    def _observe_open_connections(self, options: CallbackOptions) -> Iterable[Observation]:
        totals: Counter[_Key] = Counter()
        for name, pool in self._pools():
            for entry in pool.open_connections():
                totals[_origin_key(name, entry, ("http.connection.state", "active"))] += entry.active
                totals[_origin_key(name, entry, ("http.connection.state", "idle"))] += entry.idle
        return _observations(totals)

    def _observe_active_requests(self, options: CallbackOptions) -> Iterable[Observation]:
        totals: Counter[_Key] = Counter()
        for name, pool in self._pools():
            for entry in pool.open_connections():
                totals[_origin_key(name, entry)] += entry.active
        return _observations(totals)

    def _observe_stats(
        self, read: Callable[[PoolStats], Iterable[tuple[int, _Key]]], options: CallbackOptions
    ) -> Iterable[Observation]:
        totals: Counter[_Key] = Counter()
        for name, pool in self._pools():
            for value, attributes in read(pool.stats()):
                key: _Key = (("sessionpool.pool.name", name), *attributes)
                totals[key] += value
        return _observations(totals)


def _origin_key(name: str, entry: OpenConnections, *more: tuple[str, str | int]) -> _Key:
    origin = (("server.address", entry.host), ("server.port", entry.port), ("url.scheme", entry.scheme))
    return (("sessionpool.pool.name", name), *origin, *more)


def _observations(totals: Counter[_Key]) -> list[Observation]:
    return [Observation(value, dict(key)) for key, value in totals.items()]


#: One bridge per meter provider: instruments of the same name made twice on
#: one meter would be one instrument, whose second set of callbacks is ignored.
_BRIDGES: weakref.WeakKeyDictionary[MeterProvider, _Bridge] = weakref.WeakKeyDictionary()
_BRIDGES_LOCK = threading.Lock()
