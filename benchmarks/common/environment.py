"""The environment a client runs in: every proxy variable removed, and NO_PROXY added where a suite measures it.

requests reads the proxy variables on every request (and short-circuits its
proxy lookup when NO_PROXY matches the host), so what they hold is part of
what a client costs: every suite runs its clients in an environment it chose,
never in whatever the machine sets.
"""

from __future__ import annotations

import os

#: The variables through which requests, urllib, curl and Scrapy find a proxy: removed in any case.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")


def without_proxies(**added: str) -> dict[str, str]:
    """This process' environment without any proxy variable (any case), with ``added`` set."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    return env | added
