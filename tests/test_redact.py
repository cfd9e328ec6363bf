"""Secrets kept out of what the package writes (sessionpool._redact): URLs, messages, headers, auth."""

from __future__ import annotations

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from sessionpool._redact import REDACTED, is_secret_header, redact_auth, redact_headers, redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pass@host/x", "http://***@host/x"),
        ("https://token@api.example/v1?q=1", "https://***@api.example/v1?q=1"),
        ("http://a:p@ss@host:8080/", "http://***@host:8080/"),  # an unencoded @ in the password
        ("socks5h://u:p@127.0.0.1:1080", "socks5h://***@127.0.0.1:1080"),
        ("http://host/path@not-userinfo", "http://host/path@not-userinfo"),
        ("http://host/?next=@x", "http://host/?next=@x"),
        ("http://[::1]:80/", "http://[::1]:80/"),
        ("no scheme@host", "no scheme@host"),
        ("", ""),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_finds_every_url_in_a_message() -> None:
    message = "cannot parse 'http://bob:pw1@h/x' after https://alice:pw2@other:8443/ (see http://h/@y)"
    assert redact_text(message) == "cannot parse 'http://***@h/x' after https://***@other:8443/ (see http://h/@y)"


@given(user=st.text(alphabet="abcdefghij0123456789-_.~%", min_size=1), secret=st.text(min_size=1))
def test_no_password_survives_redaction(user: str, secret: str) -> None:
    secret = secret.replace("/", "").replace("?", "").replace("#", "") or "x"
    url = f"http://{user}:{secret}@example.org/path"
    assert redact_url(url) == "http://***@example.org/path"


@given(st.text())
def test_redaction_takes_any_text(text: str) -> None:
    assert isinstance(redact_url(text), str)
    assert isinstance(redact_text(text), str)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("proxy-authorization", True),
        ("Cookie", True),
        ("X-Api-Key", True),
        ("X-Auth-Token", True),
        ("X-Session-Id", True),
        ("Idempotency-Key", False),
        ("Accept", False),
        ("User-Agent", False),
        ("Keep-Alive", False),
    ],
)
def test_is_secret_header(name: str, secret: bool) -> None:
    assert is_secret_header(name) is secret


def test_redact_headers_and_auth() -> None:
    headers = {"Authorization": "Bearer x", "Accept": "*/*"}
    assert redact_headers(headers) == {"Authorization": REDACTED, "Accept": "*/*"}
    assert redact_auth(("alice", "pw")) == "('alice', '***')"
    assert redact_auth(requests.auth.HTTPBasicAuth("alice", "pw")) == "<HTTPBasicAuth: ***>"
    assert redact_auth(None) == "None"
