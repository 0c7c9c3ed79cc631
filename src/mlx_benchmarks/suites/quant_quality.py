"""``knowledge --tasks perplexity,kl_divergence``: what a quantized model lost against its original.

``mlx-bench run knowledge --tasks perplexity,kl_divergence --target mlx:QUANT --reference mlx:FULL`` runs
both models in this process over one fixed text (``datasets.ppl_text``), chunk by chunk, as
``llama-perplexity --kl-divergence`` does: the text is tokenized once (with the tokenizer's BOS, which also
replaces each chunk's first token), cut into chunks of ``--context-size`` tokens (512, llama.cpp's default),
each chunk runs through both models from an empty cache, and only the second half of each chunk is scored
(every scored token has at least half a context before it). Memory stays bounded: one chunk's logits per
model at a time, plus one float per scored token for the quantiles. The figures are ``scoring.kld``'s.

``perplexity`` alone needs no reference. ``--limit N`` takes the first N chunks (llama.cpp's ``--chunks``).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mlx_benchmarks.envelope import GenKwargs, Result
from mlx_benchmarks.errors import DatasetError, UsageError
from mlx_benchmarks.scoring.kld import REFERENCE, KLDStats, PerplexityStats, direction, nll_of, token_figures
from mlx_benchmarks.suites.base import RunContext, SuiteOutcome
from mlx_benchmarks.suites.catalog import QUANT_TASKS
from mlx_benchmarks.targets.base import Target
from mlx_benchmarks.targets.registry import TargetSpec, make_target

TEXT_DATASET = "ppl_hamlet"
DEFAULT_CONTEXT = 512  # llama-perplexity's default -c
PPL_REFERENCE = "llama.cpp llama-perplexity (chunks of -c tokens, second half of each scored)"


@dataclass(frozen=True)
class QuantOptions:
    """The validated flags of a perplexity / KL-divergence run."""

    tasks: tuple[str, ...]
    reference: str | None
    context: int
    limit: int | None


def add_quant_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reference", default=None, metavar="mlx:PATH",
                        help="kl_divergence: the full-precision model the target is compared with (in process)")
    parser.add_argument("--context-size", type=int, default=None, metavar="N",
                        help=f"perplexity / kl_divergence: tokens per chunk (default {DEFAULT_CONTEXT}; "
                             "the second half of each chunk is scored)")


def quant_options(options: Mapping[str, Any]) -> QuantOptions | None:
    """None when no quantization-quality task is asked for; else the validated options."""
    raw = options.get("tasks")
    tasks = tuple(t.strip() for t in str(raw).split(",") if t.strip()) if raw else ()
    reference = options.get("reference")
    context = options.get("context_size")
    if not any(t in QUANT_TASKS for t in tasks):
        if reference is not None or context is not None:
            raise UsageError("--reference and --context-size apply to --tasks perplexity,kl_divergence only")
        return None
    others = [t for t in tasks if t not in QUANT_TASKS]
    if others:
        raise UsageError(f"--tasks {', '.join(others)} cannot run with {', '.join(QUANT_TASKS)}: run them separately")
    if (options.get("scoring") or "generate") != "generate" or options.get("num_fewshot") not in (None, 0):
        raise UsageError("--scoring and --num-fewshot do not apply to perplexity / kl_divergence")
    if "kl_divergence" in tasks and not reference:
        raise UsageError("kl_divergence needs --reference mlx:PATH (the model the target is compared with)")
    if reference and "kl_divergence" not in tasks:
        raise UsageError("--reference applies to kl_divergence only")
    context = DEFAULT_CONTEXT if context is None else int(context)
    if context < 4:
        raise UsageError("--context-size must be at least 4")
    limit = options.get("limit")
    if limit is not None and int(limit) < 1:
        raise UsageError("--limit must be at least 1")
    if reference:
        require_mlx(make_target(TargetSpec(target=str(reference))), "--reference")
    return QuantOptions(tasks=tuple(dict.fromkeys(tasks)), reference=str(reference) if reference else None,
                        context=context, limit=None if limit is None else int(limit))


def require_mlx(target: Target, role: str) -> Any:
    """The target as an in-process MLXTarget, or UsageError: the logits are read in process."""
    from mlx_benchmarks.targets.mlx_inproc import MLXTarget  # imports no MLX itself

    if not isinstance(target, MLXTarget):
        raise UsageError(f"perplexity / kl_divergence read logits in process: {role} must be an in-process MLX "
                         f"model (mlx:PATH, --model or the embedded default), not {target.info.kind}")
    return target


def text_tokens(target: Any, text: str) -> tuple[list[int], int | None]:
    """The text's token ids as llama.cpp tokenizes it (special tokens on), and the BOS id if one is added."""
    tokenizer = target.loaded[1]
    # the text is longer than the model's context on purpose (it is cut into chunks): silence that warning
    quiet = logging.getLogger("transformers.tokenization_utils_base")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with_special: list[int] = tokenizer.encode(text, add_special_tokens=True)
        plain: list[int] = tokenizer.encode(text, add_special_tokens=False)
    finally:
        quiet.setLevel(level)
    bos = getattr(tokenizer, "bos_token_id", None)
    adds_bos = len(with_special) > len(plain) and bos is not None and with_special[0] == bos
    return with_special, bos if adds_bos else None


def chunks_of(tokens: list[int], context: int, bos: int | None, limit: int | None) -> list[list[int]]:
    """Consecutive chunks of ``context`` tokens (a partial tail is dropped, as llama.cpp does)."""
    count = len(tokens) // context
    if count < 1:
        raise DatasetError(f"the text has {len(tokens)} tokens, fewer than one chunk of {context}")
    count = min(count, limit) if limit else count
    chunks = [tokens[i * context:(i + 1) * context] for i in range(count)]
    return [[bos, *chunk[1:]] if bos is not None else chunk for chunk in chunks]


def chunk_logits(model: Any, chunk: list[int], first: int) -> np.ndarray:
    """Float32 logits at positions ``first .. len(chunk) - 2`` of one chunk run from an empty cache."""
    import mlx.core as mx

    logits = model(mx.array(chunk)[None])[0, first:len(chunk) - 1].astype(mx.float32)
    mx.eval(logits)
    return np.array(logits)


async def _logits(target: Any, chunk: list[int], first: int) -> np.ndarray:
    out: np.ndarray = await target.run_in_worker(chunk_logits, target.loaded[0], chunk, first)
    return out


async def run_quant_quality(ctx: RunContext, opts: QuantOptions) -> SuiteOutcome:
    """Perplexity of the target, and its KL divergence from the reference, over the fixed text."""
    from mlx_benchmarks.datasets import dataset_info, load_dataset

    candidate = require_mlx(ctx.target, "--target")
    text = load_dataset(TEXT_DATASET)[0].prompt
    info = dataset_info(TEXT_DATASET)
    reference = require_mlx(make_target(TargetSpec(target=opts.reference)), "--reference") if opts.reference else None
    started = time.perf_counter()
    if reference is not None:
        await reference.start()
    try:
        tokens, bos = text_tokens(candidate, text)
        if reference is not None and text_tokens(reference, text) != (tokens, bos):
            raise UsageError(f"the target's and the reference's tokenizers differ ({candidate.info.model} vs "
                             f"{reference.info.model}): KL divergence compares the same tokens only")
        chunks = chunks_of(tokens, opts.context, bos, opts.limit)
        first = opts.context // 2
        ppl, kld = PerplexityStats(), KLDStats()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=ctx.console, transient=False) as progress:
            bar = progress.add_task(f"{' + '.join(opts.tasks)} ({opts.context}-token chunks)", total=len(chunks))
            for chunk in chunks:
                following = np.array(chunk[first + 1:])
                logits = await _logits(candidate, chunk, first)
                if reference is None:
                    ppl.add(nll_of(logits, following))
                else:
                    base = await _logits(reference, chunk, first)
                    if base.shape != logits.shape:
                        raise UsageError(f"the models' vocabularies differ ({base.shape[-1]} vs {logits.shape[-1]} "
                                         "logits): KL divergence compares the same tokens only")
                    figures = token_figures(base, logits, following)
                    ppl.add(figures.nll)
                    kld.add(figures)
                progress.advance(bar)
        ref_tags: dict[str, object] = {}
        if reference is not None:
            ref_tags = {"reference_model": reference.info.model, "reference_target": opts.reference,
                        "reference_quantization": reference.info.quantization or "unknown",
                        "reference_revision": reference.info.model_revision or "unknown"}
    finally:
        if reference is not None:
            await reference.stop()
    wall = time.perf_counter() - started
    tags: dict[str, object] = {
        "scoring": "loglikelihood", "num_fewshot": 0, "context_size": opts.context, "n_chunks": len(chunks),
        "n_tokens": ppl.count, "n_limit": opts.limit or "all", "bos_per_chunk": bos is not None,
        "dataset": info.name, "dataset_sha256": info.sha256, "dataset_license": info.license,
        "dataset_source": info.source}
    outcome = SuiteOutcome(gen_kwargs=GenKwargs(max_gen_toks=0, temperature=0.0))
    if "perplexity" in opts.tasks:
        ppl_value, ppl_stderr = ppl.estimate()
        outcome.results.append(Result(name="perplexity", metric="perplexity", value=ppl_value, unit="perplexity",
                                      duration_seconds=wall).tag(
            stderr=ppl_stderr, higher_is_better=False, reference=PPL_REFERENCE, **tags))
    if "kl_divergence" in opts.tasks:
        for figure, (value, stderr) in kld.summary().items():
            result = Result(name="kl_divergence", metric=figure, value=value, unit=unit_of(figure),
                            duration_seconds=wall).tag(reference=REFERENCE, **tags, **ref_tags)
            better = True if figure == "ppl_correlation" else direction(figure)
            if better is not None:
                result.tag(higher_is_better=better)
            if stderr is not None:
                result.tag(stderr=stderr)
            outcome.results.append(result)
    return outcome


def unit_of(figure: str) -> str:
    """KL divergences in nats, perplexities as such, Δp as a probability, agreement as a ratio."""
    if figure.startswith("kld_") or figure == "ln_ppl_ratio":
        return "nats"
    if figure in ("ppl", "ppl_reference", "ppl_diff"):
        return "perplexity"
    if figure.startswith("delta_p_"):
        return "probability"
    return "ratio"
