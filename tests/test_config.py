"""PoolConfig: defaults, immutability, per-field validation and PoolConfig.build."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.auth import HTTPBasicAuth

import sessionpool._config_types
import sessionpool._defaults
from sessionpool import PoolConfig, RetryPolicy


def _existing_file(tmp_path: Path, name: str = "file.pem") -> str:
    path = tmp_path / name
    path.write_text("not really PEM\n")
    return str(path)


def test_defaults() -> None:
    config = PoolConfig()
    assert config.timeout is not None
    assert config.timeout == sessionpool._defaults.DEFAULT_TIMEOUT
    assert config.pool_connections == sessionpool._defaults.DEFAULT_POOL_CONNECTIONS
    assert config.pool_maxsize == sessionpool._defaults.DEFAULT_POOL_MAXSIZE
    assert config.pool_block is sessionpool._defaults.DEFAULT_POOL_BLOCK
    assert isinstance(config.retry, RetryPolicy)
    assert config.retry.retry_stale is True
    assert dict(config.headers) == {}
    assert dict(config.proxies) == {}


def test_frozen() -> None:
    config = PoolConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.pool_maxsize = 3  # type: ignore[misc]


def test_keyword_only() -> None:
    with pytest.raises(TypeError):
        PoolConfig(10)  # type: ignore[call-arg]


def test_headers_and_proxies_are_copied() -> None:
    headers = {"User-Agent": "tests"}
    proxies = {"http": "http://proxy.invalid:3128"}
    config = PoolConfig(headers=headers, proxies=proxies)
    headers["User-Agent"] = "changed"
    headers["X-Extra"] = "1"
    proxies["https"] = "http://other.invalid:3128"
    assert dict(config.headers) == {"User-Agent": "tests"}
    assert dict(config.proxies) == {"http": "http://proxy.invalid:3128"}


@pytest.mark.parametrize("field", ["headers", "proxies"])
def test_mappings_are_read_only(field: str) -> None:
    fields: dict[str, Any] = {field: {"a": "b"}}
    config = PoolConfig(**fields)
    mapping: Any = getattr(config, field)
    with pytest.raises(TypeError):
        mapping["x"] = "y"
    assert dict(mapping) == {"a": "b"}


EXISTING = "<an existing file>"

BAD_VALUES: list[tuple[str, object, type[Exception]]] = [
    ("pool_connections", 0, ValueError),
    ("pool_connections", "3", TypeError),
    ("pool_connections", True, TypeError),
    ("pool_maxsize", 0, ValueError),
    ("pool_maxsize", 2.5, TypeError),
    ("pool_block", "yes", TypeError),
    ("pool_block", 1, TypeError),
    ("keepalive_expiry", 0, ValueError),
    ("keepalive_expiry", -2.5, ValueError),
    ("keepalive_expiry", "4", TypeError),
    ("timeout", 0, ValueError),
    ("timeout", -1, ValueError),
    ("timeout", float("nan"), ValueError),
    ("timeout", float("inf"), ValueError),
    ("timeout", "5", TypeError),
    ("timeout", (1, 2, 3), ValueError),
    ("timeout", (0, 5), ValueError),
    ("timeout", (5, -1), ValueError),
    ("timeout", ("a", 5), TypeError),
    ("timeout", True, TypeError),
    ("headers", ["a"], TypeError),
    ("headers", {1: "a"}, TypeError),
    ("headers", {"a": 1}, TypeError),
    ("headers", {"X-Bad": "a\nb"}, ValueError),
    ("auth", ("user",), TypeError),
    ("auth", ("u", 1), TypeError),
    ("auth", 42, TypeError),
    ("verify", "/nonexistent/ca.pem", ValueError),
    ("verify", 1, TypeError),
    ("cert", "/nonexistent.pem", ValueError),
    ("cert", ("a",), TypeError),
    ("cert", 5, TypeError),
    ("cert", (EXISTING, "/nonexistent.key"), ValueError),
    ("proxies", "http://x", TypeError),
    ("proxies", {"http": 5}, TypeError),
    ("trust_env", "no", TypeError),
    ("session_factory", 42, TypeError),
    ("retry", "on", TypeError),
    ("max_session_age", 0, ValueError),
    ("max_session_age", "1h", TypeError),
    ("max_session_requests", 0, ValueError),
    ("max_session_requests", 2.5, TypeError),
    ("share_cookies", "yes", TypeError),
    ("clock", 5, TypeError),
    ("ssl_context", "TLSv1.2", TypeError),
    ("socket_options", [(1, 2)], TypeError),
    ("socket_options", "SO_KEEPALIVE", TypeError),
    ("socket_options", [(1, 2, 3.5)], TypeError),
    ("source_address", "127.0.0.2", TypeError),
    ("source_address", ("127.0.0.2", 70000), ValueError),
    ("source_address", ("not-an-address", 0), ValueError),
    ("per_host_limit", 0, ValueError),
    ("per_host_limit", 1.5, TypeError),
    ("per_host_rate", 0, ValueError),
    ("per_host_rate", float("inf"), ValueError),
    ("per_host_rate", "10/s", TypeError),
    ("per_host_burst", 0, ValueError),
    ("per_host_burst", 2.5, TypeError),
    ("per_host_delay", -1, ValueError),
    ("per_host_delay", "1s", TypeError),
    ("autothrottle", True, TypeError),
    ("per_host_pause_max", -1, ValueError),
    ("per_host_pause_max", None, TypeError),
    ("per_host_wait_max", 0, ValueError),
    ("per_host_wait_max", "5", TypeError),
    ("deadline", 0, ValueError),
    ("deadline", float("nan"), ValueError),
    ("deadline", "3s", TypeError),
    ("proxy_rotation", "http://127.0.0.1:3128", TypeError),
    ("proxy_rotation", (5,), TypeError),
    ("proxy_rotation", ("ftp://127.0.0.1:21",), ValueError),
    ("proxy_rotation", ("http://",), ValueError),
    ("proxy_rotation", ("http://127.0.0.1:99999",), ValueError),
    ("proxy_failure_limit", 0, ValueError),
    ("proxy_failure_limit", 1.5, TypeError),
    ("proxy_cooldown", -1, ValueError),
    ("proxy_cooldown", None, TypeError),
    ("transport", "pycurl", ValueError),
    ("transport", None, TypeError),
    ("impersonate", "chrome", ValueError),  # a setting of the curl transport, on urllib3's
    ("http2", "yes", TypeError),
]


@pytest.mark.parametrize(("field", "value", "error"), BAD_VALUES)
def test_rejects_bad_values(field: str, value: object, error: type[Exception], tmp_path: Path) -> None:
    if isinstance(value, tuple):
        value = tuple(_existing_file(tmp_path) if part == EXISTING else part for part in value)
    with pytest.raises(error, match=re.escape(f"PoolConfig.{field}")) as info:
        PoolConfig(**{field: value})  # type: ignore[arg-type]
    other = TypeError if error is ValueError else ValueError
    assert not isinstance(info.value, other)


def test_a_burst_without_a_rate_is_refused() -> None:
    with pytest.raises(ValueError, match=r"PoolConfig\.per_host_burst is the burst of per_host_rate, which is not set"):
        PoolConfig(per_host_burst=5)
    assert PoolConfig(per_host_rate=2, per_host_burst=5).per_host_rate == 2.0


def test_bad_value_table_covers_every_field() -> None:
    covered = {field for field, _, _ in BAD_VALUES}
    assert covered == {f.name for f in dataclasses.fields(PoolConfig)}


@pytest.mark.parametrize("timeout", [None, 5, 2.5, (3.05, 27), (None, 5), (5, None)])
def test_accepts_timeouts(timeout: Any) -> None:
    assert PoolConfig(timeout=timeout).timeout == timeout


def _sign(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


@pytest.mark.parametrize("auth", [("u", "p"), HTTPBasicAuth("u", "p"), _sign])
def test_accepts_auth(auth: Any) -> None:
    assert PoolConfig(auth=auth).auth is auth


def test_accepts_verify(tmp_path: Path) -> None:
    assert PoolConfig(verify=False).verify is False
    bundle = _existing_file(tmp_path, "ca.pem")
    assert PoolConfig(verify=bundle).verify == bundle


def test_accepts_cert(tmp_path: Path) -> None:
    cert = _existing_file(tmp_path, "cert.pem")
    key = _existing_file(tmp_path, "key.pem")
    assert PoolConfig(cert=cert).cert == cert
    assert PoolConfig(cert=(cert, key)).cert == (cert, key)


def test_accepts_session_subclass_factory() -> None:
    class MySession(requests.Session):
        pass

    assert PoolConfig(session_factory=MySession).session_factory is MySession


def test_build_without_config_gives_defaults() -> None:
    assert PoolConfig.build(None, {}) == PoolConfig()


def test_build_overrides_fields_and_keeps_the_rest() -> None:
    base = PoolConfig(pool_maxsize=7, timeout=4, headers={"X-A": "1"}, trust_env=False)
    built = PoolConfig.build(base, {"pool_maxsize": 3})
    assert built.pool_maxsize == 3
    assert base.pool_maxsize == 7
    assert built == dataclasses.replace(base, pool_maxsize=3)
    assert built.timeout == 4
    assert dict(built.headers) == {"X-A": "1"}
    assert built.trust_env is False


def test_build_with_no_fields_returns_the_config_itself() -> None:
    base = PoolConfig(pool_maxsize=7)
    assert PoolConfig.build(base, {}) is base


def test_build_rejects_unknown_field() -> None:
    with pytest.raises(TypeError) as info:
        PoolConfig.build(None, {"pool_size": 3})
    message = str(info.value)
    assert "pool_size" in message
    for field in dataclasses.fields(PoolConfig):
        assert field.name in message


def test_build_rejects_non_config() -> None:
    with pytest.raises(TypeError, match=r"\bconfig\b"):
        PoolConfig.build("nope", {})  # type: ignore[arg-type]


@pytest.mark.parametrize("base", [None, PoolConfig()])
def test_build_validates_field_values(base: PoolConfig | None) -> None:
    with pytest.raises(ValueError, match=re.escape("PoolConfig.pool_maxsize")):
        PoolConfig.build(base, {"pool_maxsize": 0})


def test_typed_fields_match_config_fields() -> None:
    annotated = set(sessionpool._config_types.PoolConfigFields.__annotations__)
    assert annotated == {f.name for f in dataclasses.fields(PoolConfig)}


def test_replace_validates() -> None:
    with pytest.raises(ValueError, match=re.escape("PoolConfig.timeout")):
        dataclasses.replace(PoolConfig(), timeout=0)


def test_cert_must_be_a_file_while_verify_may_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape("PoolConfig.cert")):
        PoolConfig(cert=str(tmp_path))
    assert PoolConfig(verify=str(tmp_path)).verify == str(tmp_path)  # a c_rehash'd CA directory


def test_equal_configs_hash_alike() -> None:
    first = PoolConfig(headers={"A": "1", "B": "2"}, proxies={"http": "http://p.invalid"})
    second = PoolConfig(headers={"B": "2", "A": "1"}, proxies={"http": "http://p.invalid"})
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second, PoolConfig()}) == 2


def test_an_ssl_context_decides_trust_alone() -> None:
    context = ssl.create_default_context()
    assert PoolConfig(ssl_context=context).ssl_context is context
    with pytest.raises(ValueError, match=r"PoolConfig.ssl_context decides trust.*load_verify_locations"):
        PoolConfig(ssl_context=context, verify=False)


def test_a_client_certificate_goes_into_the_ssl_context(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"PoolConfig.cert cannot be combined.*load_cert_chain"):
        PoolConfig(ssl_context=ssl.create_default_context(), cert=_existing_file(tmp_path))


def test_socket_options_are_kept_as_a_tuple() -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    config = PoolConfig(socket_options=options)
    options.append((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1))
    assert config.socket_options == ((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),)


def module_level_factory() -> requests.Session:
    return requests.Session()


def _configured() -> PoolConfig:
    return PoolConfig(
        headers={"User-Agent": "tests"},
        proxies={"http": "http://proxy.invalid:3128"},
        auth=HTTPBasicAuth("user", "secret"),
        session_factory=module_level_factory,
        socket_options=[(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)],
        source_address=("127.0.0.1", 0),
        retry=RetryPolicy(retry_methods={"GET", "POST"}),
    )


@pytest.mark.parametrize("make", [PoolConfig, _configured], ids=["defaults", "configured"])
def test_a_config_round_trips_through_pickle_deepcopy_asdict_and_replace(make: Any) -> None:
    config = make()
    for copied in (pickle.loads(pickle.dumps(config)), copy.deepcopy(config), copy.copy(config)):
        assert copied == config
        assert hash(copied) == hash(config)
        with pytest.raises(dataclasses.FrozenInstanceError):
            copied.timeout = 1  # type: ignore[misc]
        with pytest.raises(TypeError):
            copied.headers["X"] = "y"  # type: ignore[index]
    as_dict = dataclasses.asdict(config)
    assert as_dict["headers"] == dict(config.headers)
    # asdict turns the nested RetryPolicy into a dict too, as for any dataclass.
    assert PoolConfig(**{**as_dict, "retry": RetryPolicy(**as_dict["retry"])}) == config
    assert dataclasses.replace(config, pool_maxsize=3).headers == config.headers


def test_a_lambda_factory_is_named_when_pickling() -> None:
    config = PoolConfig(session_factory=lambda: requests.Session())
    assert copy.deepcopy(config).session_factory is config.session_factory  # in-process copies share it
    with pytest.raises(pickle.PicklingError, match=r"PoolConfig.session_factory cannot be pickled.*module-level"):
        pickle.dumps(config)


def test_an_ssl_context_is_named_when_pickling() -> None:
    config = PoolConfig(ssl_context=ssl.create_default_context())
    assert copy.deepcopy(config).ssl_context is config.ssl_context
    with pytest.raises(pickle.PicklingError, match=r"PoolConfig.ssl_context cannot be pickled.*CA bundle"):
        pickle.dumps(config)


def test_a_rotation_beside_proxies_for_http_or_https_is_refused() -> None:
    rotation = ("http://127.0.0.1:3128",)
    for key in ("http", "https", "all", "https://example.org"):
        with pytest.raises(ValueError, match=r"PoolConfig\.proxy_rotation and PoolConfig\.proxies both set"):
            PoolConfig(proxy_rotation=rotation, proxies={key: "http://127.0.0.1:8080"})
    assert PoolConfig(proxy_rotation=rotation, proxies={"ftp": "http://127.0.0.1:8080"}).proxy_rotation == rotation


def test_a_bad_proxy_url_is_refused_without_showing_its_credentials() -> None:
    with pytest.raises(ValueError, match=r"PoolConfig\.proxy_rotation\[1\]") as info:
        PoolConfig(proxy_rotation=("http://127.0.0.1:3128", "ftp://alice:s3cret@127.0.0.1:21"))
    assert "s3cret" not in str(info.value)


def test_the_repr_shows_no_secret() -> None:
    config = PoolConfig(
        auth=("alice", "s3cret-auth"),
        headers={"Authorization": "Bearer s3cret-bearer", "X-Api-Key": "s3cret-key", "Accept": "text/html"},
        proxies={"ftp": "http://bob:s3cret-proxy@127.0.0.1:3128"},
        proxy_rotation=("socks5h://carol:s3cret-socks@127.0.0.1:1080",),
    )
    shown = repr(config)
    assert "s3cret" not in shown
    assert "'alice'" in shown  # the user name of a pair is shown, its password never
    assert "'Accept': 'text/html'" in shown
    assert "http://***@127.0.0.1:3128" in shown
    assert "socks5h://***@127.0.0.1:1080" in shown
    digest = repr(PoolConfig(auth=requests.auth.HTTPDigestAuth("alice", "s3cret-digest")))
    assert "s3cret" not in digest
    assert "auth=<HTTPDigestAuth: ***>" in digest
