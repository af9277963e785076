"""Cui et al.'s entropy dynamics (the Entropy-Mechanism paper, arXiv 2505.22617): entropy falls where the
log-probability of the sampled tokens and their advantage covary.

Under policy gradient, the change of the policy's entropy between steps is about minus the covariance, over
sampled tokens, of ln pi(a_t) and the advantage A_t: confident tokens that are rewarded drive entropy down. Per
checkpoint of a run, the covariance is computed over the probe's sampled tokens (science.md):

- each sample's reward is its correctness (1 or 0) against the prompt's reference answer;
- its advantage is that reward normalized within its prompt's group of samples, (r - mean) / std, the GRPO
  advantage (std with n - 1 in the denominator, as TRL computes it); a group whose rewards do not vary gets A = 0,
  and such groups are counted, because with sparse rewards many are;
- every token of a sample carries the sample's advantage, so the covariance over tokens follows from per-sample
  sums of ln pi(a_t) and token counts: Cov = sum_s A_s S_s / N - (sum_s S_s / N)(sum_s n_s A_s / N), with S_s
  the sum of the sample's token log-probabilities, n_s its tokens and N all tokens.

A positive covariance predicts falling entropy at the next checkpoint: :func:`entropy_changes` gives that change,
to be read beside it.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["entropy_changes", "group_advantages", "logprob_advantage_covariance", "logprob_sums", "sample_covariance"]


def logprob_sums(logprob: Any) -> dict[str, float]:
    """{"logprob_sum", "n_logprob"}: the sum of a sample's finite token log-probabilities and their number."""
    lp = np.asarray(logprob, dtype=np.float64)
    lp = lp[np.isfinite(lp)]
    return {"logprob_sum": float(lp.sum()), "n_logprob": int(lp.size)}


def group_advantages(rewards: Sequence[float], groups: Sequence[Any]) -> tuple[np.ndarray, int, int]:
    """GRPO advantages: each reward normalized within its group, (r - mean) / std (n - 1 denominator).

    Returns (advantages, groups whose rewards do not vary, groups); a group of one sample, or of equal rewards,
    gets A = 0. NaN rewards give NaN advantages and are left out of their group's mean and std.
    """
    r = np.asarray(rewards, dtype=np.float64)
    keys = list(groups)
    adv = np.full(r.shape, np.nan)
    flat = 0
    unique = list(dict.fromkeys(keys))
    for g in unique:
        idx = np.array([i for i, k in enumerate(keys) if k == g], dtype=np.int64)
        ok = idx[np.isfinite(r[idx])]
        std = float(np.std(r[ok], ddof=1)) if ok.size > 1 else 0.0
        if std > 0:
            adv[ok] = (r[ok] - r[ok].mean()) / std
        else:
            adv[ok] = 0.0
            flat += 1
    return adv, flat, len(unique)


def logprob_advantage_covariance(logprob_sums_: Sequence[float], counts: Sequence[int],
                                 advantages: Sequence[float]) -> float:
    """Cov over tokens of ln pi(a_t) and the advantage of the token's sample, from per-sample sums (population
    covariance, 1/N). Samples with a NaN advantage or no tokens are left out; NaN without tokens."""
    s, n, a = (np.asarray(v, dtype=np.float64) for v in (logprob_sums_, counts, advantages))
    ok = np.isfinite(s) & np.isfinite(a) & (n > 0)
    s, n, a = s[ok], n[ok], a[ok]
    total = n.sum()
    if total == 0:
        return math.nan
    return float((a * s).sum() / total - (s.sum() / total) * ((n * a).sum() / total))


def entropy_changes(h_mean: Sequence[float]) -> list[float]:
    """H[k + 1] - H[k] for each checkpoint k (NaN for the last): the change the covariance at k predicts."""
    h = [float(v) for v in h_mean]
    return [b - a for a, b in zip(h, h[1:])] + ([math.nan] if h else [])


def sample_covariance(rows: Sequence[dict]) -> dict[str, float]:
    """The covariance of one measurement from its sample rows (``prompt_id``, ``correct``, and for scored samples
    ``logprob_sum`` and ``n_logprob``): {"cov_logp_adv", "zero_adv_groups", "n_adv_groups"}.

    Rewards are ``correct`` as 1 / 0; without reference answers (``correct`` None everywhere) every value is NaN.
    Unscored (empty) samples count in their group's reward statistics but bring no tokens.
    """
    graded = [r for r in rows if r.get("correct") is not None]
    if not graded:
        return {"cov_logp_adv": math.nan, "zero_adv_groups": math.nan, "n_adv_groups": math.nan}
    adv, flat, n_groups = group_advantages([float(r["correct"]) for r in graded], [r["prompt_id"] for r in graded])
    cov = logprob_advantage_covariance([r.get("logprob_sum", 0.0) for r in graded],
                                       [r.get("n_logprob", 0) for r in graded], adv)
    return {"cov_logp_adv": cov, "zero_adv_groups": flat, "n_adv_groups": n_groups}
