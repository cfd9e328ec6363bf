"""The environment requests reads (proxies, NO_PROXY, CA bundles, .netrc) still applies, read once per origin."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme
import urllib3

from helpers import TLSFiles
from sessionpool import QueuePool, ThreadLocalPool
from sessionpool._environment import EnvironmentCache
from sessionpool.testing import LocalServer

ENVIRONMENT = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def proxy() -> Iterator[LocalServer]:
    """A second local server, used as an HTTP proxy (it records the absolute URLs it is sent)."""
    with LocalServer() as local:
        yield local


@pytest.mark.parametrize("make_pool", [ThreadLocalPool, QueuePool])
def test_proxies_from_the_environment_apply_and_no_proxy_bypasses_them(
    make_pool: type[ThreadLocalPool], server: LocalServer, proxy: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with make_pool() as pool:
        assert pool.get(server.url + "/via-proxy").content == b"ok"
    assert [r.path for r in proxy.requests] == [server.url + "/via-proxy"]
    assert server.requests == []
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with make_pool() as pool:
        assert pool.get(server.url + "/direct").content == b"ok"
    assert [r.path for r in server.requests] == ["/direct"]


def test_the_environment_is_read_once_per_origin_until_invalidate(
    server: LocalServer, proxy: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ThreadLocalPool() as pool:
        pool.get(server.url + "/first")
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        pool.get(server.url + "/second")  # this origin's answer was already read: still direct
        pool.invalidate()
        pool.get(server.url + "/third")  # read again
    assert [r.path for r in server.requests] == ["/first", "/second"]
    assert [r.path for r in proxy.requests] == [server.url + "/third"]


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_from_the_environment_applies(
    variable: str, tls_server: LocalServer, tls_files: TLSFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ThreadLocalPool() as pool, pytest.raises(requests.exceptions.SSLError):
        pool.get(tls_server.url + "/")  # the test CA is in no default bundle
    monkeypatch.setenv(variable, tls_files.ca_bundle)
    with ThreadLocalPool() as pool:
        assert pool.get(tls_server.url + "/").content == b"ok"


def test_netrc_credentials_apply_and_explicit_ones_win(
    server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login ada password from-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with QueuePool(size=1) as pool:
        from_netrc = pool.get(server.url + "/echo").json()["headers"].get("Authorization")
        explicit = pool.get(server.url + "/echo", auth=("bob", "given")).json()["headers"]["Authorization"]
        in_url = server.url.replace("http://", "http://carol:in-url@")
        from_url = pool.get(in_url + "/echo").json()["headers"]["Authorization"]
    assert from_netrc == "Basic " + base64.b64encode(b"ada:from-netrc").decode()
    assert explicit == "Basic " + base64.b64encode(b"bob:given").decode()
    assert from_url == "Basic " + base64.b64encode(b"ada:from-netrc").decode()  # requests: .netrc before the URL


def test_credentials_in_the_url_apply_without_a_netrc(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETRC", "/nonexistent/netrc")
    in_url = server.url.replace("http://", "http://carol:in-url@")
    with ThreadLocalPool() as pool:
        sent = pool.get(in_url + "/echo").json()["headers"]["Authorization"]
    assert sent == "Basic " + base64.b64encode(b"carol:in-url").decode()


@pytest.mark.parametrize(
    "environment",
    [
        {},
        {"HTTP_PROXY": "http://proxy.invalid:3128"},
        {"HTTPS_PROXY": "http://proxy.invalid:3128", "NO_PROXY": "example.org"},
        {"ALL_PROXY": "http://proxy.invalid:3128", "NO_PROXY": "*"},
        {"REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"},
        {"CURL_CA_BUNDLE": "/tmp/curl.pem"},
    ],
)
@pytest.mark.parametrize("url", ["http://example.org/a", "https://example.org:8443/b?c=d", "http://127.0.0.1:9/"])
def test_cached_answers_equal_requests_own(
    environment: dict[str, str], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    plain = requests.Session()
    cached = requests.Session()
    EnvironmentCache().bind(cached)
    plain.proxies = {"https": "http://configured:1"}
    cached.proxies = {"https": "http://configured:1"}
    cases = [
        ({}, None),
        ({"no_proxy": "example.org"}, True),
        ({"http": "http://given:1"}, False),
        ({"https": None}, None),  # a call's None removes a configured proxy
    ]
    for proxies, verify in cases:
        expected = plain.merge_environment_settings(url, dict(proxies), None, verify, None)
        assert cached.merge_environment_settings(url, dict(proxies), None, verify, None) == expected
        assert cached.merge_environment_settings(url, dict(proxies), None, verify, None) == expected  # from cache


def test_a_session_class_with_its_own_environment_rules_is_left_alone() -> None:
    class OwnRules(requests.Session):
        def merge_environment_settings(self, *args: object, **kwargs: object) -> dict[str, object]:
            return {"proxies": {}, "stream": False, "verify": True, "cert": None}

    session = OwnRules()
    EnvironmentCache().bind(session)
    assert "merge_environment_settings" not in vars(session)
    assert "prepare_request" in vars(session)


@pytest.fixture
def other_ca_bundle(tmp_path: Path) -> str:
    """A CA bundle that does not hold the test servers' CA."""
    path = str(tmp_path / "other-ca.pem")
    trustme.CA().cert_pem.write_to_path(path)
    return path


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
@pytest.mark.parametrize("make_pool", [ThreadLocalPool, QueuePool])
def test_a_verify_path_in_the_config_wins_over_the_environment(
    make_pool: type[ThreadLocalPool],
    variable: str,
    other_ca_bundle: str,
    tls_server: LocalServer,
    tls_files: TLSFiles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(variable, other_ca_bundle)
    with make_pool(verify=tls_files.ca_bundle) as pool:
        assert pool.get(tls_server.url + "/").content == b"ok"
        # A call's own verify still wins over the config.
        with pytest.raises(requests.exceptions.SSLError):
            pool.get(tls_server.url + "/", verify=other_ca_bundle)
    # With the default verify=True, the environment's bundle applies, as in requests.
    with make_pool() as pool, pytest.raises(requests.exceptions.SSLError):
        pool.get(tls_server.url + "/")


def test_verify_false_in_the_config_wins_over_the_environment(
    other_ca_bundle: str, tls_server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_bundle)
    with QueuePool(size=1, verify=False) as pool, pytest.warns(urllib3.exceptions.InsecureRequestWarning):
        assert pool.get(tls_server.url + "/").content == b"ok"


def test_requests_own_rule_differs_only_for_a_session_given_verify(
    other_ca_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", other_ca_bundle)
    plain = requests.Session()
    cached = requests.Session()
    EnvironmentCache().bind(cached)
    for session in (plain, cached):
        session.verify = "/configured/ca.pem"
    url = "https://example.org/"
    assert plain.merge_environment_settings(url, {}, None, None, None)["verify"] == other_ca_bundle  # requests#3829
    assert cached.merge_environment_settings(url, {}, None, None, None)["verify"] == "/configured/ca.pem"
    assert cached.merge_environment_settings(url, {}, None, "/call.pem", None)["verify"] == "/call.pem"
