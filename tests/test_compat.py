"""The fence around requests' and urllib3's private names: nothing outside it, each item working.

Each item of sessionpool._compat is checked on the installed versions, with
real objects. Mirrored code is checked where it is used: requests'
``merge_environment_settings`` against the cache's in
``test_environment.py::test_cached_answers_equal_requests_own``.
"""

from __future__ import annotations

import ast
import io
import pickle
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPConnectionPool, HTTPHeaderDict, PoolManager
from urllib3.exceptions import NewConnectionError

import sessionpool
from sessionpool import _compat
from sessionpool.testing import LocalServer

SOURCE = Path(sessionpool.__file__).parent
#: The fence: the package sessionpool._compat, one module per library.
FENCE = SOURCE / "_compat"

#: Private attributes and methods of requests and urllib3 (and of the standard
#: library classes they build on) that only sessionpool._compat may name.
PRIVATE_NAMES = frozenset(
    {
        "_store",
        "_container",
        "_cookies",
        "_cookies_lock",
        "_body_position",
        "_pool_connections",
        "_pool_maxsize",
        "_pool_block",
        "_new_conn",
        "_get_conn",
        "_put_conn",
        "_make_request",
        "_new_pool",
        "__attrs__",
    }
)
#: Public attributes relied on for their structure, fenced too (as attributes:
#: "queue" is also a pool kind's name).
STRUCTURAL_ATTRIBUTES = frozenset({"pool_classes_by_scheme", "conn_kw", "connection_pool_kw", "queue", "mutex"})
#: Undocumented helpers of requests, imported through the fence only.
HELPERS = frozenset({"merge_setting", "get_environ_proxies", "get_netrc_auth"})
#: (module, attribute) pairs that are sessionpool's own and only share a name.
OWN_ATTRIBUTES = frozenset(
    {
        ("_base.py", "_cookies"),  # Pool._cookies: the pool's shared jar
        ("_queuepool.py", "_cookies"),  # the same attribute, read by QueuePool
    }
)
LIBRARIES = ("requests", "urllib3")


def _violations(text: str, module: str) -> list[str]:
    """Where the source ``text`` of ``module`` names a fenced name: ``module:line: what``, in line order."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in LIBRARIES:
            for alias in node.names:
                if alias.name.startswith("_") or alias.name in HELPERS or "._" in (node.module or ""):
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in LIBRARIES and node.attr.startswith("_"):
                found.append((node.lineno, f"{node.value.id}.{node.attr}"))
            elif node.attr in PRIVATE_NAMES | STRUCTURAL_ATTRIBUTES and (module, node.attr) not in OWN_ATTRIBUTES:
                found.append((node.lineno, f".{node.attr}"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in PRIVATE_NAMES:
            found.append((node.lineno, f"def {node.name}"))
        elif isinstance(node, ast.Constant) and node.value in PRIVATE_NAMES:  # getattr(obj, "_name")
            found.append((node.lineno, repr(node.value)))
    return [f"{module}:{line}: {what}" for line, what in sorted(found)]


def test_no_module_outside_the_fence_names_a_private_internal() -> None:
    modules = [path for path in sorted(SOURCE.rglob("*.py")) if FENCE not in path.parents]
    assert len(modules) > 10  # the walk found the package
    violations = [
        line
        for path in modules
        for line in _violations(path.read_text(encoding="utf-8"), path.relative_to(SOURCE).as_posix())
    ]
    assert violations == [], "go through sessionpool._compat instead:\n" + "\n".join(violations)


def test_the_check_finds_each_kind_of_use() -> None:
    text = (
        "from requests.utils import get_netrc_auth\n"
        "def _get_conn(self): return self.pool.queue\n"
        "x = getattr(request, '_body_position', None)\n"
        "y = headers._store\n"
        "z = requests._internal_utils\n"
        "kind = 'queue'\n"
        "from sessionpool._cookies import SharedCookieJar\n"
        "mine = self._cookies\n"
    )
    assert _violations(text, "_sample.py") == [
        "_sample.py:1: from requests.utils import get_netrc_auth",
        "_sample.py:2: .queue",
        "_sample.py:2: def _get_conn",
        "_sample.py:3: '_body_position'",
        "_sample.py:4: ._store",
        "_sample.py:5: requests._internal_utils",
        "_sample.py:8: ._cookies",
    ]
    assert _violations("mine = self._cookies\n", "_base.py") == []


def test_every_fenced_name_is_in_the_fence() -> None:
    text = "".join(path.read_text(encoding="utf-8") for path in sorted(FENCE.glob("*.py")))
    assert [name for name in sorted(PRIVATE_NAMES | STRUCTURAL_ATTRIBUTES | HELPERS) if name not in text] == []


def test_the_fence_hands_out_every_item_of_its_modules() -> None:
    from sessionpool._compat import requests_internals, urllib3_internals

    modules = (requests_internals, urllib3_internals)
    assert sorted(_compat.__all__) == sorted(name for module in modules for name in module.__all__)
    assert all(getattr(_compat, name) is getattr(module, name) for module in modules for name in module.__all__)


# requests: sessions


def test_session_attributes_cover_a_plain_session() -> None:
    session = requests.Session()
    assert vars(session).keys() <= _compat.SESSION_ATTRIBUTES
    assert {"headers", "cookies", "adapters", "auth", "verify"} <= _compat.SESSION_ATTRIBUTES


def test_requests_helpers_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _compat.merge_setting({"a": "1", "b": None}, {"b": "2", "c": "3"}) == {"a": "1", "c": "3"}
    assert _compat.merge_setting(None, True) is True
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _compat.get_environ_proxies("http://example.org/", no_proxy=None)["http"] == "http://proxy.invalid:3128"
    assert _compat.get_environ_proxies("http://example.org/", no_proxy="example.org") == {}
    netrc = tmp_path / "netrc"
    netrc.write_text("machine example.org login user password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    assert _compat.get_netrc_auth("http://example.org/x") == ("user", "secret")


def test_netrc_consulted_stops_requests_reading_netrc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine example.org login user password secret\n")
    monkeypatch.setenv("NETRC", str(netrc))
    session = requests.Session()
    assert "Authorization" in session.prepare_request(requests.Request("GET", "http://example.org/")).headers
    request = requests.Request("GET", "http://example.org/", auth=_compat.netrc_consulted)
    prepared = session.prepare_request(request)
    assert "Authorization" not in prepared.headers
    assert prepared.url == "http://example.org/"


# requests: headers, cookies, bodies


def test_headers_identical_compares_names_case_values_and_order() -> None:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict({"Accept": "*/*", "X-One": "1"})
    assert _compat.headers_identical(headers, CaseInsensitiveDict({"Accept": "*/*", "X-One": "1"}))
    assert not _compat.headers_identical(headers, CaseInsensitiveDict({"accept": "*/*", "X-One": "1"}))
    assert not _compat.headers_identical(headers, CaseInsensitiveDict({"Accept": "*/*", "X-One": "2"}))
    assert not _compat.headers_identical(headers, CaseInsensitiveDict({"X-One": "1", "Accept": "*/*"}))


def test_copy_headers_makes_an_independent_equal_dict() -> None:
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict({"Accept": "*/*"})
    copy = _compat.copy_headers(headers)
    assert type(copy) is CaseInsensitiveDict
    assert copy == headers
    assert copy["ACCEPT"] == "*/*"
    assert _compat.headers_identical(copy, headers)
    copy["X-New"] = "1"
    assert "X-New" not in headers
    assert list(copy) == ["Accept", "X-New"]


def _received_fields() -> dict[str, list[str]]:
    """Header fields as a response's head gives them: a repeated name, a name in two cases, a single one."""
    return {"set-cookie": ["Set-Cookie", "a=1", "b=2"], "x-one": ["X-ONE", "1", "2"], "server": ["Server", "s"]}


def test_header_dict_holds_the_fields_as_urllib3_adds_them() -> None:
    added = HTTPHeaderDict()
    for name, value in (("Set-Cookie", "a=1"), ("X-ONE", "1"), ("Set-Cookie", "b=2"), ("x-one", "2"), ("Server", "s")):
        added.add(name, value)
    built = _compat.header_dict(_received_fields())
    assert type(built) is HTTPHeaderDict
    assert built == added
    assert list(built.items()) == list(added.items())
    assert list(built.itermerged()) == list(added.itermerged())
    assert built.getlist("set-cookie") == ["a=1", "b=2"]
    assert built["X-One"] == "1, 2"
    built.add("X-New", "n")  # it is a working dict of its own
    assert built["x-new"] == "n"


def test_merged_headers_is_what_requests_builds_from_urllib3s_headers() -> None:
    raw = _compat.header_dict(_received_fields())
    expected: CaseInsensitiveDict[str] = CaseInsensitiveDict(raw)  # requests' build_response
    store = {key: (values[0], ", ".join(values[1:])) for key, values in _received_fields().items()}
    merged = _compat.merged_headers(store)
    assert type(merged) is CaseInsensitiveDict
    assert list(merged.items()) == list(expected.items())
    assert list(merged.lower_items()) == list(expected.lower_items())
    assert merged["set-cookie"] == "a=1, b=2"
    assert pickle.loads(pickle.dumps(merged)) == expected


def test_jar_is_empty() -> None:
    jar = RequestsCookieJar()
    assert _compat.jar_is_empty(jar)
    jar.set("name", "value")
    assert not _compat.jar_is_empty(jar)
    jar.clear()
    assert _compat.jar_is_empty(jar)


def test_set_content_is_the_body_requests_reads(server: LocalServer) -> None:
    response = requests.get(server.url + "/echo", stream=True, timeout=10)
    _compat.set_content(response, b"set")
    assert response.content == b"set"
    assert response.text == "set"
    assert list(response.iter_content(2)) == [b"se", b"t"]  # iter_content serves what was set, not the stream
    response.close()


def test_cookie_jar_lock_is_the_lock_writes_hold() -> None:
    jar = RequestsCookieJar()
    lock = _compat.cookie_jar_lock(jar)
    written = threading.Event()

    def write() -> None:
        jar.set("name", "value")
        written.set()

    with lock:
        with lock:  # reentrant: a SharedCookieJar iterates inside its own locked updates
            pass
        writer = threading.Thread(target=write)
        writer.start()
        assert not written.wait(0.2)  # set_cookie waits for the lock
    assert written.wait(5)
    writer.join(5)
    assert jar.get("name") == "value"
    assert _compat.cookie_jar_lock(pickle.loads(pickle.dumps(jar))) is not lock  # requests recreates it


@pytest.mark.parametrize(
    ("body", "rewinds"),
    [(io.BytesIO(b"data"), True), (b"data", False), (None, False), ((part for part in [b"a"]), False)],
    ids=["file", "bytes", "none", "generator"],
)
def test_body_can_rewind(body: Any, rewinds: bool) -> None:
    prepared = requests.Request("POST", "http://example.org/", data=body).prepare()
    assert _compat.body_can_rewind(prepared) is rewinds


def test_a_body_whose_tell_fails_cannot_rewind() -> None:
    class NoTell(io.BytesIO):
        def tell(self) -> int:
            raise OSError("not seekable")

    prepared = requests.Request("POST", "http://example.org/", data=NoTell(b"data")).prepare()
    assert not _compat.body_can_rewind(prepared)


# requests: the adapter


def test_pool_sizes_read_what_requests_set() -> None:
    adapter = HTTPAdapter(pool_connections=3, pool_maxsize=4, pool_block=True)
    assert _compat.pool_sizes(adapter) == (3, 4, True)
    assert _compat.pool_sizes(HTTPAdapter()) == (
        requests.adapters.DEFAULT_POOLSIZE,
        requests.adapters.DEFAULT_POOLSIZE,
        requests.adapters.DEFAULT_POOLBLOCK,
    )


def test_set_pool_sizes_is_what_requests_rebuilds_from() -> None:
    adapter = HTTPAdapter()
    _compat.set_pool_sizes(adapter, 5, 7, True)
    assert _compat.pool_sizes(adapter) == (5, 7, True)
    unpickled = pickle.loads(pickle.dumps(adapter))  # requests' __setstate__ builds its pool manager from them
    assert _compat.pool_sizes(unpickled) == (5, 7, True)
    assert _compat.pool_manager_keywords(unpickled.poolmanager) == {"maxsize": 7, "block": True}


def test_pool_manager_keywords_of_a_plain_adapter() -> None:
    assert _compat.pool_manager_keywords(HTTPAdapter().poolmanager).keys() == {"maxsize", "block"}
    configured = HTTPAdapter()
    configured.init_poolmanager(10, 10, socket_options=[])
    assert "socket_options" in _compat.pool_manager_keywords(configured.poolmanager)


# urllib3: connections, pools, pool managers


class _RecordingConnection(_compat.HookedConnection):
    def __init__(self, *args: Any, note: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.note = note if note is not None else []

    def socket_opened(self) -> None:
        self.note.append("socket")


class _RecordingPool(_compat.HookedConnectionPool):
    ConnectionCls = _RecordingConnection

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events: list[tuple[str, Any]] = []

    def connection_checked_out(self, conn: Any) -> None:
        self.events.append(("out", conn))

    def connection_returning(self, conn: Any) -> None:
        self.events.append(("back", conn))

    def request_starting(self, conn: Any) -> bool:
        reused = super().request_starting(conn)
        self.events.append(("request", reused))
        return reused

    def request_failed(self, conn: Any, error: BaseException, reused: bool) -> None:
        self.events.append(("failed", (type(error), reused)))


def test_hooked_connection_tells_each_socket_it_opens(server: LocalServer) -> None:
    note: list[str] = []
    conn = _RecordingConnection("127.0.0.1", server.port, note=note)
    conn.connect()
    assert note == ["socket"]
    conn.close()
    conn.connect()  # a reconnect opens another
    assert note == ["socket", "socket"]
    conn.close()


def test_hooked_pool_calls_its_hooks_around_each_request(server: LocalServer) -> None:
    with _RecordingPool("127.0.0.1", server.port, maxsize=1) as pool:
        assert pool.request("GET", "/").data == b"ok"
        assert pool.request("GET", "/").data == b"ok"
        kinds = [kind for kind, _ in pool.events]
        assert kinds == ["out", "request", "back", "out", "request", "back"]
        conn = pool.events[0][1]
        assert all(value is conn for kind, value in pool.events if kind in ("out", "back"))
        assert [value for kind, value in pool.events if kind == "request"] == [False, True]
        assert conn.note == ["socket"]


def test_hooked_pool_tells_a_failure_before_the_response() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with _RecordingPool("127.0.0.1", port, maxsize=1, retries=False) as pool, pytest.raises(NewConnectionError):
        pool.request("GET", "/")
    # Told once, with the error raised on, on a connection that was not reused (it never connected).
    assert [value for kind, value in pool.events if kind == "failed"] == [(NewConnectionError, False)]


def test_add_connection_keywords_reach_every_new_connection(server: LocalServer) -> None:
    note: list[str] = []
    with _RecordingPool("127.0.0.1", server.port, maxsize=1) as pool:
        _compat.add_connection_keywords(pool, note=note)
        assert pool.request("GET", "/").data == b"ok"
    assert note == ["socket"]


def test_drop_idle_connections_empties_their_slots(server: LocalServer) -> None:
    with _RecordingPool("127.0.0.1", server.port, maxsize=2) as pool:
        first = pool.request("GET", "/", preload_content=False)
        second = pool.request("GET", "/", preload_content=False)
        first.read()
        second.read()
        first.release_conn()
        second.release_conn()
        idle = [conn for kind, conn in pool.events if kind == "back"]
        assert len(idle) == 2
        taken = _compat.drop_idle_connections(pool, lambda conn: conn is idle[0])
        assert taken == [idle[0]]
        assert _compat.drop_idle_connections(pool, lambda conn: conn is idle[0]) == []  # its slot is empty now
        for conn in taken:
            conn.close()
        pool.events.clear()
        assert pool.request("GET", "/").data == b"ok"  # an empty slot makes a new connection when reached
        assert pool.request("GET", "/").data == b"ok"
        used = {conn for kind, conn in pool.events if kind == "out"}
        assert idle[0] not in used
        assert idle[1] in used
    assert _compat.drop_idle_connections(pool, lambda conn: True) == []  # a closed pool has no queue


def test_hooked_pool_manager_tells_each_pool_it_makes() -> None:
    made: list[tuple[HTTPConnectionPool, int]] = []

    class Manager(_compat.HookedPoolManager):
        def pool_created(self, pool: HTTPConnectionPool, port: int) -> None:
            made.append((pool, port))

    with Manager() as manager:
        first = manager.connection_from_url("http://example.org/")
        assert manager.connection_from_url("http://example.org/other") is first  # the same pool, not made again
        second = manager.connection_from_url("https://example.org:8443/")
    assert made == [(first, 80), (second, 8443)]


def test_use_pool_classes_sets_the_class_of_each_new_pool() -> None:
    class Http(HTTPConnectionPool):
        pass

    with PoolManager() as manager:
        _compat.use_pool_classes(manager, {"http": Http, "https": HTTPConnectionPool})
        assert type(manager.connection_from_url("http://example.org/")) is Http
