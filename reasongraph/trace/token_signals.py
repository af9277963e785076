"""Token-level signals of a trace: entropy statistics, forking tokens, and the entropy-performance law.

RL training makes token entropy collapse; these are the token-level measures of exploration that reasongraph
compares with the hidden-state ones. The hidden-state signals (effective rank, ERV/ERA) live in
:mod:`reasongraph.trace.hidden` and the lexical aha markers in :mod:`reasongraph.trace.markers`; both are re-exported
here so every per-trace signal can be imported from one place. All computation is float64.
"""
from __future__ import annotations

import math

import numpy as np

from reasongraph.core.checks import check_number
from reasongraph.core.errors import InputError, opt
from reasongraph.trace.options import ForkingOptions

__all__ = ["LOW_ENTROPY", "entropy_of", "entropy_summary", "forking_tokens", "top_rho_threshold"]


#: Tokens below this entropy (nats) count as near-deterministic (the 80/20 paper's H < 0.01).
LOW_ENTROPY = 0.01


def entropy_of(p: np.ndarray, *, axis: int = -1) -> np.ndarray | float:
    """Shannon entropy -sum p ln p in nats of probability vectors, with 0 ln 0 = 0.

    Parameters
    ----------
    p : probabilities along ``axis`` (each vector should sum to 1; not renormalized).
    axis : the axis holding one distribution.

    Returns
    -------
    float for a single vector, else an array with ``axis`` removed.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.size == 0:
        raise InputError(f"{opt('p')} must hold at least one probability")
    if np.any(p < 0) or not np.all(np.isfinite(p)):
        raise InputError(f"{opt('p')} must hold finite, non-negative probabilities")
    terms = -p * np.log(np.where(p > 0, p, 1.0))
    h = terms.sum(axis=axis)
    return float(h) if np.ndim(h) == 0 else h


def _entropy_vector(entropy: np.ndarray) -> np.ndarray:
    try:
        entropy = np.asarray(entropy, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as e:
        raise InputError(f"{opt('entropy')} must be a numeric (n_tokens,) array ({e})") from None
    if entropy.ndim != 1:
        raise InputError(f"{opt('entropy')} must be a 1-D (n_tokens,) array, got shape {entropy.shape}")
    if np.any(np.isinf(entropy)) or np.any(entropy < 0):
        raise InputError(f"{opt('entropy')} must hold non-negative finite values (NaN marks an undefined token)")
    return entropy


def entropy_summary(entropy: np.ndarray) -> dict[str, float]:
    """Summary of a trace's token entropies, ignoring NaN (the first token's entropy may be undefined).

    Parameters
    ----------
    entropy : (n_tokens,) nats.

    Returns
    -------
    dict
        ``mean_entropy``, ``median_entropy``, ``low_entropy_share`` (share of tokens with H < 0.01) and
        ``entropy_p80`` (80th percentile, linear interpolation: compare with the 80/20 paper's 0.672 nats for
        Qwen3-8B on AIME). All NaN when no token has a defined entropy.
    """
    h = _entropy_vector(entropy)
    h = h[~np.isnan(h)]
    if h.size == 0:
        nan = float("nan")
        return {"mean_entropy": nan, "median_entropy": nan, "low_entropy_share": nan, "entropy_p80": nan}
    return {
        "mean_entropy": float(h.mean()),
        "median_entropy": float(np.median(h)),
        "low_entropy_share": float(np.mean(h < LOW_ENTROPY)),
        "entropy_p80": float(np.quantile(h, 0.8)),
    }


def _check_rho(rho: float) -> None:
    check_number("rho", rho, low=0, high=1)


def top_rho_threshold(entropy: np.ndarray, *, rho: float = ForkingOptions.rho) -> float:
    """Entropy threshold of the top ``rho`` share of a trace's tokens (80/20 paper).

    With n tokens of defined entropy and k = ceil(rho * n), the threshold is the k-th largest entropy: an
    empirical (1 - rho) quantile that makes ``entropy >= threshold`` select exactly the k highest tokens, and
    more only when tokens tie with the k-th (ties are all included, never broken by position).

    Returns
    -------
    float
        The threshold; +inf when no token can fork (rho = 0 or no defined entropy).
    """
    _check_rho(rho)
    h = _entropy_vector(entropy)
    h = h[~np.isnan(h)]
    # the tolerance keeps float noise (0.7 * 10 = 7.000000000000001) from adding a token
    k = math.ceil(rho * h.size - 1e-9)
    if k == 0:
        return float("inf")
    return float(np.partition(h, h.size - k)[h.size - k])


def forking_tokens(entropy: np.ndarray, *, rho: float = ForkingOptions.rho, forking_threshold: float | None = None
                   ) -> np.ndarray:
    """Forking tokens: the high-entropy decision points of a trace (80/20 paper).

    Parameters
    ----------
    entropy : (n_tokens,) nats; NaN entries never fork.
    rho : share of tokens to select, the top ones by entropy (see :func:`top_rho_threshold` for ties).
    forking_threshold : when given, an absolute rule instead: tokens with entropy strictly above it (e.g. the paper's
        0.672 nats), and ``rho`` is ignored.

    Returns
    -------
    (n_tokens,) bool array.
    """
    h = _entropy_vector(entropy)
    with np.errstate(invalid="ignore"):  # NaN compares False: undefined tokens never fork
        if forking_threshold is not None:
            return h > check_number("forking_threshold", forking_threshold)
        return h >= top_rho_threshold(h, rho=rho)
