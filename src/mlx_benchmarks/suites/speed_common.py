"""What the speed suites (throughput, ttft) share: flags, prompts of a set token count, per-trial metrics.

Prompts are made of common English words, drawn afresh for every request from a seeded generator, so no two
requests share a prefix beyond the chat template and no prefix cache can serve one. Their length comes from
the target's tokenizer where it has one (``make_prompt``), else from the server's own ``usage.prompt_tokens``:
two probes fit tokens = a + b * words, and every answer after that corrects the word count for its length.
"""

from __future__ import annotations

import argparse
import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlx_benchmarks.errors import UsageError
from mlx_benchmarks.measure.load import ClientCheck, LoadSummary, check_client, output_tokens, send
from mlx_benchmarks.measure.stats import median
from mlx_benchmarks.measure.timing import TIMING_DEFINITIONS, Completion, decode_tps
from mlx_benchmarks.measure.workers import ClientProcesses, ceilings_with, parse_client_processes, recipe_for
from mlx_benchmarks.suites.base import RunContext
from mlx_benchmarks.targets.base import ChatRequest, Target

MAX_PROMPT_TOKENS = 131072
MAX_GEN_TOKENS = 32768
MAX_CONCURRENCY = 256
# short, frequent words: one token each (with their leading space) in the common BPE vocabularies
_WORD_TEXT = (
    "the of and to in is it you that he was for on are with as his they be at one have this from or had by "
    "but some what there we can out other were all your when up use word how said an each she which do their "
    "time if will way about many then them would write like so these her long make thing see him two has look "
    "more day could go come did my sound no most number who over know water than call first people may down "
    "side been now find any new work part take get place made live where after back little only round man year "
    "came show every good me give our under name very through just form much great think say help low line "
    "before turn cause same mean differ move right boy old too does tell sentence set three want air well also "
    "play small end put home read hand port large spell add even land here must big high such follow act why "
    "ask men change went light kind off need house picture try us again animal point mother world near build "
    "self earth father head stand own page should country found answer school grow study still learn plant"
)
WORDS = tuple(_WORD_TEXT.split())


def parse_int_list(value: object, flag: str, *, minimum: int = 1, maximum: int | None = None) -> list[int]:
    """``"128,512"`` (or a list of ints) -> [128, 512]; UsageError naming the flag otherwise."""
    items = value if isinstance(value, list) else str(value).split(",")
    out: list[int] = []
    for item in items:
        text = str(item).strip()
        try:
            number = int(text)
        except ValueError:
            raise UsageError(f"{flag}: {text!r} is not a whole number (give e.g. {flag} 128,512)") from None
        if number < minimum or (maximum is not None and number > maximum):
            bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
            raise UsageError(f"{flag}: {number} is out of range ({bound})")
        out.append(number)
    if not out:
        raise UsageError(f"{flag}: give at least one value")
    return out


def parse_int(value: object, flag: str, *, minimum: int, maximum: int) -> int:
    return parse_int_list([value], flag, minimum=minimum, maximum=maximum)[0]


def add_speed_arguments(parser: argparse.ArgumentParser, *, prompt_lengths: str, gen_tokens: str,
                        trials: int, warmup: int) -> None:
    """Flags both speed suites take (values are checked in validate_options, before any work)."""
    group = parser.add_argument_group("speed")
    group.add_argument("--prompt-lengths", default=prompt_lengths, metavar="N,N,...",
                       help=f"prompt lengths in tokens (default {prompt_lengths})")
    group.add_argument("--gen-tokens", default=gen_tokens, metavar="N,N,...",
                       help=f"tokens to generate per request (default {gen_tokens})")
    group.add_argument("--trials", default=trials, help=f"measured requests per cell (default {trials})")
    group.add_argument("--warmup", default=warmup, help=f"unmeasured requests per cell first (default {warmup})")
    group.add_argument("--no-client-check", dest="client_check", action="store_false",
                       help="skip the short in-run measurement of the client's own ceiling and timing error")
    group.add_argument("--client-processes", default=None, metavar="N|auto",
                       help="send load levels (--concurrency, --request-rate, --sweep) from N client processes "
                            "(auto: one per core; default 1, in this process)")
    group.add_argument("--server-log", default=None, metavar="FILE",
                       help="cross-check each cell against this server log (mlx_lm.server --log-level DEBUG)")


@dataclass(frozen=True)
class SpeedOptions:
    """The validated flags of a speed suite."""

    prompt_lengths: list[int]
    gen_tokens: list[int]
    trials: int
    warmup: int
    concurrency: list[int]
    client_check: bool
    client_processes: int = 1

    @classmethod
    def parse(cls, options: Mapping[str, Any], *, trials: int, warmup: int, gen_tokens: str) -> SpeedOptions:
        def get(name: str, default: object) -> object:
            value = options.get(name)
            return default if value is None else value

        concurrency = get("concurrency", "")
        return cls(
            prompt_lengths=parse_int_list(get("prompt_lengths", "128,512,2048"), "--prompt-lengths",
                                          maximum=MAX_PROMPT_TOKENS),
            gen_tokens=parse_int_list(get("gen_tokens", gen_tokens), "--gen-tokens", maximum=MAX_GEN_TOKENS),
            trials=parse_int(get("trials", trials), "--trials", minimum=1, maximum=1000),
            warmup=parse_int(get("warmup", warmup), "--warmup", minimum=0, maximum=100),
            concurrency=parse_int_list(concurrency, "--concurrency", maximum=MAX_CONCURRENCY) if concurrency else [],
            client_check=bool(get("client_check", True)),
            client_processes=parse_client_processes(options.get("client_processes")),
        )


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


class SpeedSuiteBase:
    """Flags and their validation, shared by the speed suites; subclasses set the defaults."""

    trials: int = 3
    warmup: int = 1
    gen_tokens: str = "128"
    min_gen_tokens: int = 1

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_speed_arguments(parser, prompt_lengths="128,512,2048", gen_tokens=self.gen_tokens, trials=self.trials,
                            warmup=self.warmup)

    def options(self, options: Mapping[str, Any]) -> SpeedOptions:
        parsed = SpeedOptions.parse(options, trials=self.trials, warmup=self.warmup, gen_tokens=self.gen_tokens)
        if min(parsed.gen_tokens) < self.min_gen_tokens:
            raise UsageError(f"--gen-tokens: this suite needs at least {self.min_gen_tokens} generated tokens")
        log = options.get("server_log")
        if log and not Path(str(log)).expanduser().is_file():
            raise UsageError(f"--server-log: {log} is not a readable file")
        return parsed

    def validate_options(self, options: Mapping[str, Any]) -> None:
        self.options(options)


def salt_for(ctx: RunContext, *parts: object) -> str:
    """A salt unique to this run and request, stable for a given run key."""
    return hashlib.sha256("/".join(map(str, (ctx.run_key, ctx.seed, *parts))).encode()).hexdigest()[:16]


def filler_text(n_words: int, salt: str) -> str:
    """``n_words`` common words, drawn by a generator seeded with ``salt``."""
    rng = random.Random(salt)
    return " ".join(rng.choices(WORDS, k=max(1, n_words)))


class PromptMaker:
    """Chat messages whose prompt has a set number of tokens, each unique per salt."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.overhead: int | None = None  # chat-template tokens around the text (tokenizer path)
        self.fit: tuple[float, float] | None = None  # tokens = a + b * words (usage path)
        self.words_for: dict[int, int] = {}  # corrected word count per requested length
        self.source = "tokenizer" if ctx.target.make_prompt(4, "probe") is not None else "usage"

    def messages(self, n_tokens: int, salt: str) -> list[dict[str, Any]]:
        text: str | None = None
        if self.source == "tokenizer":
            text = self.ctx.target.make_prompt(max(1, n_tokens - (self.overhead or 0)), salt)
        if text is None:
            text = filler_text(self.words(n_tokens), salt)
        return [{"role": "user", "content": text}]

    def words(self, n_tokens: int) -> int:
        if n_tokens in self.words_for:
            return self.words_for[n_tokens]
        if self.fit is None:
            return n_tokens
        a, b = self.fit
        return max(1, round((n_tokens - a) / b))

    def observe(self, n_tokens: int, completion: Completion) -> None:
        """Correct the prompt length from what the server says it read."""
        actual = completion.usage.prompt_tokens if completion.usage else None
        if actual is None:
            return
        if self.source == "tokenizer":
            self.overhead = (self.overhead or 0) + actual - n_tokens
            return
        words = self.words(n_tokens)
        slope = self.fit[1] if self.fit else 1.0
        self.words_for[n_tokens] = max(1, words + round((n_tokens - actual) / slope))

    async def calibrate(self, longest: int = 256) -> list[str]:
        """Two short probes fit tokens per word (usage path) or the template overhead (tokenizer path).

        The longer probe is no longer than the longest prompt asked for: prefill is what costs on a slow target.
        """
        points: list[tuple[int, int]] = []
        errors: list[str] = []
        sizes = (8,) if self.source == "tokenizer" else (16, max(32, min(256, longest)))
        for words in sizes:
            salt = salt_for(self.ctx, "calibration", words)
            content = (self.ctx.target.make_prompt(words, salt) if self.source == "tokenizer" else None) \
                or filler_text(words, salt)
            completion = await send(self.ctx.target, ChatRequest(messages=[{"role": "user", "content": content}],
                                                                 max_tokens=1, temperature=0.0))
            self.ctx.cold = False
            if not completion.ok or completion.usage is None or completion.usage.prompt_tokens is None:
                errors.append(completion.error or "the server reports no usage.prompt_tokens")
                continue
            points.append((words, completion.usage.prompt_tokens))
        if self.source == "tokenizer" and points:
            self.overhead = points[0][1] - points[0][0]
        elif len(points) == 2 and points[1][0] != points[0][0]:
            (w1, t1), (w2, t2) = points
            slope = max((t2 - t1) / (w2 - w1), 0.1)
            self.fit = (t1 - slope * w1, slope)
        if errors and self.source == "usage":
            self.source = "words-estimate"  # no usage: one word is taken as one token, and the tags say so
        return errors


@dataclass
class TrialMetrics:
    """What one successful request measured."""

    ttft_ms: float
    duration_s: float
    prompt_tokens: int | None
    output_tokens: int
    token_source: str
    decode_tps: float | None
    prompt_tps: float | None
    total_tps: float | None
    server_decode_tps: float | None
    cached_prompt_tokens: int | None  # served by the target's prefix cache: not prefilled, yet in prompt tok/s
    first_byte_ms: float | None
    first_content_ms: float | None
    first_reasoning_ms: float | None
    first_tool_call_ms: float | None

    @classmethod
    def of(cls, completion: Completion, requested_prompt_tokens: int) -> TrialMetrics:
        assert completion.ttft_ms is not None
        n_out, source = output_tokens(completion)
        usage = completion.usage
        prompt = usage.prompt_tokens if usage and usage.prompt_tokens is not None else None
        prompt_for_rates = prompt if prompt is not None else requested_prompt_tokens
        last = completion.token_times_ns[-1] if completion.token_times_ns else None
        ttft_s = completion.ttft_ms / 1e3
        return cls(
            ttft_ms=completion.ttft_ms,
            duration_s=completion.duration_s,
            prompt_tokens=prompt,
            output_tokens=n_out,
            token_source=source,
            decode_tps=decode_tps(n_out, completion.first_token_ns, last),
            prompt_tps=prompt_for_rates / ttft_s if ttft_s > 0 else None,
            total_tps=(prompt_for_rates + n_out) / completion.duration_s if completion.duration_s > 0 else None,
            server_decode_tps=usage.server_generation_tps if usage else None,
            cached_prompt_tokens=usage.cached_prompt_tokens if usage else None,
            first_byte_ms=completion.since_start_ms(completion.first_byte_ns),
            first_content_ms=completion.since_start_ms(completion.first_content_ns),
            first_reasoning_ms=completion.since_start_ms(completion.first_reasoning_ns),
            first_tool_call_ms=completion.since_start_ms(completion.first_tool_call_ns),
        )

    def record(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def count_tag(value: float | None) -> object:
    """A token count for a tag: whole numbers without ".0", "unknown" when there is none."""
    if value is None:
        return "unknown"
    return int(value) if float(value).is_integer() else round(value, 1)


def median_of(trials: list[TrialMetrics], attribute: str) -> float | None:
    values = [float(v) for t in trials if (v := getattr(t, attribute)) is not None]
    return median(values)


def speed_request(messages: list[dict[str, Any]], gen_tokens: int, seed: int) -> ChatRequest:
    """Greedy, fixed length where the server allows it (ignore_eos), so runs compare like with like."""
    return ChatRequest(messages=messages, max_tokens=gen_tokens, temperature=0.0, seed=seed, ignore_eos=True)


async def timed(ctx: RunContext, request: ChatRequest, *, keep_text: bool = False) -> Completion:
    """Send one request; the run is warm from then on. The answer's text is kept only when asked for (a
    multi-turn conversation sends it back): a speed cell times answers, it never reads them."""
    completion = await send(ctx.target, request, keep_text=keep_text)
    ctx.cold = False
    return completion


def client_overhead_us(ctx: RunContext) -> float | None:
    """Client time per streamed event (parsing and bookkeeping), where the target measures it."""
    stats = getattr(ctx.target, "stats", None)
    per_event = getattr(stats, "us_per_event", None)
    value = per_event() if callable(per_event) else None
    return value if isinstance(value, float) else None


async def measure_client(ctx: RunContext, options: SpeedOptions) -> tuple[ClientCheck | None, list[str]]:
    """The in-run client check (skipped with --no-client-check); a failure is a note, not the run's end."""
    if not options.client_check or getattr(ctx.target, "stats", None) is None:
        return None, []  # an in-process target has no HTTP client whose ceiling could matter
    processes = options.client_processes

    async def ceilings_of(target: Target, levels: list[int]) -> dict[int, LoadSummary]:
        return await ceilings_with(target, processes, levels, n_requests=200)

    try:
        check = await check_client(concurrency=[1, *options.concurrency], n_requests=200,
                                   client_processes=processes, ceilings_of=ceilings_of if processes > 1 else None)
    except (OSError, RuntimeError) as exc:
        return None, [f"client check skipped: {exc}"]
    return check, []


def common_tags(ctx: RunContext, check: ClientCheck | None, prompts: PromptMaker,
                concurrency: int = 1) -> dict[str, object]:
    """Tags every speed result carries: timing definitions, where counts come from, the client's own cost."""
    tags: dict[str, object] = dict(TIMING_DEFINITIONS)
    tags["prompt_token_source"] = prompts.source
    overhead = client_overhead_us(ctx)
    if overhead is not None:
        tags["client_overhead_us_per_event"] = round(overhead, 2)
    if check is not None:
        tags.update(check.tags(concurrency))
    tags["client_processes"] = client_processes_of(ctx)
    tags["target_kind"] = ctx.target.info.kind
    return tags


def client_processes_of(ctx: RunContext) -> int:
    return parse_client_processes(ctx.options.get("client_processes"))


def client_processes(ctx: RunContext, options: SpeedOptions) -> ClientProcesses | None:
    """The worker processes for ``--client-processes N`` (N > 1; use with ``async with``), else None.

    UsageError for an in-process target: its model lives in this process, there is no server to share."""
    if options.client_processes < 2:
        return None
    recipe = recipe_for(ctx.target)
    if recipe is None:
        raise UsageError(f"--client-processes {options.client_processes}: needs an HTTP target "
                         f"(--target URL or --serve); {ctx.target.info.kind} runs in this process")
    return ClientProcesses(recipe, options.client_processes)
