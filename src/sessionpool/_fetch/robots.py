"""robots.txt for the fetch engine: read once per host through the pool, obeyed for every URL.

With ``FetchOptions(robots=True)``, the first URL of a host fetches that
host's ``/robots.txt`` through the same pool (so its limits, timeout, headers
and retry policy apply), while the host's other URLs wait for it; the rules
are read with :mod:`urllib.robotparser`, for the pool's ``User-Agent``. The
answer decides as robotparser decides: a ``401`` or ``403`` disallows the
whole host, another ``4xx`` (no robots.txt) allows it, and a ``5xx``
disallows it (the site is in trouble). A robots.txt that could not be
fetched at all (refused, timed out) allows the host: its URLs then fail, or
not, on their own. A ``Crawl-delay`` for the user agent becomes the host's
delay in the pool (:meth:`~sessionpool.Pool.set_host_delay`), at most
``per_host_pause_max`` (a site asking for an hour between requests would
hold its URLs until each timed out waiting).

Everything a server sends is read totally: at most :data:`MAX_ROBOTS_BYTES`
of the file, lines robotparser would fail on left out (:func:`parse_rules`),
so a robots.txt can forbid, allow or slow down, but never break a crawl.

Rules are kept per pool, for the most recently used hosts (a crawl over
more hosts than that reads a forgotten host's robots.txt again). Each worker
process or cluster worker has its own pool, so its own rules; URLs are
shared out by host, so a host's robots.txt is still read about once.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from urllib.robotparser import RobotFileParser

import requests
from requests.utils import default_user_agent

from sessionpool._base import Pool
from sessionpool._defaults import DEFAULT_PER_HOST_PAUSE_MAX
from sessionpool._errors import DisallowedByRobots
from sessionpool._hosts import host_of

__all__ = ["MAX_ROBOTS_BYTES", "crawl_delay", "parse_rules", "robots_refusal"]

_MAX_HOSTS = 10_000
#: The most of a robots.txt that is read, as Google reads at most 500 KiB:
#: rules past it are ignored, and a server cannot make the crawl read more.
MAX_ROBOTS_BYTES = 500 * 1024
#: The longest number a Crawl-delay or Request-rate line is read with.
_MAX_NUMBER_LENGTH = 16
_ALLOW_ALL: list[str] = []
_DISALLOW_ALL = ["User-agent: *", "Disallow: /"]

_RULES: weakref.WeakKeyDictionary[Pool, _Rules] = weakref.WeakKeyDictionary()
_RULES_LOCK = threading.Lock()


def robots_refusal(pool: Pool, url: str) -> DisallowedByRobots | None:
    """Why the robots.txt of ``url``'s host forbids fetching it through ``pool``; None if it allows it."""
    with _RULES_LOCK:
        rules = _RULES.get(pool)
        if rules is None:
            rules = _RULES[pool] = _Rules(pool)
    return rules.refusal(url)


class _Host:
    """One host's robots.txt: read by the first thread that needs it, while the others wait."""

    def __init__(self) -> None:
        self.read = threading.Lock()
        self.parser: RobotFileParser | None = None


class _Rules:
    """The robots.txt rules of the hosts one pool has fetched from."""

    def __init__(self, pool: Pool) -> None:
        self._pool = weakref.ref(pool)
        agent = pool.config.headers.get("User-Agent")
        self._agent = agent if agent else default_user_agent()
        self._lock = threading.Lock()
        self._hosts: OrderedDict[str, _Host] = OrderedDict()

    def refusal(self, url: str) -> DisallowedByRobots | None:
        key = host_of(url)
        with self._lock:
            host = self._hosts.get(key)
            if host is None:
                host = self._hosts[key] = _Host()
                while len(self._hosts) > _MAX_HOSTS:
                    self._hosts.popitem(last=False)
            else:
                self._hosts.move_to_end(key)
        with host.read:
            if host.parser is None:
                host.parser = self._fetch(key)
            parser = host.parser
        if parser.can_fetch(self._agent, url):
            return None
        return DisallowedByRobots(f"{key}/robots.txt disallows {url} for the user agent {self._agent!r}")

    def _fetch(self, key: str) -> RobotFileParser:
        parser = RobotFileParser(key + "/robots.txt")
        pool = self._pool()
        if pool is None:  # pragma: no cover - the pool is alive while a URL is fetched through it
            parser.parse(_ALLOW_ALL)
            return parser
        try:
            response = pool.get(key + "/robots.txt", stream=True)
            with response:
                status = response.status_code
                text = _read_text(response) if status < 400 else ""
        except requests.RequestException:
            parser.parse(_ALLOW_ALL)  # unreachable: the host's URLs will say so themselves
            return parser
        if status in (401, 403) or status >= 500:
            parser.parse(_DISALLOW_ALL)
        elif status >= 400:
            parser.parse(_ALLOW_ALL)
        else:
            parse_rules(parser, text)
        delay = crawl_delay(parser, self._agent)
        if delay is not None:
            cap = pool.config.per_host_pause_max or DEFAULT_PER_HOST_PAUSE_MAX
            pool.set_host_delay(key, min(delay, cap))
        return parser


def _read_text(response: requests.Response) -> str:
    """The first :data:`MAX_ROBOTS_BYTES` of a robots.txt body, as text; the rest is not read."""
    chunks = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ROBOTS_BYTES:
            break
    return b"".join(chunks)[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")


def parse_rules(parser: RobotFileParser, text: str) -> None:
    """Give ``parser`` the rules of ``text``, whatever it holds.

    :mod:`urllib.robotparser` turns a ``Crawl-delay`` or ``Request-rate``
    that passes ``str.isdigit`` into an ``int``, which fails for digits
    that are not ASCII (``Crawl-delay: ²``) and for numbers of thousands of
    digits: such lines are left out, and so is any line of a file that it
    still cannot read (all its rules then allow everything).
    """
    lines = [line for line in text.splitlines() if not _unreadable(line)]
    try:
        parser.parse(lines)
    except Exception:  # robotparser's own limits: a file it cannot read says nothing
        parser.parse(_ALLOW_ALL)


def _unreadable(line: str) -> bool:
    """Whether ``line`` is a number directive robotparser would fail on (see :func:`parse_rules`)."""
    name, colon, value = line.partition(":")
    if not colon or name.strip().lower() not in ("crawl-delay", "request-rate"):
        return False
    value = value.split("#", 1)[0].strip()
    return not value.isascii() or len(value) > _MAX_NUMBER_LENGTH


def crawl_delay(parser: RobotFileParser, agent: str) -> float | None:
    """The ``Crawl-delay`` ``parser`` read for ``agent``, in seconds, if a sensible one."""
    try:
        delay = parser.crawl_delay(agent)
    except Exception:  # pragma: no cover - parse_rules leaves nothing it fails on
        return None
    if isinstance(delay, (int, float)) and not isinstance(delay, bool) and 0 <= delay < float("inf"):
        return float(delay)
    return None
