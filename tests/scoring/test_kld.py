"""``scoring.kld`` against a direct, loop-by-loop port of llama.cpp's ``kl_divergence`` (perplexity.cpp).

The port below follows llama.cpp's C++ token by token and vocabulary entry by vocabulary entry (its
``log_softmax(..., kl_divergence_result &)``, ``mean_and_uncertainty``, ``covariance``, ``percentile`` and
the median), with the reference's log-probabilities kept in full precision (llama.cpp's only storage
shortcut, the 16-bit file, is the one documented difference). The vectorised code must agree with it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlx_benchmarks.scoring.kld import (
    DELTA_P_QUANTILES,
    KLD_QUANTILES,
    KLDStats,
    PerplexityStats,
    nll_of,
    token_figures,
)


def reference_token(logits: list[float], base_log_probs: list[float], tok: int, acc: dict[str, float]) -> tuple[float, float]:
    """llama.cpp's per-token loop, verbatim in structure; base_log_probs are the reference's log-probabilities."""
    max_logit, imax = logits[0], 0
    for i in range(1, len(logits)):
        if logits[i] > max_logit:
            max_logit, imax = logits[i], i
    sum_exp = sum(math.exp(v - max_logit) for v in logits)
    log_sum_exp = math.log(sum_exp)
    nll = max_logit + log_sum_exp - logits[tok]
    acc["nll"] += nll
    acc["nll2"] += nll * nll
    nll_base = -base_log_probs[tok]
    acc["nll_base"] += nll_base
    acc["nll_base2"] += nll_base * nll_base
    acc["nll_nll_base"] += nll * nll_base
    max_logit += log_sum_exp
    total = 0.0
    imax_base, p_log_base_max = -1, 0.0
    for i, p_log_base in enumerate(base_log_probs):
        if i == 0 or p_log_base > p_log_base_max:
            p_log_base_max, imax_base = p_log_base, i
        if p_log_base > -16.0:
            total += math.exp(p_log_base) * (p_log_base - logits[i] + max_logit)
    acc["kld"] += total
    acc["kld2"] += total * total
    acc["count"] += 1
    if imax == imax_base:
        acc["same"] += 1
    p_diff = math.exp(-nll) - math.exp(-nll_base)
    acc["p_diff"] += p_diff
    acc["p_diff2"] += p_diff * p_diff
    acc["p_diff4"] += p_diff ** 4
    return total, p_diff


def reference_mean(s: float, s2: float, n: int) -> tuple[float, float]:
    f = s / n
    df = s2 / n - f * f
    return f, (math.sqrt(df / (n - 1)) if df > 0 and n > 10 else 0.0)


def reference_percentile(values: list[float], fraction: float) -> float:
    p = float(np.float32(fraction)) * (len(values) - 1)
    ip = int(p)
    p -= ip
    return (1 - p) * values[ip] + p * values[min(ip + 1, len(values) - 1)]


def reference_median(values: list[float]) -> float:
    n = len(values)
    return 0.5 * (values[n // 2] + values[n // 2 - 1]) if n % 2 == 0 else values[n // 2]


def reference_report(base_logits: np.ndarray, logits: np.ndarray, tokens: np.ndarray) -> dict[str, float]:
    acc = dict.fromkeys(("nll", "nll2", "nll_base", "nll_base2", "nll_nll_base", "kld", "kld2", "p_diff", "p_diff2",
                         "p_diff4", "count", "same"), 0.0)
    klds, diffs = [], []
    for row in range(len(tokens)):
        b = [float(x) for x in base_logits[row]]
        m = max(b)
        lse = m + math.log(sum(math.exp(x - m) for x in b))
        k, d = reference_token([float(x) for x in logits[row]], [x - lse for x in b], int(tokens[row]), acc)
        klds.append(k)
        diffs.append(d)
    n = int(acc["count"])
    klds.sort()
    diffs.sort()
    lp, lp_se = reference_mean(acc["nll"], acc["nll2"], n)
    lb, lb_se = reference_mean(acc["nll_base"], acc["nll_base2"], n)
    cov = (acc["nll_nll_base"] / n - (acc["nll"] / n) * (acc["nll_base"] / n)) / (n - 1)
    out = {"ppl": math.exp(lp), "ppl_reference": math.exp(lb), "ln_ppl_ratio": lp - lb,
           "ln_ppl_ratio_se": math.sqrt(lp_se ** 2 + lb_se ** 2 - 2 * cov), "ppl_correlation": cov / (lp_se * lb_se),
           "ppl_diff": math.exp(lp) - math.exp(lb)}
    out["kld_mean"], out["kld_mean_se"] = reference_mean(acc["kld"], acc["kld2"], n)
    out["kld_max"], out["kld_min"], out["kld_median"] = klds[-1], klds[0], reference_median(klds)
    for f in KLD_QUANTILES:
        out[f"kld_p{100 * f:g}".replace(".", "_")] = reference_percentile(klds, f)
    out["delta_p_mean"], out["delta_p_mean_se"] = reference_mean(acc["p_diff"], acc["p_diff2"], n)
    out["delta_p_max"], out["delta_p_min"], out["delta_p_median"] = diffs[-1], diffs[0], reference_median(diffs)
    for f in DELTA_P_QUANTILES:
        out[f"delta_p_p{100 * f:g}".replace(".", "_")] = reference_percentile(diffs, f)
    mse, mse_se = reference_mean(acc["p_diff2"], acc["p_diff4"], n)
    out["delta_p_rms"], out["delta_p_rms_se"] = math.sqrt(mse), 0.5 / math.sqrt(mse) * mse_se
    same = acc["same"] / n
    out["same_top_p"], out["same_top_p_se"] = same, math.sqrt(same * (1 - same) / (n - 1))
    return out


@pytest.fixture(scope="module")
def logits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    vocab, n = 64, 150
    base = rng.normal(0, 4, size=(n, vocab)).astype(np.float32)  # wide: some terms fall below the -16 floor
    noisy = (base + rng.normal(0, 0.8, size=base.shape)).astype(np.float32)
    tokens = rng.integers(0, vocab, size=n)
    return base, noisy, tokens


def test_matches_a_loop_by_loop_port_of_llama_cpp(logits: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    base, noisy, tokens = logits
    stats = KLDStats()
    for start in range(0, len(tokens), 40):  # streamed in chunks, as the suite does
        stats.add(token_figures(base[start:start + 40], noisy[start:start + 40], tokens[start:start + 40]))
    ours = stats.summary()
    theirs = reference_report(base, noisy, tokens)
    assert stats.count == len(tokens)
    for key, value in theirs.items():
        if key.endswith("_se"):
            assert ours[key[:-3]][1] == pytest.approx(value, rel=1e-5, abs=1e-7), key
        else:
            # quantiles are taken from float32 values, as llama.cpp keeps them
            assert ours[key][0] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    assert 0.0 < ours["same_top_p"][0] < 1.0  # the noise flips some top-1 choices, not all
    assert ours["kld_mean"][0] > 0.0


def test_the_floor_drops_tiny_reference_terms() -> None:
    # the reference puts ~e^-17.7 on token 2: llama.cpp's sum leaves that term out, a plain KL keeps it
    base = np.array([[0.0, 0.0, -17.0]])
    cand = np.array([[0.0, 0.0, 5.0]])
    figures = token_figures(base, cand, np.array([0]))
    lb = base[0] - np.log(np.exp(base[0]).sum())
    lq = cand[0] - np.log(np.exp(cand[0]).sum())
    terms = np.exp(lb) * (lb - lq)
    assert figures.kld[0] == pytest.approx(float(terms[:2].sum()), rel=1e-12)
    assert abs(float(figures.kld[0]) - float(terms.sum())) > 1e-8


def test_identical_models_agree_exactly(logits: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    base, _, tokens = logits
    stats = KLDStats()
    stats.add(token_figures(base, base, tokens))
    summary = stats.summary()
    assert summary["kld_mean"][0] == pytest.approx(0.0, abs=1e-12)
    assert summary["same_top_p"][0] == 1.0
    assert summary["ln_ppl_ratio"][0] == pytest.approx(0.0, abs=1e-12)
    assert summary["delta_p_rms"][0] == pytest.approx(0.0, abs=1e-7)


def test_perplexity_is_llama_cpp_final_estimate(logits: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    base, _, tokens = logits
    stats = PerplexityStats()
    stats.add(nll_of(base[:70], tokens[:70]))
    stats.add(nll_of(base[70:], tokens[70:]))
    nll = [-(float(r[t]) - float(np.log(np.exp(r.astype(np.float64)).sum()))) for r, t in zip(base, tokens, strict=True)]
    mean = sum(nll) / len(nll)
    var = sum(x * x for x in nll) / len(nll) - mean * mean
    ppl, se = stats.estimate()
    assert ppl == pytest.approx(math.exp(mean), rel=1e-9)
    assert se == pytest.approx(math.exp(mean) * math.sqrt(var / (len(nll) - 1)), rel=1e-6)


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        token_figures(np.zeros((2, 4)), np.zeros((2, 5)), np.array([0, 1]))
