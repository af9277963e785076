"""The controls of the cross-sample spread on the default model's own samples (marker ``model``): it falls on
one-template samples (one number changed) by far more than 20x, it stays within [0.8, 1.25] between two draws of one
policy, and the float16 prefix a scoring run caches gives the spread of the float32 hidden states.

SmolLM2-135M-Instruct answers 6 addition problems, 8 samples each at T = 1 (chat format), twice (seeds 0 and 1);
the template samples copy each problem's first free answer that holds a number, its first number changed (+0..+7).
"""
from __future__ import annotations

import numpy as np
import pytest

from reasongraph.analysis.samples.spread import (cosine_spread, prefix_means, spread_length, spread_variance,
                                                 template_texts)

pytestmark = pytest.mark.model

PROBLEMS = [(47, 38), (125, 67), (19, 84), (256, 149), (73, 58), (312, 89)]
PROMPT = "What is {} + {}? Think step by step, one step per line."
SAMPLES, MAX_NEW_TOKENS = 8, 48


def _template(free: list[dict]) -> list[dict]:
    """Each prompt's first free answer that holds a number, as SAMPLES one-template samples."""
    out, done = [], set()
    for s in free:
        texts = template_texts(s["trace"], SAMPLES)
        if s["prompt_id"] not in done and texts:
            done.add(s["prompt_id"])
            out += [{**s, "trace": t} for t in texts]
    return out


@pytest.fixture(scope="module")
def spreads(smollm2, tmp_path_factory):
    """{group: {prompt id: (cosine spread, variance)}} over each prompt's M tokens, and the float32 check."""
    from reasongraph.trace.extraction.teacher_forced import extract_batch
    from reasongraph.runs.generate.generate import generate

    root = tmp_path_factory.mktemp("controls")
    prompts = [PROMPT.format(a, b) for a, b in PROBLEMS]
    groups = {f"seed {seed}": generate(prompts, model=smollm2, out=root / f"s{seed}.jsonl", samples=SAMPLES,
                                       temperature=1.0, max_new_tokens=MAX_NEW_TOKENS, seed=seed,
                                       prompt_format="chat", batch_size=6 * SAMPLES, progress=False)
              for seed in (0, 1)}
    groups["template"] = _template(groups["seed 0"])
    prefixes, full = {}, {}
    for g, samples in groups.items():
        samples = [s for s in samples if s["trace"].strip()]
        traces = extract_batch([s["trace"] for s in samples], [s["prompt"] for s in samples], model=smollm2,
                               layers=(0.9,), prompt_format="chat")
        for s, t in zip(samples, traces):
            prefixes.setdefault(g, {}).setdefault(s["prompt_id"], []).append(t.lean(prefix_tokens=512).prefix_hidden())
            full.setdefault(g, {}).setdefault(s["prompt_id"], []).append(t.hidden[t.layers[0]])
    out = {g: {} for g in groups}
    float32 = []
    for p in prefixes["template"]:
        m = spread_length([len(x) for g in groups for x in prefixes[g][p]])
        for g in groups:
            kept = [x for x in prefixes[g][p] if len(x) >= m]
            means = prefix_means(kept, m)
            out[g][p] = (cosine_spread(means), spread_variance(means))
            if g == "seed 0":
                float32.append((cosine_spread(means), cosine_spread(prefix_means(
                    [x for x in full[g][p] if len(x) >= m], m))))
    return out, float32


def _mean(spreads: dict, group: str, i: int) -> float:
    return float(np.mean([v[i] for v in spreads[group].values()]))


def test_one_template_spreads_far_less_than_free_samples(spreads):
    s, _ = spreads
    assert len(s["template"]) == 6  # every problem had a free answer with a number
    for i in (0, 1):  # cosine spread, variance
        free, template = _mean(s, "seed 0", i), _mean(s, "template", i)
        assert template * 20 <= free, (i, free, template)


def test_two_draws_of_one_policy_give_a_ratio_near_one(spreads):
    s, _ = spreads
    ratio = _mean(s, "seed 1", 0) / _mean(s, "seed 0", 0)
    assert 0.8 <= ratio <= 1.25, ratio


def test_the_cached_float16_prefix_gives_the_float32_spread(spreads):
    _, pairs = spreads
    for half, single in pairs:
        assert half == pytest.approx(single, rel=1e-3)


def test_identical_real_samples_give_no_spread(smollm2):
    from reasongraph.trace.extraction.teacher_forced import extract

    t = extract("47 + 38 = 85.\nSo the answer is 85.", PROMPT.format(47, 38), model=smollm2, layers=(0.9,),
                prompt_format="chat").lean(prefix_tokens=512)
    means = prefix_means([t.prefix_hidden()] * 8, 16)
    assert cosine_spread(means) <= 1e-12 and spread_variance(means) <= 1e-12
