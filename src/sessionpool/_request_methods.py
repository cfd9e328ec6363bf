"""The request methods every pool offers, written once over :meth:`RequestMethods.request`.

The signatures of :class:`requests.Session`'s methods, with its redirect
defaults, as urllib3 keeps its own ``request`` helpers apart from its pools.
"""

from __future__ import annotations

import abc
from typing import Any

import requests

__all__ = ["RequestMethods"]


class RequestMethods(abc.ABC):
    """``get``, ``options``, ``head``, ``post``, ``put``, ``patch`` and ``delete``, over :meth:`request`."""

    __slots__ = ()

    @abc.abstractmethod
    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send a request; takes the arguments of :meth:`requests.Session.request`."""

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """Send a GET request, as :meth:`requests.Session.get`."""
        kwargs.setdefault("allow_redirects", True)
        return self.request("GET", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> requests.Response:
        """Send an OPTIONS request, as :meth:`requests.Session.options`."""
        kwargs.setdefault("allow_redirects", True)
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> requests.Response:
        """Send a HEAD request, as :meth:`requests.Session.head` (redirects not followed)."""
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> requests.Response:
        """Send a POST request, as :meth:`requests.Session.post`."""
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> requests.Response:
        """Send a PUT request, as :meth:`requests.Session.put`."""
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any) -> requests.Response:
        """Send a PATCH request, as :meth:`requests.Session.patch`."""
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        """Send a DELETE request, as :meth:`requests.Session.delete`."""
        return self.request("DELETE", url, **kwargs)
