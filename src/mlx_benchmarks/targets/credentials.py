"""Credentials in target URLs and headers: redacted before anything is written.

A ``--target`` URL may carry ``user:password@`` or a query parameter such as ``?api_key=...``. The request
needs them, so the target keeps the URL in memory; everything written (the run's journal, the envelope,
console lines, error messages) gets ``redact_text`` first. The journal records that it held credentials,
so ``--resume`` asks for the URL again instead of running without them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# query parameters and header names whose values are secrets
SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|pwd|auth|authorization|credentials?|signature|sig|cookie)$",
                         re.IGNORECASE)
# scheme://user[:password]@  anywhere in a text
USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s@]+)@")
# name=value in a query string, anywhere in a text
QUERY_PAIR = re.compile(r"(?P<sep>[?&;])(?P<name>[A-Za-z0-9_.-]+)=(?P<value>[^&#\s'\"]*)")
BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")


def _query_pair(match: re.Match[str]) -> str:
    name = match.group("name")
    if SECRET_NAME.search(name):
        return f"{match.group('sep')}{name}={MASK}"
    return match.group(0)


def redact_text(text: str) -> str:
    """``text`` with every URL's user:password, secret query values and bearer tokens masked."""
    if "@" not in text and "=" not in text and "earer" not in text and "asic" not in text:
        return text  # the common case, cheaply
    text = USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = QUERY_PAIR.sub(_query_pair, text)
    return BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


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


def redact_value(value: object) -> object:
    """Every string inside ``value`` (dicts, lists, tuples) redacted; other values as they are."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value
