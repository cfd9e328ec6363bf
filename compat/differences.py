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

#: node id -> the documented behaviour of sessionpool that makes it fail pooled.
DIFFERENCES: dict[str, str] = {
    "tests/test_requests.py::TestRequests::test_basicauth_with_netrc": (
        "The test replaces requests.sessions.get_netrc_auth to fake a .netrc. A pool answers a session's"
        " environment questions (proxies, CA bundle, .netrc) from its own cache, read once per origin with"
        " requests' own functions from requests.utils (README, 'One configuration for every session'), so"
        " the replaced function is never called and the request goes out without credentials (401)."
    ),
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
