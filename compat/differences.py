"""The tests of requests' own suite that sessionpool is expected to fail, and those not run here.

``make compat`` runs requests' suite with plain sessions, then with every
session lent by a pool (see ``pytest_pooled.py``). Every test that passes
plain must pass pooled, except the ones in :data:`DIFFERENCES`, each failing
because of a documented behaviour of sessionpool, named in its reason. The
list must stay true both ways: a listed test that passes pooled (or no longer
exists, or no longer passes plain) fails the run too, so that it is removed.

Node ids are those of requests' suite, relative to the unpacked source
distribution; a parametrized test is listed with its parameters.
"""

from __future__ import annotations

#: The variable that tells pytest_pooled which transport the pools use.
TRANSPORT_ENV = "SESSIONPOOL_COMPAT_TRANSPORT"

_NETRC = {
    "tests/test_requests.py::TestRequests::test_basicauth_with_netrc": (
        "The test replaces requests.sessions.get_netrc_auth to fake a .netrc. A pool answers a session's"
        " environment questions (proxies, CA bundle, .netrc) from its own cache, read once per origin with"
        " requests' own functions from requests.utils (README, 'One configuration for every session'), so"
        " the replaced function is never called and the request goes out without credentials (401)."
    ),
}

#: transport -> node id -> the documented behaviour of sessionpool that makes it fail pooled.
DIFFERENCES: dict[str, dict[str, str]] = {
    "urllib3": _NETRC,
    "curl": {
        **_NETRC,
        **{
            f"tests/test_requests.py::TestPreparingURLs::test_different_connection_pool_for_tls_settings_{case}": (
                "The test counts the urllib3 connection pools in the adapter's poolmanager (one per TLS"
                " setting). On the curl transport a session's connections are in its libcurl handles, and the"
                " adapter's urllib3 pool manager stays empty (docs/transports.md, 'Handles')."
            )
            for case in ("verify_True", "verify_bundle_expired_cert", "verify_bundle_unexpired_cert")
        },
    },
}

#: transport -> node id prefix -> why the test is not run at all (in either run) when the pools use it.
#: libcurl resolves names with its own resolver, which the loopback guard of
#: pytest_loopback (Python's socket functions) does not see.
OFF_MACHINE_BY_TRANSPORT: dict[str, dict[str, str]] = {
    "urllib3": {},
    "curl": {
        "tests/test_lowlevel.py::test_use_proxy_from_environment": (
            "sends http(s)://httpbin.org through a socks5:// proxy, whose target name the client resolves:"
            " libcurl looks httpbin.org up with its own resolver, off this machine and unseen by the guard"
            " (PySocks asks the proxy first, so the plain run's lookup is refused by the guard after it)"
        ),
    },
}

#: node id prefix -> why the test is not run at all (in either run).
OFF_MACHINE: dict[str, str] = {
    "tests/test_requests.py::TestTimeout::test_connect_timeout": (
        "connects to requests' TARPIT, 10.255.255.1, to see a connect timeout: traffic off this machine"
    ),
    "tests/test_requests.py::TestTimeout::test_total_timeout_connect": (
        "connects to requests' TARPIT, 10.255.255.1, to see a connect timeout: traffic off this machine"
    ),
}
