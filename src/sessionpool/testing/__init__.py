"""Test support for code that uses sessionpool: a keep-alive HTTP/1.1 server on loopback."""

from sessionpool.testing._server import LocalServer

__all__ = ["LocalServer"]
