"""Perplexity and KL divergence against a reference model, as ``llama-perplexity --kl-divergence`` defines them.

The definitions follow llama.cpp's ``tools/perplexity/perplexity.cpp`` (``kl_divergence``):

- per scored token: ``nll`` (candidate) and ``nll_base`` (reference) of the actual next token; the KL
  divergence ``sum_i p_base_i * (log p_base_i - log q_i)`` over the vocabulary, leaving out the terms whose
  reference log-probability is at or below -16 (as llama.cpp does); ``Δp = p(token) - p_base(token)``; and
  whether both models' most likely token is the same (ties go to the lowest token id, as in llama.cpp);
- over the text: running sums only (``mean_and_uncertainty``, ``covariance``), plus one float per scored
  token for the KLD and Δp quantiles (llama.cpp's linear-interpolated ``percentile`` and its median).

One difference, on purpose: llama.cpp stores the reference's log-probabilities in 16 bits (a
``[max - 16, max]`` range per token) because it writes them to a file between two runs; here both models run
in one process, so the reference's log-probabilities stay in full precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BASE_LOGPROB_FLOOR = -16.0  # llama.cpp drops KL terms whose reference log-probability is at or below this
KLD_QUANTILES = (0.999, 0.99, 0.95, 0.90, 0.10, 0.05, 0.01, 0.001)
DELTA_P_QUANTILES = (0.999, 0.99, 0.95, 0.90, 0.75, 0.25, 0.10, 0.05, 0.01, 0.001)
REFERENCE = "llama.cpp llama-perplexity --kl-divergence (tools/perplexity/perplexity.cpp)"


@dataclass(frozen=True)
class TokenFigures:
    """Per scored token: negative log-likelihoods, KL divergence, Δp and top-1 agreement."""

    nll: np.ndarray
    nll_base: np.ndarray
    kld: np.ndarray
    p_diff: np.ndarray
    same_top: np.ndarray


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (stable: the row maximum is subtracted first)."""
    x = np.asarray(logits, dtype=np.float64)
    shifted = x - x.max(axis=-1, keepdims=True)
    out: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return out


def nll_of(logits: np.ndarray, next_tokens: np.ndarray) -> np.ndarray:
    """Negative log-likelihood of each row's next token."""
    rows = np.arange(len(next_tokens))
    out: np.ndarray = -log_softmax(logits)[rows, next_tokens]
    return out


def token_figures(base_logits: np.ndarray, logits: np.ndarray, next_tokens: np.ndarray) -> TokenFigures:
    """The per-token figures of ``[n, vocab]`` reference and candidate logits predicting ``next_tokens``."""
    if base_logits.shape != logits.shape:
        raise ValueError(f"reference logits {base_logits.shape} and candidate logits {logits.shape} differ in shape")
    base = log_softmax(base_logits)
    cand = log_softmax(logits)
    rows = np.arange(len(next_tokens))
    nll = -cand[rows, next_tokens]
    nll_base = -base[rows, next_tokens]
    terms = np.where(base > BASE_LOGPROB_FLOOR, np.exp(base) * (base - cand), 0.0)
    return TokenFigures(
        nll=nll, nll_base=nll_base, kld=terms.sum(axis=-1), p_diff=np.exp(-nll) - np.exp(-nll_base),
        same_top=np.argmax(logits, axis=-1) == np.argmax(base, axis=-1),
    )


def mean_and_uncertainty(total: float, total_sq: float, count: int) -> tuple[float, float]:
    """llama.cpp's mean and its standard error from running sums (no error below 11 values)."""
    if count < 1:
        return 0.0, 0.0
    mean = total / count
    var = total_sq / count - mean * mean
    return mean, math.sqrt(var / (count - 1)) if var > 0 and count > 10 else 0.0


def covariance(sum_a: float, sum_b: float, sum_ab: float, count: int) -> float:
    """llama.cpp's covariance of two means (0 below 10 values)."""
    if count < 10:
        return 0.0
    return (sum_ab / count - (sum_a / count) * (sum_b / count)) / (count - 1)


def percentile(sorted_values: np.ndarray, fraction: float) -> float:
    """llama.cpp's linear-interpolated percentile of sorted values (its index arithmetic is float32)."""
    if fraction <= 0:
        return float(sorted_values[0])
    if fraction >= 1:
        return float(sorted_values[-1])
    position = np.float32(fraction) * np.float32(len(sorted_values) - 1)
    index = int(position)
    weight = float(position - np.float32(index))
    upper = sorted_values[min(index + 1, len(sorted_values) - 1)]
    return float((1 - weight) * sorted_values[index] + weight * upper)


def median(sorted_values: np.ndarray) -> float:
    """llama.cpp's median: the middle value, or the mean of the middle two."""
    n = len(sorted_values)
    return float(0.5 * (sorted_values[n // 2] + sorted_values[n // 2 - 1]) if n % 2 == 0 else sorted_values[n // 2])


def perplexity_estimate(total: float, total_sq: float, count: int) -> tuple[float, float]:
    """llama.cpp's plain ``perplexity`` final estimate: ``exp(mean nll)`` and ``ppl * stderr(nll)``."""
    if count < 1:
        raise ValueError("no token was scored")
    mean = total / count
    var = total_sq / count - mean * mean
    ppl = math.exp(mean)
    return ppl, ppl * math.sqrt(var / (count - 1)) if var > 0 and count > 1 else 0.0


def _label(fraction: float) -> str:
    return "p" + f"{100 * fraction:g}".replace(".", "_")


@dataclass
class PerplexityStats:
    """Running sums of one model's negative log-likelihoods."""

    total: float = 0.0
    total_sq: float = 0.0
    count: int = 0

    def add(self, nll: np.ndarray) -> None:
        self.total += float(np.sum(nll))
        self.total_sq += float(np.sum(nll * nll))
        self.count += len(nll)

    def estimate(self) -> tuple[float, float]:
        return perplexity_estimate(self.total, self.total_sq, self.count)


@dataclass
class KLDStats:
    """llama.cpp's ``kl_divergence_result`` sums, plus the per-token KLD and Δp values for quantiles."""

    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(
        ("nll", "nll2", "nll_base", "nll_base2", "nll_nll_base", "kld", "kld2", "p_diff", "p_diff2", "p_diff4"),
        0.0))
    n_same_top: int = 0
    count: int = 0
    kld_values: list[np.ndarray] = field(default_factory=list)
    p_diff_values: list[np.ndarray] = field(default_factory=list)

    def add(self, figures: TokenFigures) -> None:
        s = self.sums
        p2 = figures.p_diff * figures.p_diff
        for key, values in (("nll", figures.nll), ("nll2", figures.nll ** 2), ("nll_base", figures.nll_base),
                            ("nll_base2", figures.nll_base ** 2), ("nll_nll_base", figures.nll * figures.nll_base),
                            ("kld", figures.kld), ("kld2", figures.kld ** 2), ("p_diff", figures.p_diff),
                            ("p_diff2", p2), ("p_diff4", p2 * p2)):
            s[key] += float(np.sum(values))
        self.n_same_top += int(np.sum(figures.same_top))
        self.count += len(figures.kld)
        self.kld_values.append(np.asarray(figures.kld, dtype=np.float32))
        self.p_diff_values.append(np.asarray(figures.p_diff, dtype=np.float32))

    def summary(self) -> dict[str, tuple[float, float | None]]:
        """Every figure llama.cpp prints, as ``name -> (value, standard error or None)``."""
        if self.count < 2:
            raise ValueError("KL divergence statistics need at least two scored tokens")
        s, n = self.sums, self.count
        log_ppl, log_ppl_se = mean_and_uncertainty(s["nll"], s["nll2"], n)
        log_base, log_base_se = mean_and_uncertainty(s["nll_base"], s["nll_base2"], n)
        cov = covariance(s["nll"], s["nll_base"], s["nll_nll_base"], n)
        ppl, ppl_base = math.exp(log_ppl), math.exp(log_base)
        ppl_se, ppl_base_se = ppl * log_ppl_se, ppl_base * log_base_se
        ratio_ln = log_ppl - log_base
        ratio_ln_se = math.sqrt(max(0.0, log_ppl_se ** 2 + log_base_se ** 2 - 2.0 * cov))
        out: dict[str, tuple[float, float | None]] = {
            "ppl": (ppl, ppl_se), "ppl_reference": (ppl_base, ppl_base_se),
            "ppl_correlation": (cov / (log_ppl_se * log_base_se) if log_ppl_se and log_base_se else 0.0, None),
            "ln_ppl_ratio": (ratio_ln, ratio_ln_se), "ppl_ratio": (math.exp(ratio_ln), math.exp(ratio_ln) * ratio_ln_se),
            "ppl_diff": (ppl - ppl_base,
                         math.sqrt(max(0.0, ppl_se ** 2 + ppl_base_se ** 2 - 2.0 * ppl * ppl_base * cov))),
        }
        kld = np.sort(np.concatenate(self.kld_values))
        out["kld_mean"] = mean_and_uncertainty(s["kld"], s["kld2"], n)
        out["kld_max"] = (float(kld[-1]), None)
        out.update({f"kld_{_label(f)}": (percentile(kld, f), None) for f in KLD_QUANTILES})
        out["kld_median"] = (median(kld), None)
        out["kld_min"] = (float(kld[0]), None)
        p_diff = np.sort(np.concatenate(self.p_diff_values))
        out["delta_p_mean"] = mean_and_uncertainty(s["p_diff"], s["p_diff2"], n)
        out["delta_p_max"] = (float(p_diff[-1]), None)
        out.update({f"delta_p_{_label(f)}": (percentile(p_diff, f), None) for f in DELTA_P_QUANTILES})
        out["delta_p_median"] = (median(p_diff), None)
        out["delta_p_min"] = (float(p_diff[0]), None)
        mse, mse_se = mean_and_uncertainty(s["p_diff2"], s["p_diff4"], n)
        rms = math.sqrt(mse)
        out["delta_p_rms"] = (rms, 0.5 / rms * mse_se if rms > 0 else 0.0)
        same = self.n_same_top / n
        out["same_top_p"] = (same, math.sqrt(same * (1.0 - same) / (n - 1)))
        return out


def direction(figure: str) -> bool | None:
    """Whether a larger value of ``figure`` is better (None: no direction, e.g. a Δp quantile)."""
    if figure == "same_top_p":
        return True
    if figure == "ppl_correlation":
        return None
    if figure.startswith(("kld_", "ppl")) or figure in ("ln_ppl_ratio", "delta_p_rms"):
        return False
    return None


def as_plain(summary: dict[str, tuple[float, float | None]]) -> dict[str, Any]:
    """The summary as a flat JSON-ready mapping (``name`` and ``name_stderr``)."""
    out: dict[str, Any] = {}
    for key, (value, se) in summary.items():
        out[key] = value
        if se is not None:
            out[f"{key}_stderr"] = se
    return out
