"""Each row's own random stream and the draw of a token from it by inverting the CDF (top-p over the nucleus)."""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

__all__ = ["draw", "row_uniforms", "stop_token_ids"]


def row_uniforms(seed: int, prompt: str, sample: int, n: int) -> np.ndarray:
    """The first ``n`` uniforms in [0, 1) of the stream of sample ``sample`` of the prompt text ``prompt``."""
    digest = hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).digest()
    key = np.random.SeedSequence([int(seed), int.from_bytes(digest[:16], "little"), int(sample)])
    return np.random.Generator(np.random.PCG64(key)).random(n)


def stop_token_ids(lm: Any) -> list[int]:
    """The EOS ids that end a sample: the model's generation config's and the tokenizer's."""
    eos = getattr(getattr(lm.model, "generation_config", None), "eos_token_id", None)
    ids = list(eos) if isinstance(eos, (list, tuple)) else ([] if eos is None else [eos])
    if lm.tokenizer.eos_token_id is not None:
        ids.append(lm.tokenizer.eos_token_id)
    return sorted({int(i) for i in ids})


def draw(logits: Any, u: Any, temperature: float, top_p: float) -> tuple[Any, Any, Any]:
    """(token, entropy, log-prob) per row of ``logits`` (rows x vocabulary), drawn at the uniforms ``u``.

    Entropy and log-prob are those of softmax(z / T) over the whole vocabulary, before any top-p cut (the policy
    the token level measures; what teacher forcing at T computes). The token is the inverse CDF at u of
    softmax(z / T), restricted with top_p < 1 to the nucleus: the most probable tokens until their mass reaches
    top_p (the token that crosses it included, as transformers' top-p keeps it).
    """
    import torch

    z = logits.float()
    z = z / temperature if temperature != 1.0 else z.clone()
    m = z.amax(dim=-1, keepdim=True)
    s = z.sub_(m)
    e = torch.exp(s)
    total = e.sum(-1)
    log_total = total.log()
    entropy = log_total - (e * s).sum(-1) / total
    if top_p >= 1.0:
        token = _inverse_cdf(e.cumsum(-1), u)
    else:
        mass, order = e.sort(dim=-1, descending=True)
        cdf = mass.cumsum(-1)
        mass = mass.masked_fill_(cdf - mass >= top_p * cdf[:, -1:], 0.0)  # the mass before a kept token < top_p
        token = order.gather(1, _inverse_cdf(mass.cumsum(-1), u)[:, None])[:, 0]
    logprob = s.gather(1, token[:, None])[:, 0] - log_total
    return token, entropy, logprob


def _inverse_cdf(cdf: Any, u: Any) -> Any:
    """Per row, the first index whose cumulative mass exceeds u x the total (rows x entries, unnormalized).

    Never past the last entry with mass: u rounded up to 1 in float32 (or the product rounded up to the total)
    would otherwise fall off the end onto tokens of probability 0.
    """
    import torch

    total = cdf[:, -1:]
    index = torch.searchsorted(cdf, u[:, None] * total, right=True)
    return torch.minimum(index, (cdf < total).sum(-1, keepdim=True))[:, 0]
