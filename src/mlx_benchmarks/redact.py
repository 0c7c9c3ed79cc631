"""One redaction function for every byte the harness writes: files, store, journal, console, report, API.

What is masked:
- ``scheme://user:password@`` anywhere in a text, and secret query values (``?api_key=…``, ``&token=…``);
- ``Bearer …`` and ``Basic …`` credentials;
- every secret value this process knows: the values of the API-key, token, secret and password variables in
  its environment, and each credential a target was given (``remember_secret``), with the forms a server
  could echo back (URL-quoted, the base64 of ``user:password``).

A server can echo whatever it was sent into an error message, a header or a streamed answer, so redaction
happens where text is written (``Store.put``, the journal, the console streams, the report, the dashboard
API), not where it is read.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import quote

MASK = "***"
# query parameters, header names and environment variables whose values are secrets
SECRET_NAME = re.compile(r"(key|token|secret|password|passwd|pwd|auth|authorization|credentials?|signature|sig|cookie)$",
                         re.IGNORECASE)
# scheme://user[:password]@  anywhere in a text
USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/\s@]+)@")
# name=value in a query string, anywhere in a text
QUERY_PAIR = re.compile(r"(?P<sep>[?&;])(?P<name>[A-Za-z0-9_.-]+)=(?P<value>[^&#\s'\"]*)")
BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
# environment variables holding credentials (not PWD, the working directory, nor *_AUTH_SOCK paths)
SECRET_VARIABLE = re.compile(r"(API_?KEY|_KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)
MIN_SECRET_CHARS = 8  # shorter values ("true", moto's "testing") would mask ordinary text and protect little

_known: set[str] = set()
_known_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
_env_loaded = False


def _forms(secret: str) -> set[str]:
    """A secret and the forms an echoing server could send it back in."""
    return {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode().rstrip("=")}


def remember_secret(secret: str | None) -> None:
    """Mask ``secret`` (and its echoed forms) in everything written from now on, in this process."""
    global _pattern
    if not secret or len(secret) < MIN_SECRET_CHARS:
        return
    with _known_lock:
        new = {form for form in _forms(secret) if len(form) >= MIN_SECRET_CHARS} - _known
        if new:
            _known.update(new)
            # longest first, so a secret inside a longer form is not masked half-way
            _pattern = re.compile("|".join(re.escape(s) for s in sorted(_known, key=len, reverse=True)))


def remember_basic_auth(user: str, password: str) -> None:
    """``user:password`` of a URL: the password, and the pair's base64 as a Basic header carries it."""
    remember_secret(password)
    remember_secret(f"{user}:{password}")


def _load_environment() -> None:
    global _env_loaded
    if _env_loaded:
        return
    _env_loaded = True
    for name, value in os.environ.items():
        if SECRET_VARIABLE.search(name):
            remember_secret(value)


def forget_secrets() -> None:
    """Tests only: start again from the environment."""
    global _pattern, _env_loaded
    with _known_lock:
        _known.clear()
        _pattern = None
        _env_loaded = False


def _query_pair(match: re.Match[str]) -> str:
    name = match.group("name")
    if SECRET_NAME.search(name):
        return f"{match.group('sep')}{name}={MASK}"
    return match.group(0)


def redact_text(text: str) -> str:
    """``text`` with every URL's user:password, secret query values, Bearer/Basic credentials and every
    known secret value masked."""
    _load_environment()
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    if "@" not in text and "=" not in text and "earer" not in text and "asic" not in text:
        return text  # the common case, cheaply
    text = USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    text = QUERY_PAIR.sub(_query_pair, text)
    return BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


def redact_value(value: object) -> object:
    """Every string inside ``value`` (dicts, lists, tuples, keys included) redacted; other values as they are."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {redact_text(k) if isinstance(k, str) else k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


class RedactingStream:
    """A text stream that redacts every write before passing it on (the console's one sink)."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact_text(text))
        return len(text)  # what the caller wrote, as TextIO promises

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding, ... as the stream has them
        return getattr(self._inner, name)


@contextmanager
def redacted_console() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` redacted for the duration (the CLI wraps each command in it)."""
    import sys

    out, err = sys.stdout, sys.stderr
    sys.stdout = RedactingStream(out)
    sys.stderr = RedactingStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
