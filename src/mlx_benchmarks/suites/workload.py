"""What a throughput run sends: salted filler of set lengths (``--dataset random``) or a prompt dataset.

``Workload.request(stream, index)`` gives the index-th request of a named stream (a cell, a load level's
round): filler is salted by stream and index, so no two requests share a prefix; dataset prompts are dealt
in order from a point that depends on the stream, so each load level sees a different mix, and a cell of
``n`` requests sends ``n`` different prompts while the dataset lasts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from mlx_benchmarks.datasets.prompts import PromptSet, Selection, load_prompt_set, select_prompts
from mlx_benchmarks.measure.load import output_tokens
from mlx_benchmarks.measure.stats import percentile
from mlx_benchmarks.measure.timing import Completion
from mlx_benchmarks.suites.base import RunContext
from mlx_benchmarks.suites.speed_common import (
    MAX_GEN_TOKENS,
    PromptMaker,
    filler_text,
    salt_for,
    speed_request,
)
from mlx_benchmarks.suites.workload_options import WorkloadOptions
from mlx_benchmarks.targets.base import ChatRequest


@dataclass(frozen=True)
class Planned:
    """One request to send, with the prompt length it was meant to have (for rates when usage is missing)."""

    request: ChatRequest
    prompt_tokens: int


class Workload:
    """Requests for the run's cells and levels, from filler or from the selected dataset prompts."""

    def __init__(self, ctx: RunContext, prompts: PromptMaker, options: WorkloadOptions, *, length: int,
                 gen: int) -> None:
        self.ctx, self.prompts, self.options = ctx, prompts, options
        self.length, self.gen = length, gen  # filler's length, and tokens asked for when a prompt sets none
        self.dataset: PromptSet | None = None if options.random else load_prompt_set(options.dataset)
        self.selection: Selection | None = None

    @property
    def random(self) -> bool:
        return self.dataset is None

    def select(self) -> None:
        """Filter, sample and limit the dataset (after the prompt calibration, which counting may use)."""
        if self.dataset is None:
            return
        self.selection = select_prompts(self.dataset, count=self.count_tokens, limit=self.options.dataset_limit,
                                        seed=self.ctx.seed, min_tokens=self.options.min_prompt_tokens,
                                        max_tokens=self.options.max_prompt_tokens, max_output_tokens=MAX_GEN_TOKENS)

    def count_tokens(self, text: str) -> int:
        """The target's tokenizer where it has one, else words scaled by the fitted tokens per word."""
        counted = self.ctx.target.count_tokens(text)
        if counted is not None:
            return counted
        slope = self.prompts.fit[1] if self.prompts.fit else 1.0
        return max(1, round(len(text.split()) * slope))

    @property
    def size(self) -> int:
        """Prompts a full pass sends: the selection, or 0 for filler (which never runs out)."""
        return len(self.selection.items) if self.selection else 0

    def typical_length(self) -> int:
        """The median selected prompt length, or filler's length."""
        if self.selection is None:
            return self.length
        return round(percentile([float(n) for n in self.selection.prompt_tokens], 50) or self.length)

    def text(self, n_tokens: int, salt: str) -> str:
        """Filler text of about ``n_tokens`` tokens on its own (a system prompt), unique per salt."""
        return self.ctx.target.make_prompt(n_tokens, salt) or filler_text(self.prompts.words(n_tokens), salt)

    def request(self, stream: str, index: int, *, length: int | None = None, gen: int | None = None) -> Planned:
        """The index-th request of ``stream``."""
        if self.selection is None:
            n = length or self.length
            messages = self.prompts.messages(n, salt_for(self.ctx, stream, index))
            return Planned(speed_request(messages, gen or self.gen, self.ctx.seed), n)
        items = self.selection.items
        start = 0 if stream == "dataset" else int(hashlib.sha256(stream.encode()).hexdigest()[:8], 16)
        position = (start + index) % len(items)
        item = items[position]
        wanted = item.output_tokens or gen or self.gen
        cap = self.options.output_cap
        return Planned(speed_request([dict(m) for m in item.messages], min(wanted, cap) if cap else wanted,
                                     self.ctx.seed), self.selection.prompt_tokens[position])

    def tags(self) -> dict[str, object]:
        """Where the prompts came from (dataset provenance and selection), for every result."""
        if self.dataset is None or self.selection is None:
            return {"dataset": "random", "output_tokens_source": "--gen-tokens"}
        cap = self.options.output_cap
        # where each request's max_tokens came from (GuideLLM / vLLM bench record the same choice)
        source = f"dataset, capped at {cap} (--gen-tokens)" if cap else "dataset"
        return {**self.dataset.provenance(), "output_tokens_source": source, "output_tokens_cap": cap or "none",
                "dataset_prompts": len(self.selection.items),
                "dataset_filtered_out": self.selection.filtered_out,
                "dataset_limit": self.options.dataset_limit or "none",
                "dataset_prompt_tokens": f"{self.options.min_prompt_tokens}..{self.options.max_prompt_tokens or 'any'}"}


def length_tags(completions: Sequence[Completion], requested: Sequence[int] = ()) -> dict[str, object]:
    """p50 / p90 of the input and output lengths a set of requests really ran (usage, else what was asked),
    and the median of cached prompt tokens where the target reports them."""
    ok = [c for c in completions if c.ok]
    inputs = [float(c.usage.prompt_tokens) for c in ok if c.usage and c.usage.prompt_tokens is not None]
    if not inputs:
        inputs = [float(n) for n in requested]
    outputs = [float(output_tokens(c)[0]) for c in ok]
    cached = [float(c.usage.cached_prompt_tokens) for c in ok if c.usage and c.usage.cached_prompt_tokens is not None]
    tags: dict[str, object] = {}
    if cached:  # served by the target's prefix cache, where it says so
        tags["cached_tokens_p50"] = round(percentile(cached, 50) or 0.0, 1)
    for name, values in (("input_tokens", inputs), ("output_tokens", outputs)):
        for q in (50, 90):
            value = percentile(values, q)
            tags[f"{name}_p{q}"] = "unknown" if value is None else round(value, 1)
    return tags
