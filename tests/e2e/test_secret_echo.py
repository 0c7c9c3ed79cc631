"""A server that echoes the credentials it was sent, into every field it controls, leaves no secret in any
byte written: the store (envelope, Parquet, samples), the journal, the console, the report (#21).

The echoing server is a TEST DOUBLE (scripted, on loopback). Hypothesis picks how the credential is given
(API key, user:password@, ?api_key=), where the server puts it (an HTTP error's message, the answer, the
reasoning) and in what form (as sent, base64, URL-quoted)."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import string
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlx_benchmarks.cli.main import main
from mlx_benchmarks.errors import EXIT_NO_MEASUREMENT, EXIT_USAGE
from mlx_benchmarks.redact import forget_secrets, redact_text
from tests.doubles.scripted_openai_server import Answer, HTTPFail, ScriptedOpenAIServer

SECRETS = st.text(string.ascii_letters + string.digits + "-_.~!$", min_size=10, max_size=24)
HOW = st.sampled_from(["api_key", "basic", "query"])
WHERE = st.sampled_from(["error", "content", "reasoning", "error_then_answer"])
FORM = st.sampled_from(["header", "raw", "base64", "quoted"])
RUN = ["run", "reasoning", "--tasks", "gsm8k", "--limit", "2", "--git-sha", "abcdef0", "--max-retries", "0"]


def _echo(headers: dict[str, str], secret: str, form: str) -> str:
    if form == "header":  # the whole Authorization header, as many servers log and echo it
        return f"bad credentials: {headers.get('Authorization', '')} for {headers.get('X-Url', '')}"
    return {"raw": secret, "base64": base64.b64encode(secret.encode()).decode(),
            "quoted": quote(secret, safe="")}[form]


def _forms(secret: str, user: str) -> list[bytes]:
    pair = f"{user}:{secret}"
    return [form.encode() for form in (secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode(),
                                        base64.b64encode(pair.encode()).decode())]


@contextlib.contextmanager
def _env(name: str, value: str | None) -> Iterator[None]:
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _written(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(secret=SECRETS, how=HOW, where=WHERE, form=FORM)
def test_an_echoing_server_leaves_no_secret_in_any_byte_written(tmp_path_factory: object, secret: str, how: str,
                                                                where: str, form: str) -> None:
    forget_secrets()
    root = Path(__import__("tempfile").mkdtemp(prefix="echo-"))
    store = root / "store"
    user = "alice"

    def script(index: int, body: dict[str, object]) -> object:
        echoed = _echo(server.headers[-1], secret, form)
        if where == "error" or (where == "error_then_answer" and index % 2 == 0):
            return HTTPFail(500, json.dumps({"error": {"message": f"echo: {echoed}"}}))
        if where == "reasoning":
            return Answer(content=["The answer is 3."], reasoning=[f"I was sent {echoed}"])
        return Answer(content=[f"You sent {echoed}. The answer is 3."])

    server = ScriptedOpenAIServer(script=script)
    out, err = io.StringIO(), io.StringIO()
    with server.in_thread(), _env("MLX_BENCH_API_KEY", secret if how == "api_key" else None), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        url = server.url
        if how == "basic":
            url = f"http://{user}:{quote(secret, safe='')}@127.0.0.1:{server.port}/v1"
        elif how == "query":
            url = f"{server.url}?api_key={quote(secret, safe='')}"
        code = main([*RUN, "--target", url, "--store", str(store)])
        report = root / "report.html"
        if code == 0:
            assert main(["report", "--html", str(report), "--store", str(store)]) == 0
    assert code in (0, EXIT_NO_MEASUREMENT), err.getvalue()
    if how != "query":  # the server really got the secret
        sent = server.headers[0].get("Authorization", "")
        assert secret in sent or base64.b64encode(f"{user}:{secret}".encode()).decode() in sent
    everything = _written(root) + out.getvalue().encode() + err.getvalue().encode()
    for leaked in _forms(secret, user):
        assert leaked not in everything, (how, where, form)


def test_both_an_api_key_and_basic_auth_is_refused(tmp_path: Path) -> None:
    err = io.StringIO()
    with ScriptedOpenAIServer().in_thread() as server, _env("MLX_BENCH_API_KEY", "sk-0123456789abcdef"), \
            contextlib.redirect_stderr(err):
        url = f"http://alice:pw-0123456789@127.0.0.1:{server.port}/v1"
        assert main([*RUN, "--target", url, "--store", str(tmp_path)]) == EXIT_USAGE
    assert err.getvalue().count("\n") == 1 and "one Authorization header" in err.getvalue()
    assert "pw-0123456789" not in err.getvalue() and "sk-0123456789abcdef" not in err.getvalue()
    assert not server.headers, "nothing was sent"
    assert not (tmp_path / "inprogress").exists() or not any((tmp_path / "inprogress").iterdir())


def test_environment_secrets_and_echoed_forms_are_masked() -> None:
    forget_secrets()
    with _env("SOME_SERVICE_TOKEN", "tok-abcdefgh-12345"), _env("PWD", "/work/main-checkout"):
        forget_secrets()
        text = "token tok-abcdefgh-12345, quoted tok-abcdefgh-12345, b64 " + \
            base64.b64encode(b"tok-abcdefgh-12345").decode() + " in /work/main-checkout"
        masked = redact_text(text)
    forget_secrets()
    assert "tok-abcdefgh" not in masked and "dG9rLWFiY2RlZmdo" not in masked
    assert "/work/main-checkout" in masked, "PWD is a path, not a secret"
