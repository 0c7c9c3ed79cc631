"""Credentials in target URLs and headers: redacted before anything is written.

A ``--target`` URL may carry ``user:password@`` or a query parameter such as ``?api_key=...``. The request
needs them, so the target keeps the URL in memory; everything written (the run's journal, the envelope,
console lines, error messages) gets ``redact_text`` first. The journal records that it held credentials,
so ``--resume`` asks for the URL again instead of running without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from mlx_benchmarks.redact import (
    MASK,
    SECRET_NAME,
    redact_text,
    redact_value,
    remember_basic_auth,
    remember_secret,
)

__all__ = ["MASK", "has_credentials", "redact_headers", "redact_text", "redact_value", "remember_url_secrets",
           "strip_credentials"]

def has_credentials(url: str) -> bool:
    """True when ``url`` carries a user/password or a secret query parameter."""
    return redact_text(url) != url


def strip_credentials(url: str) -> str:
    """The URL without its userinfo and secret query parameters (for display and hashing)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not SECRET_NAME.search(k)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with the values of Authorization, API-key and cookie-like headers masked."""
    out = {}
    for name, value in headers.items():
        out[name] = MASK if SECRET_NAME.search(name) else redact_text(value)
    return out



def remember_url_secrets(url: str) -> None:
    """Every credential ``url`` carries (user:password, secret query values) is masked from now on, wherever
    a server echoes it."""
    parts = urlsplit(url)
    if parts.username is not None:
        remember_basic_auth(unquote(parts.username), unquote(parts.password or ""))
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if SECRET_NAME.search(name):
            remember_secret(value)
