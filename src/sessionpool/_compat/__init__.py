"""The fence: every use of a private name of requests or urllib3, and nothing else.

sessionpool reaches below the documented APIs of requests and urllib3 in a
few places: to count and age connections, to copy a session's headers and
cookies cheaply, to know whether a request body can be rewound. Each such
use lives in this package, as a small function or a base class whose
private-method overrides hand over to hooks with public names, under a
comment that says what it relies on: the name, its type, since which
version it is there, and what breaks if it changes. The rest of sessionpool
imports them from here and never names a private attribute of requests or
urllib3 itself (a test greps for it). Things that are public by name but
undocumented, yet relied on for their structure, are listed here too.

The fence has one module per library it reaches into:

- :mod:`~sessionpool._compat.requests_internals`: sessions, headers,
  cookies, bodies, and the sizes of requests' ``HTTPAdapter``;
- :mod:`~sessionpool._compat.urllib3_internals`: hooks on urllib3's
  connections, connection pools and pool managers.

Supported versions (``pyproject.toml``): requests >= 2.32.4, urllib3 >= 2.0.2, tenacity >= 8.2.0.
The test suite runs on the newest (``make test``) and on the oldest that
range allows (``make test-oldest``). Everything in the fence holds across
it; a release that breaks an item fails ``tests/test_compat.py``, which
checks each one against the installed versions with real objects.
"""

from __future__ import annotations

from sessionpool._compat.requests_internals import (
    SESSION_ATTRIBUTES,
    body_can_rewind,
    body_start,
    cookie_jar_lock,
    copy_headers,
    copy_prepared,
    get_environ_proxies,
    get_netrc_auth,
    headers_identical,
    headers_state,
    is_requests_own,
    jar_is_empty,
    may_set_cookies,
    merge_setting,
    merged_headers,
    netrc_consulted,
    pool_manager_keywords,
    pool_sizes,
    response_headers,
    set_content,
    set_pool_sizes,
)
from sessionpool._compat.urllib3_internals import (
    HookedConnection,
    HookedConnectionPool,
    HookedPoolManager,
    add_connection_keywords,
    drop_idle_connections,
    header_dict,
    use_pool_classes,
)

__all__ = [
    "SESSION_ATTRIBUTES",
    "HookedConnection",
    "HookedConnectionPool",
    "HookedPoolManager",
    "add_connection_keywords",
    "body_can_rewind",
    "body_start",
    "cookie_jar_lock",
    "copy_headers",
    "copy_prepared",
    "drop_idle_connections",
    "get_environ_proxies",
    "get_netrc_auth",
    "header_dict",
    "headers_identical",
    "headers_state",
    "is_requests_own",
    "jar_is_empty",
    "may_set_cookies",
    "merge_setting",
    "merged_headers",
    "netrc_consulted",
    "pool_manager_keywords",
    "pool_sizes",
    "response_headers",
    "set_content",
    "set_pool_sizes",
    "use_pool_classes",
]
