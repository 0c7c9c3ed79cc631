"""Any OpenAI-compatible server over HTTP: vllm-mlx, mlx_lm.server, llama.cpp, Ollama, LM Studio, vLLM.

One aiohttp ClientSession per target, with a connector sized for the concurrency the suites may use. aiohttp
is the stack measured fastest on one core (see docs/timing.md); every network read is stamped with
``now_ns()`` before the SSE parser sees it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp

from mlx_benchmarks.errors import (
    TargetError,
    TargetProtocolError,
    TargetRetryable,
    TargetTimeout,
    TargetUnavailable,
    UsageError,
)
from mlx_benchmarks.redact import remember_secret
from mlx_benchmarks.targets.base import ChatRequest, Chunk, TargetInfo, now_ns
from mlx_benchmarks.targets.credentials import remember_url_secrets
from mlx_benchmarks.targets.response_budget import ResponseBudget
from mlx_benchmarks.targets.retry import parse_retry_after
from mlx_benchmarks.targets.sse import DONE, MAX_TOOL_CALLS, SSEDecoder, chunks_from_event
from mlx_benchmarks.targets.stream_watchdog import StreamWatchdog

START_TIMEOUT_S = 4.5  # start() must give up within 5 s on an unreachable target
MAX_CONNECTIONS = 256  # the suites refuse concurrency above this
LOOPBACK = ("127.0.0.1", "localhost", "::1")
IDLE_TIMEOUT_S = 60.0  # silence between events that ends a stalled stream (well below the request timeout)
MAX_STREAM_BYTES = 64 << 20  # one answer's whole stream; far above a 100k-token reasoning trace
RETRYABLE_STATUS = (429, 503)


@dataclass
class ClientStats:
    """The client's own cost: time spent parsing after each network read, per event."""

    reads: int = 0
    events: int = 0
    parse_ns: int = 0

    def us_per_event(self) -> float | None:
        return None if self.events == 0 else self.parse_ns / self.events / 1e3


def split_base_url(url: str) -> tuple[str, str]:
    """(API base ending in /v1, origin) from ``http://host:port``, ``.../v1`` or ``.../v1/chat/completions``."""
    parts = urlsplit(url.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetUnavailable(f"not an http(s) URL: {url!r}")
    path = parts.path
    for suffix in ("/chat/completions", "/completions"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    if not path.endswith("/v1"):
        path = path + "/v1"
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")  # drop any user:password
    origin = urlunsplit((parts.scheme, netloc, "", "", ""))
    return origin + path, origin


def summarise_http_error(status: int, body: str) -> str:
    """One line: status and the first 200 characters of the body, whitespace collapsed."""
    text = " ".join(body.split())
    return f"HTTP {status}: {text[:200]}" if text else f"HTTP {status}"


def request_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The JSON body of a streaming chat completion."""
    body: dict[str, Any] = {
        "model": model,
        "messages": request.messages,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    optional = {"top_p": request.top_p, "top_k": request.top_k, "seed": request.seed, "stop": request.stop,
                "tools": request.tools, "tool_choice": request.tool_choice}
    body.update({k: v for k, v in optional.items() if v is not None})
    if request.ignore_eos:
        # vLLM, llama.cpp and vllm-mlx honour it; mlx_lm.server ignores unknown keys. The real output count
        # is recorded either way.
        body["ignore_eos"] = True
    body.update(request.extra_body)
    return body


class OpenAITarget:
    """Streaming ``/v1/chat/completions`` client with stamped chunks."""

    def __init__(
        self,
        url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        server_pid: int | None = None,
        timeout_s: float = 600.0,
        idle_timeout_s: float | None = IDLE_TIMEOUT_S,
        max_connections: int = MAX_CONNECTIONS,
        display_name: str | None = None,
        kind: str = "openai-http",
        budget: ResponseBudget | None = None,
    ) -> None:
        self.base_url, self.origin = split_base_url(url)
        self.model = model
        self._api_key = api_key  # sent as a header, never logged or stored
        self._auth = url_basic_auth(url)  # user:password@ in the URL, kept in memory only
        if api_key and self._auth:  # one Authorization header: sending one would silently drop the other
            raise UsageError("both an API key (MLX_BENCH_API_KEY / OPENAI_API_KEY or the target's key variable) "
                             "and user:password@ in the target URL; a request carries one Authorization "
                             "header: unset the key or drop the user:password")
        # whatever the server echoes back of these is masked in everything written
        remember_secret(api_key)
        remember_url_secrets(url)
        self.timeout_s = timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self.display_name = display_name
        self.stats = ClientStats()
        # one budget for every answer this target streams (targets.response_budget)
        self.budget = budget or ResponseBudget(per_answer=MAX_STREAM_BYTES)
        self._session: aiohttp.ClientSession | None = None
        host = urlsplit(self.origin).hostname or ""
        self.info = TargetInfo(kind=kind, model=display_name or model or "unknown", pid=server_pid,
                               local=host in LOOPBACK, supports_ignore_eos=True,
                               details={"url": self.base_url})

    @property
    def host_port(self) -> str:
        return urlsplit(self.origin).netloc

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    async def start(self) -> None:
        """Open the session, check the server answers and learn the model name; fail within 5 s."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=self.max_connections,
                                             ttl_dns_cache=300)
            headers = self._headers()
            if self._auth and "Authorization" not in headers:
                headers["Authorization"] = self._auth
            self._session = aiohttp.ClientSession(connector=connector, headers=headers)
        try:
            await asyncio.wait_for(self._discover(), START_TIMEOUT_S)
        except TimeoutError:
            await self.stop()
            raise TargetUnavailable(f"no answer from {self.host_port} within {START_TIMEOUT_S:.0f} s") from None
        except (aiohttp.ClientError, OSError) as exc:
            await self.stop()
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise TargetUnavailable(f"cannot reach {self.host_port}: {reason}") from None
        except Exception:  # a protocol or usage error (unknown model, several models): close the session
            await self.stop()
            raise

    async def _discover(self) -> None:
        assert self._session is not None
        async with self._session.get(self.base_url + "/models") as response:
            text = await response.text()
            self.info = replace(self.info, details={**self.info.details,
                                                   "server": response.headers.get("Server", "")})
            if response.status in (401, 403):
                raise TargetUnavailable(f"{self.host_port} refused the API key: "
                                        f"{summarise_http_error(response.status, text)}")
            if response.status >= 400:
                if self.model:  # some servers have no /v1/models; the model name is all we needed from it
                    return
                raise TargetProtocolError(f"{self.base_url}/models: {summarise_http_error(response.status, text)}"
                                          "; name the model with --model")
        served = _model_ids(text, self.base_url, required=self.model is None)
        if served:
            self.info = replace(self.info, details={**self.info.details, "models": ", ".join(served)[:500]})
        if self.model is None:
            self.model = _first_model(text, self.base_url)
            self.info = replace(self.info, model=self.display_name or self.model)
        elif served and self.info.kind == "openai-http" and not _serves(served, self.model):
            # (a server we started ourselves, --serve, was started for exactly this model)
            from mlx_benchmarks.errors import UsageError

            raise UsageError(f"{self.host_port} does not serve model {self.model!r}; it serves: {', '.join(served)[:500]}")

    async def stop(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def count_tokens(self, text: str) -> None:
        """No tokenizer over plain HTTP: the suites calibrate prompt length from ``usage.prompt_tokens``."""
        return None

    def make_prompt(self, n_tokens: int, salt: str) -> None:
        return None

    async def stream(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Stream one chat completion; transport failures become TargetError subclasses.

        The request ends within ``timeout_s`` whatever the server does; once the first event has arrived, a
        silence of ``idle_timeout_s`` between reads ends it too. 429 / 503, a connection cut mid-answer and
        an idle stream raise ``TargetRetryable`` (quality suites retry it, speed suites record it).
        """
        if self._session is None or self.model is None:
            raise TargetUnavailable("target not started")
        body = json.dumps(request_body(request, self.model)).encode()
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=START_TIMEOUT_S)
        watchdog = StreamWatchdog(self.timeout_s, self.idle_timeout_s)
        try:
            async with self._session.post(self.base_url + "/chat/completions", data=body,
                                          timeout=timeout) as response:
                if response.status >= 400:
                    text = (await response.content.read(2048)).decode("utf-8", "replace")
                    raise _http_error(response.status, text, response.headers.get("Retry-After"))
                async for chunk in self._events(response, watchdog):
                    yield chunk
        except (asyncio.CancelledError, TimeoutError):
            if not watchdog.fired():
                raise  # not ours: someone else cancelled the task
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                task.uncancel()
            if watchdog.expired == "idle":
                raise TargetRetryable(f"{self.host_port} sent nothing for {self.idle_timeout_s:g} s mid-answer "
                                      "(idle timeout)") from None
            raise TargetTimeout(f"no complete answer from {self.host_port} within {self.timeout_s:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            raise TargetUnavailable(f"cannot reach {self.host_port}: {exc.strerror or exc}") from None
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise TargetRetryable(f"{self.host_port} closed the stream mid-answer ({type(exc).__name__})") from None
        except aiohttp.ClientError as exc:  # a reply that is not HTTP, headers too large, ...
            raise TargetProtocolError(f"{self.host_port} answered outside the protocol "
                                      f"({type(exc).__name__}: {str(exc)[:200]})") from None
        finally:
            watchdog.stop()

    async def _events(self, response: aiohttp.ClientResponse, watchdog: StreamWatchdog) -> AsyncIterator[Chunk]:
        decoder = SSEDecoder()
        stats = self.stats
        first_byte: int | None = None  # stamped at the first read, reported on the first chunk
        first_reported = False
        finished = False
        received = 0  # this answer's bytes, drawn on the target's budget and given back when the stream ends
        unindexed_calls = 0  # tool-call deltas without an index each open a call: bound them
        try:
            async for data in response.content.iter_any():
                t_ns = now_ns()  # stamped on receipt, before any parsing
                watchdog.read(t_ns)  # the consumer now holds chunks: no cancellation until it asks again
                if first_byte is None:
                    first_byte = t_ns
                stats.reads += 1
                self.budget.take(len(data), received, self.host_port)  # past a limit: this request fails
                received += len(data)
                for payload in decoder.feed(data):
                    stats.events += 1
                    if payload.strip() == DONE:
                        stats.parse_ns += now_ns() - t_ns
                        return
                    for chunk in chunks_from_event(payload, t_ns):
                        if chunk.tool_call is not None and "index" not in chunk.tool_call:
                            unindexed_calls += 1
                            if unindexed_calls > MAX_TOOL_CALLS:
                                chunk = Chunk(t_ns, "error", text=f"more than {MAX_TOOL_CALLS} tool calls in one answer")
                        if not first_reported:
                            chunk = replace(chunk, first_byte_ns=first_byte)
                            first_reported = True
                        finished = finished or chunk.finish_reason is not None
                        yield chunk
                        if chunk.kind == "error":
                            return
                stats.parse_ns += now_ns() - t_ns
                watchdog.resume()
            watchdog.stop()
            for payload in decoder.flush():
                if payload.strip() != DONE:
                    for chunk in chunks_from_event(payload, now_ns()):
                        finished = finished or chunk.finish_reason is not None
                        yield chunk
                else:
                    return
            if not first_reported:  # not one event: a refusal in disguise, not a stream cut short
                raise TargetProtocolError(f"{self.host_port} ended the stream before the answer finished "
                                          "(an empty event stream)")
            if not finished:
                # the body ended without [DONE] or a finish_reason: a cut stream, however it was framed (with
                # `Connection: close` the end of the body is the end of the connection, so no transport error says so)
                raise TargetRetryable(f"{self.host_port} closed the stream mid-answer (the body ended before "
                                      "[DONE] or a finish_reason)")
        finally:
            self.budget.give_back(received)


def _http_error(status: int, body: str, retry_after: str | None) -> TargetError:
    """429 and 503 are worth retrying (after ``Retry-After`` when given); every other status is not."""
    summary = summarise_http_error(status, body)
    if status in RETRYABLE_STATUS:
        return TargetRetryable(summary, retry_after=parse_retry_after(retry_after))
    return TargetProtocolError(summary)


def url_basic_auth(url: str) -> str | None:
    """The basic-auth header value for ``http://user:password@host`` (split_base_url drops it from the URL)."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _model_ids(text: str, where: str, *, required: bool) -> list[str]:
    """The ids ``/v1/models`` lists; with ``required`` (no --model), a body that is no list is an error."""
    try:
        data = json.loads(text).get("data") or []
        return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")]
    except (ValueError, AttributeError, TypeError):
        if required:
            raise TargetProtocolError(f"{where}/models did not return a model list; name the model with --model") from None
        return []


def _serves(served: list[str], model: str) -> bool:
    """Whether a server listing ``served`` answers for ``model``: listed (Ollama adds ``:latest``), or a
    local path, which mlx_lm.server loads on request without listing it."""
    return model in served or f"{model}:latest" in served or os.path.exists(os.path.expanduser(model))


def _first_model(text: str, where: str) -> str:
    """The one model a server lists; several is a usage error (which one to measure is the user's call)."""
    ids = _model_ids(text, where, required=True)
    if not ids:
        raise TargetProtocolError(f"{where}/models lists no model; name the model with --model")
    if len(ids) > 1:
        from mlx_benchmarks.errors import UsageError

        raise UsageError(f"{where} serves {len(ids)} models; choose one with --model: {', '.join(ids)[:500]}")
    return ids[0]
