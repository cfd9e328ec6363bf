"""A pool's sessions give requests' own results: the same generated requests, plain and pooled, field by field.

Each example sends the same calls through a plain :class:`requests.Session`
and through four pooled clients: a session lent by a ThreadLocalPool and
one lent by a QueuePool (``with pool.session() as s``), and the two pools'
own methods (``pool.request``, ``pool.get``, ...). What the server received
(method, request target, headers with their order and case, body) and what
each client returned (status, headers, body, encoding, URL, history, the
prepared request, cookies, the next request of an unfollowed redirect, the
hooks called) must be equal. Only what is random is normalised: a multipart
boundary, a digest ``cnonce`` and the ``response`` computed from it, and the
server's ``Date``; connection-level fields (``elapsed``, ``raw``, the
connection a request came on) are not compared, nor adapters (a pool's
sessions mount the pool's own).

Each example gets new pools and a new plain session, and sends its calls
twice: the second time a pool's session may answer from what it kept of
the first (the prepared requests of :mod:`sessionpool._fastpath`, the
environment's answers), which must change nothing.

The environment is controlled: no proxy variables, no CA bundle variables,
and ``NETRC`` pointing at a file that does not exist, unless a case sets one
on purpose (an ``HTTP_PROXY`` with ``NO_PROXY=localhost,127.0.0.1``). The
one documented difference from requests, that a CA bundle from the
environment (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) replaces only the
default ``verify=True`` and never a ``verify`` the pool was given, is kept
out of reach: those variables are never set here. A pool's default timeout
applies to calls that give none; it shows in no result.
"""

from __future__ import annotations

import io
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth
from requests.cookies import RequestsCookieJar

from sessionpool import PoolConfig, QueuePool, ThreadLocalPool
from sessionpool.testing import LocalServer

#: Examples per test: the file runs in well under a minute on two cores.
EXAMPLES = 60

#: hypothesis writes no database into the working tree; examples are drawn afresh on each run.
IDENTITY = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

CLIENTS = ("thread-local lent", "queue lent", "thread-local methods", "queue methods")

NO_PROXY_ENV = {"NO_PROXY": "localhost,127.0.0.1"}  # with HTTP_PROXY: the loopback server itself


# --- servers and environment ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, str]]:
    """An HTTPS server whose certificate a test CA signed, and the path of that CA's bundle."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = str(tmp_path_factory.mktemp("ca") / "ca.pem")
    ca.cert_pem.write_to_path(bundle)
    with LocalServer(tls=context) as server:
        yield server, bundle


@pytest.fixture(scope="module", autouse=True)
def controlled_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No proxy or CA bundle variables, and no .netrc, for every case of this module."""
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            *("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy"),
            *("no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"),
        ):
            patch.delenv(name, raising=False)
        patch.setenv("NETRC", str(tmp_path_factory.mktemp("netrc") / "absent"))
        yield


# --- what is generated ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """The session's own state, set on a plain session and, for a pool, in its config or on the lent session."""

    headers: dict[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    cookies: tuple[tuple[str, str], ...] = ()
    hook: bool = False
    proxies: dict[str, str] = field(default_factory=dict)
    verify: str | None = None
    in_config: bool = True  # for the lent sessions: PoolConfig fields, else set on the session
    share_cookies: bool = False


@dataclass(frozen=True)
class Call:
    """One call; its arguments are built afresh for each client (bodies are consumed, auth keeps state)."""

    method: str
    url: str
    verb: bool = False  # session.get(...) (and pool.get) rather than request("GET", ...)
    params: Any = None
    headers: Any = None
    cookies: Any = None  # a dict, or ("jar", pairs)
    auth: str | None = None
    body: tuple[str, Any] | None = None
    allow_redirects: bool | None = None
    stream: bool | None = None
    timeout: Any = None
    hook: bool = False
    proxies: dict[str, str] | None = None
    verify: str | None = None


class TagAuth(AuthBase):
    """A callable auth of one's own: it adds a header."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Tag-Auth"] = "tagged"
        return request


ODD_TEXT = st.lists(
    st.sampled_from([*"aZ09 é漢-_.~%;+/,!$'()*:@|^\"<>{}[]\\`", "%41", "%zz", "%e9", "%C3%A9"]), max_size=8
).map("".join)
NAMES = st.sampled_from(
    ["X-One", "x-two", "X-THREE", "Accept", "accept", "USER-AGENT", "Accept-Encoding", "Connection"]
)
VALUES = st.text(alphabet=st.sampled_from(list("abc XYZ019-_/;=,é")), max_size=12).map(str.strip)
COOKIE_NAMES = st.sampled_from(["sid", "lang", "theme", "a"])
COOKIE_VALUES = st.text(alphabet=st.sampled_from(list("abcxyz0129")), min_size=1, max_size=6)
METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", "post", "Put", "delete"])
SET_COOKIES = st.sampled_from(
    [
        "sid=s1; Path=/",
        "lang=en",
        "theme=dark; Path=/respond",
        "a=1; Max-Age=0",
        "sid=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "scoped=1; Path=/elsewhere",
        'q="quoted value"',
    ]
)
CONTENT_TYPES = st.sampled_from(
    [None, "text/html; charset=utf-8", "application/json", "text/plain; charset=latin-1", "text/csv", "image/png"]
)
RESPONSE_BODIES = st.sampled_from(["ok", "", "déjà vu", '{"a": [1, 2]}', "漢字", "x" * 3000])


def respond(status: int = 200, headers: list[str] | None = None, body: str | None = None, extra: str = "") -> str:
    """The path and query of a ``/respond`` answering as told; ``extra`` is appended to the query as it is."""
    query = [("status", str(status))] + [("header", header) for header in headers or []]
    if body is not None:
        query.append(("body", body))
    return "/respond?" + urlencode(query, quote_via=quote) + extra


@st.composite
def response_paths(draw: st.DrawFn) -> str:
    headers = [f"Set-Cookie: {cookie}" for cookie in draw(st.lists(SET_COOKIES, max_size=3))]
    content_type = draw(CONTENT_TYPES)
    if content_type is not None:
        headers.append(f"Content-Type: {content_type}")
    if draw(st.booleans()):
        headers.append('Link: </next?p=2>; rel="next", <http://127.0.0.1/first>; rel="first"')
    status = draw(st.sampled_from([200, 200, 201, 203, 400, 404, 418, 500]))
    odd = draw(st.sampled_from(["", "&", "&" + draw(ODD_TEXT), "#frag" + draw(ODD_TEXT), "&;+&&q=a+b%20c"]))
    return respond(status, headers, draw(RESPONSE_BODIES), odd)


@st.composite
def odd_paths(draw: st.DrawFn) -> str:
    """A path and query that no route knows (``200 ok``): spaces, unicode, escapes valid and not, ``#``, ``//``."""
    path = "/" + draw(ODD_TEXT) + draw(st.sampled_from(["", "//twice", "/a;b=c", "/%2F", "/ä/ö"]))
    query = draw(st.sampled_from(["", "?", "?" + draw(ODD_TEXT), "?a=1&a=2&b", "??x"]))
    fragment = draw(st.sampled_from(["", "#", "#top", "#" + draw(ODD_TEXT)]))
    return path + query + fragment


PARAMS = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["a", "b", "é", "a b", "x&y"]), st.one_of(st.none(), VALUES), max_size=3),
    st.lists(st.tuples(st.sampled_from(["a", "b", "ü"]), VALUES), max_size=3),
    st.sampled_from([b"raw=1&x=%20", b"", "str=1&y", {"list": ["1", "2"]}, {"n": None}]),
)

CALL_HEADERS = st.one_of(
    st.none(),
    st.dictionaries(NAMES, st.one_of(VALUES, VALUES.map(str.encode), st.none()), max_size=4),
)

BODIES = st.one_of(
    st.none(),
    st.tuples(st.just("bytes"), st.binary(max_size=40)),
    st.tuples(st.just("str"), st.text(alphabet=st.sampled_from(list("ab =&é漢")), max_size=20)),
    st.tuples(st.just("dict"), st.dictionaries(st.sampled_from(["a", "b", "é"]), VALUES, max_size=3)),
    st.tuples(st.just("pairs"), st.lists(st.tuples(st.sampled_from(["a", "b"]), VALUES), max_size=3)),
    st.tuples(st.just("file"), st.binary(max_size=40)),
    st.tuples(st.just("chunks"), st.lists(st.binary(min_size=1, max_size=10), max_size=3)),
    st.tuples(
        st.just("json"), st.one_of(st.none(), st.integers(), st.dictionaries(st.just("k"), VALUES), st.lists(VALUES))
    ),
    st.tuples(st.just("files"), st.tuples(st.binary(max_size=20), st.booleans())),
)


@st.composite
def calls(draw: st.DrawFn) -> Call:
    method = draw(METHODS)
    auth = draw(st.sampled_from([None, None, "tuple", "basic", "tag", "digest"]))
    if auth == "digest":
        challenge = 'WWW-Authenticate: Digest realm="pool", nonce="n0nce", qop="auth", opaque="op"'
        url = respond(401, [challenge])
    else:
        url = draw(st.one_of(response_paths(), odd_paths()))
    cookies = draw(
        st.one_of(
            st.none(),
            st.dictionaries(COOKIE_NAMES, COOKIE_VALUES, max_size=2),
            st.lists(st.tuples(COOKIE_NAMES, COOKIE_VALUES), max_size=2).map(lambda pairs: ("jar", tuple(pairs))),
        )
    )
    return Call(
        method=method,
        url=url,
        verb=draw(st.booleans()) and method.upper() in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
        params=draw(PARAMS),
        headers=draw(CALL_HEADERS),
        cookies=cookies,
        auth=auth,
        body=draw(BODIES),
        allow_redirects=draw(st.sampled_from([None, True, False])),
        stream=draw(st.sampled_from([None, True, False])),
        timeout=draw(st.sampled_from([None, 5, 5.0, (3.05, 10)])),
        hook=draw(st.booleans()),
    )


@st.composite
def setups(draw: st.DrawFn) -> Setup:
    return Setup(
        headers=draw(st.dictionaries(NAMES, VALUES, max_size=3)),
        auth=draw(st.sampled_from([None, ("user", "pass"), ("ü", "p:w")])),
        cookies=tuple(draw(st.lists(st.tuples(COOKIE_NAMES, COOKIE_VALUES), max_size=2))),
        hook=draw(st.sampled_from([False, False, True])),
        in_config=draw(st.booleans()),
        share_cookies=draw(st.booleans()),
    )


# --- sending the same calls through every client -----------------------------------------------------------


def _body_kwargs(body: tuple[str, Any] | None) -> dict[str, Any]:
    if body is None:
        return {}
    kind, value = body
    if kind == "file":
        return {"data": io.BytesIO(value)}
    if kind == "chunks":
        return {"data": iter(list(value))}
    if kind == "pairs":
        return {"data": list(value)}
    if kind == "json":
        return {"json": value}
    if kind == "files":
        content, with_data = value
        files = {"upload": ("name é.txt", io.BytesIO(content), "text/plain"), "plain": b"xyz"}
        return {"files": files, **({"data": {"field": "v"}} if with_data else {})}
    return {"data": value}


def _auth(kind: str | None) -> Any:
    return {
        None: None,
        "tuple": ("call", "secret"),
        "basic": HTTPBasicAuth("basic", "pw"),
        "tag": TagAuth(),
        "digest": HTTPDigestAuth("dig", "est"),
    }[kind]


def _cookies(spec: Any) -> Any:
    if isinstance(spec, tuple) and spec[:1] == ("jar",):
        jar = RequestsCookieJar()
        for name, value in spec[1]:
            jar.set(name, value)
        return jar
    return spec


def _kwargs(call: Call, log: list[Any], base: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for name in ("params", "headers", "allow_redirects", "stream", "timeout", "proxies", "verify"):
        if getattr(call, name) is not None:
            kwargs[name] = getattr(call, name)
    if call.cookies is not None:
        kwargs["cookies"] = _cookies(call.cookies)
    if call.auth is not None:
        kwargs["auth"] = _auth(call.auth)
    if call.hook:
        kwargs["hooks"] = {"response": [_hook(log, "call")]}
    kwargs.update(_body_kwargs(call.body))
    return kwargs


def _hook(log: list[Any], tag: str) -> Callable[..., None]:
    def hook(response: requests.Response, **kwargs: Any) -> None:
        log.append((tag, response.status_code, response.url, response.request.method, sorted(kwargs)))

    return hook


def _send(client: Any, call: Call, base: str, log: list[Any]) -> Any:
    url = call.url if "://" in call.url else base + call.url
    kwargs = _kwargs(call, log, base)
    try:
        if call.verb:
            return getattr(client, call.method.lower())(url, **kwargs)
        return client.request(call.method, url, **kwargs)
    except Exception as error:  # an error is a result too: the same one, plain and pooled
        # (a redirect to a non-ASCII host reaches http.client percent-encoded, which fails an assert there)
        return error


def _apply_to_session(session: requests.Session, setup: Setup, log: list[Any]) -> None:
    session.headers.update(setup.headers)
    if setup.auth is not None:
        session.auth = setup.auth
    for name, value in setup.cookies:
        session.cookies.set(name, value)
    if setup.hook:
        session.hooks["response"].append(_hook(log, "session"))
    session.proxies.update(setup.proxies)
    if setup.verify is not None:
        session.verify = setup.verify


def _config(setup: Setup, *, everything: bool) -> PoolConfig:
    """The pool's config: the setup's headers, auth, proxies and verify, when it goes there."""
    if not everything:
        return PoolConfig(share_cookies=setup.share_cookies)
    return PoolConfig(
        headers=setup.headers,
        auth=setup.auth,
        proxies=setup.proxies,
        verify=setup.verify if setup.verify is not None else True,
        share_cookies=setup.share_cookies,
    )


def run_plain(server: LocalServer, setup: Setup, sequence: list[Call], base: str) -> list[Any]:
    log: list[Any] = []
    with requests.Session() as session:
        _apply_to_session(session, setup, log)
        return _observe_calls(server, session, session, sequence, base, log)


def run_pooled(server: LocalServer, setup: Setup, sequence: list[Call], base: str) -> dict[str, list[Any]]:
    """The same calls through each pooled client, each on pools made for it.

    A lent session takes the session state from the pool's config or has it
    set by hand; the pools' own methods take it from the config, and their
    cookies from the pool's shared jar (a QueuePool resets a session's own
    jar on return) or from the thread's session (a ThreadLocalPool keeps
    it). The pools' methods have no session hooks: with one, they sit out.
    """
    seen: dict[str, list[Any]] = {}
    for name in CLIENTS:
        log: list[Any] = []
        lent, thread_local = name.endswith("lent"), name.startswith("thread")
        if setup.hook and not lent:
            continue
        share = setup.share_cookies or (not lent and not thread_local)
        in_config = setup.in_config or not lent
        config = _config(Setup(**{**vars(setup), "share_cookies": share}), everything=in_config)
        with ExitStack() as stack:
            pool = stack.enter_context(ThreadLocalPool(config) if thread_local else QueuePool(config, size=2))
            if lent:
                session = stack.enter_context(pool.session())
                _apply_to_session(session, Setup(cookies=setup.cookies, hook=setup.hook) if in_config else setup, log)
                seen[name] = _observe_calls(server, session, session, sequence, base, log)
            else:
                with pool.session() as session:
                    _apply_to_session(session, Setup(cookies=setup.cookies), log)
                seen[name] = _observe_calls(server, pool, None, sequence, base, log)
            seen[name].append(("pool jar", _jar(pool.cookies) if share else None))
    return seen


def _observe_calls(
    server: LocalServer, client: Any, session: requests.Session | None, sequence: list[Call], base: str, log: list[Any]
) -> list[Any]:
    observed: list[Any] = []
    for call in sequence:
        before = len(server.requests)
        result = _send(client, call, base, log)
        received = server.requests[before:]
        observed.append(
            {
                "received": [_received(r) for r in received],
                "result": _response(result),
                "hooks": list(log),
                "session jar": _jar(session.cookies) if session is not None else None,
            }
        )
        log.clear()
    return [_normalized(item) for item in observed]


# --- what is compared ----------------------------------------------------------------------------------------


def _received(request: Any) -> dict[str, Any]:
    return {
        "method": request.method,
        "target": request.path,
        "headers": list(request.headers.items()),  # as sent: order and case
        "body": request.body,
    }


def _jar(jar: Any) -> list[tuple[str, str, str, str | None]]:
    return sorted((cookie.domain, cookie.path, cookie.name, cookie.value) for cookie in jar)


def _prepared(request: requests.PreparedRequest | None) -> Any:
    if request is None:
        return None
    body = request.body
    return {
        "method": request.method,
        "url": request.url,
        "headers": list(request.headers.items()),
        "body": body if body is None or isinstance(body, (bytes, str)) else type(body).__name__,
    }


def _response(result: Any) -> Any:
    if not isinstance(result, requests.Response):
        # An object's address in a message (urllib3 2.0 prints a connection's repr) differs between any two runs.
        return {"raised": type(result).__name__, "message": re.sub(r" at 0x[0-9a-f]+", " at 0x…", str(result))}
    return {
        "status": result.status_code,
        "reason": result.reason,
        "headers": [(k, v) for k, v in result.headers.items() if k.lower() != "date"],
        "content": result.content,
        "text": result.text,
        "encoding": result.encoding,
        "url": result.url,
        "ok": result.ok,
        "is_redirect": result.is_redirect,
        "is_permanent_redirect": result.is_permanent_redirect,
        "history": [(r.url, r.status_code, _prepared(r.request)) for r in result.history],
        "request": _prepared(result.request),
        "cookies": _jar(result.cookies),
        "next": _prepared(result.next),
        "links": result.links,
    }


_RANDOM = [
    re.compile(r"boundary=([0-9a-f]{32})"),  # multipart
    re.compile(r'cnonce="([0-9a-f]+)"'),  # digest: the client's nonce...
    re.compile(r'response="([0-9a-f]+)"'),  # ...and the hash it enters
]


def _normalized(item: Any) -> Any:
    """``item`` with the random values it contains (multipart boundaries, digest cnonces) replaced by a mark."""
    randoms: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, (bytes, str)):
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            for pattern in _RANDOM:
                randoms.update(pattern.findall(text))
        elif isinstance(value, dict):
            for inner in value.values():
                collect(inner)
        elif isinstance(value, (list, tuple)):
            for inner in value:
                collect(inner)

    def replace(value: Any) -> Any:
        if isinstance(value, str):
            for random in randoms:
                value = value.replace(random, "<random>")
            return value
        if isinstance(value, bytes):
            for random in randoms:
                value = value.replace(random.encode(), b"<random>")
            return value
        if isinstance(value, dict):
            return {key: replace(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [replace(inner) for inner in value]
        if isinstance(value, tuple):
            return tuple(replace(inner) for inner in value)
        return value

    collect(item)
    return replace(item)


def assert_identical(server: LocalServer, setup: Setup, sequence: list[Call], base: str) -> None:
    """Send ``sequence`` twice through a plain session and each pooled client; every result must be requests' own."""
    sequence = sequence + sequence
    plain = run_plain(server, setup, sequence, base)
    for name, pooled in run_pooled(server, setup, sequence, base).items():
        pooled_calls, (_, pool_jar) = pooled[:-1], pooled[-1]
        for number, (expected, got) in enumerate(zip(plain, pooled_calls, strict=True)):
            if got["session jar"] is None:  # the pool's methods: the pool's shared jar stands for the session's
                expected = {**expected, "session jar": None}
            assert got == expected, f"{name}, call {number + 1} of {len(sequence)}: {sequence[number]}"
        if pool_jar is not None:
            assert pool_jar == plain[-1]["session jar"], f"{name}: the pool's jar after every call"


def _environment(patch: pytest.MonkeyPatch, server: LocalServer, with_proxy: bool) -> None:
    if with_proxy:
        # Every http:// request would go through the proxy, but loopback ones go direct.
        patch.setenv("HTTP_PROXY", server.url)
        for name, value in NO_PROXY_ENV.items():
            patch.setenv(name, value)


# --- the properties ----------------------------------------------------------------------------------------------


@IDENTITY
@given(setup=setups(), sequence=st.lists(calls(), min_size=1, max_size=2), with_proxy=st.booleans())
def test_calls_are_sent_and_answered_as_by_requests(
    http_server: LocalServer, setup: Setup, sequence: list[Call], with_proxy: bool
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        _environment(patch, http_server, with_proxy)
        assert_identical(http_server, setup, sequence, http_server.url)


@st.composite
def redirect_chains(draw: st.DrawFn, base: str) -> str:
    """The path of a chain of 1 to 3 redirects, each with its status, Location form and cookies, to a last answer."""
    target = draw(st.one_of(response_paths(), odd_paths()))
    for _ in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(["absolute path", "relative", "absolute URL", "scheme-relative", "fragment"]))
        location = {
            "absolute path": target,
            "relative": target.lstrip("/"),
            "absolute URL": base + target,
            "scheme-relative": base.removeprefix("http:") + target,
            "fragment": target.split("#", 1)[0] + "#moved",
        }[form]
        headers = [f"Location: {location}", *(f"Set-Cookie: {c}" for c in draw(st.lists(SET_COOKIES, max_size=2)))]
        target = respond(draw(st.sampled_from([301, 302, 303, 307, 308])), headers, draw(st.sampled_from([None, ""])))
    return target


@st.composite
def redirected_calls(draw: st.DrawFn, base: str) -> Call:
    call = draw(calls())
    return Call(
        method=call.method,
        url=draw(redirect_chains(base)),
        verb=call.verb,
        headers=call.headers,
        cookies=call.cookies,
        auth=draw(st.sampled_from([None, "tuple", "basic"])),
        body=draw(st.sampled_from([None, ("bytes", b"payload"), ("str", "a=b"), ("dict", {"k": "v"}), ("file", b"f")])),
        allow_redirects=draw(st.sampled_from([None, True, False])),
        stream=call.stream,
        hook=call.hook,
    )


@IDENTITY
@given(setup=setups(), data=st.data())
def test_redirects_are_followed_or_described_as_by_requests(
    http_server: LocalServer, setup: Setup, data: st.DataObject
) -> None:
    sequence = data.draw(st.lists(redirected_calls(http_server.url), min_size=1, max_size=2), label="sequence")
    assert_identical(http_server, setup, sequence, http_server.url)


HOSTS = st.sampled_from(
    [
        "bücher.example",
        "MÜNCHEN.Test",
        "xn--bcher-kva.example",
        "例え.テスト",
        "Example.COM",
        "straße.de",
        "fußball.example:8080",
        "bücher.example:80",
        "user:pw@bücher.example",
        "ü:p%40ss@host.example",
        "xn--.example",
        "a..b.example",
        "[::1]:8080",
    ]
)


@st.composite
def proxied(draw: st.DrawFn, proxy: str) -> tuple[Setup, list[Call], str]:
    """Calls to hosts no one can resolve, sent to ``proxy``: by the call, the session (or config) or ``HTTP_PROXY``."""
    host = draw(HOSTS)
    how = draw(st.sampled_from(["call", "session", "environment"]))
    if draw(st.booleans()):
        proxy = proxy.replace("://", "://proxy:s%C3%A9cret@")  # requests sends Proxy-Authorization
    setup = draw(setups())
    if how == "session":
        setup = Setup(**{**vars(setup), "proxies": {"http": proxy}})
    sequence = []
    for call in draw(st.lists(calls(), min_size=1, max_size=2)):
        path = draw(st.one_of(st.just(call.url), redirect_chains(f"http://{host}")))
        sequence.append(
            Call(**{**vars(call), "url": f"http://{host}{path}", "proxies": {"http": proxy} if how == "call" else None})
        )
    return setup, sequence, proxy if how == "environment" else ""


@settings(IDENTITY, max_examples=EXAMPLES * 2 // 3)
@given(data=st.data())
def test_non_ascii_hosts_are_sent_to_a_proxy_as_by_requests(http_server: LocalServer, data: st.DataObject) -> None:
    # The proxy is the loopback server: it records the absolute request line
    # and Host header requests prepared, and answers by the URL's path.
    setup, sequence, environment_proxy = data.draw(proxied(http_server.url), label="setup, sequence, proxy")
    with pytest.MonkeyPatch.context() as patch:
        if environment_proxy:
            patch.setenv("HTTP_PROXY", environment_proxy)
        assert_identical(http_server, setup, sequence, http_server.url)


@settings(IDENTITY, max_examples=EXAMPLES // 2)
@given(setup=setups(), sequence=st.lists(calls(), min_size=1, max_size=2), where=st.sampled_from(["session", "call"]))
def test_https_calls_are_verified_sent_and_answered_as_by_requests(
    tls: tuple[LocalServer, str], setup: Setup, sequence: list[Call], where: str
) -> None:
    # The CA bundle is given to the session (or the pool's config) or to each
    # call; REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE are unset, so the pools' one
    # rule of their own (an environment bundle never replaces a verify they
    # were given) has nothing to decide.
    server, bundle = tls
    if where == "session":
        setup = Setup(**{**vars(setup), "verify": bundle})
    else:
        sequence = [Call(**{**vars(call), "verify": bundle}) for call in sequence]
    assert_identical(server, setup, sequence, server.url)


def test_https_without_the_ca_fails_alike(tls: tuple[LocalServer, str]) -> None:
    server, _ = tls
    assert_identical(server, Setup(), [Call("GET", "/respond?status=200")], server.url)
