"""The exploration probe: a fixed set of prompts sampled on-policy and scored by the same live model.

One measurement answers "how much does this policy still explore?" at the three levels of science.md, on prompts,
sample counts, temperature and seed that never change, so two measurements (two training steps, two saved
checkpoints) are comparable. It is shared by :class:`reasongraph.train.callback.ExplorationCallback` (during
training) and :func:`reasongraph.train.sweep.sweep` (over saved checkpoints), so both report the same numbers.

What one :meth:`ExplorationProbe.measure` does, with the model in eval mode and no autograd:

1. samples ``samples`` completions of every prompt in batched calls across prompts with
   :func:`reasongraph.trace.sampling.decode.sample_rows` (softmax(z / T), no top-k, each sample from its own stream
   seeded by (``seed``, its prompt's text, its index): the torch RNG is not used), recording in the same pass each
   token's entropy and log-prob at T and the chosen layer's hidden states;
2. builds each sample's trace from those records (:func:`reasongraph.trace.sampling.recorded.sampled_trace`, the trace a
   teacher-forced pass at the same temperature gives, up to float rounding; a sample whose text does not
   re-tokenize to its ids is teacher-forced with :func:`reasongraph.trace.extraction.teacher_forced.extract_batch`, and
   ``scoring="teacher_forced"`` teacher-forces every sample, as the probe did before) and analyzes each with
   :func:`reasongraph.analysis.one_trace.analyze_trace` against a clustering that is fit once;
3. summarizes, as means over the scored samples (each sample counts once, whatever its length, as in the
   level-collapse table):

   - token level: ``H_mean`` (mean token entropy, nats), ``H_low_share`` (share of tokens with H < 0.01),
     ``forking_share_ref`` (share of tokens at or above the reference's pooled top-``rho`` entropy threshold);
   - hidden level: ``erank_window`` (effective rank over windows of ``window`` tokens), ``erv`` (effective-rank
     velocity, stride ``stride``), ``revisits_per_step``, ``loop_exists_share`` (share of samples whose walk
     revisits a node);
   - samples: ``distinct_walk_share`` (per prompt, distinct collapsed walks / scored samples; mean over prompts);
   - ``accuracy`` (share of all samples whose answer matches the prompt's reference, :func:`is_correct`) when
     reference answers are given, and then ``cov_logp_adv``, Cui et al.'s covariance over sampled tokens of
     ln pi(a_t) and the GRPO advantage of the token's sample, with ``zero_adv_groups`` of ``n_adv_groups``
     prompts whose samples all scored alike (:mod:`reasongraph.stats.entropy_dynamics`); ``tokens_mean`` (generated
     tokens per sample, the final EOS not counted), ``n_samples``, ``n_scored`` (samples with text to score) and
     ``seconds``.

The reference is fixed by the first measurement (:attr:`ExplorationProbe.clusterer_`,
:attr:`ExplorationProbe.forking_threshold_`): its step vectors fit the KMeans whose nodes every later walk is
labeled with, so revisits are counted in one fixed space, and its pooled entropy threshold is the one every later
``forking_share_ref`` is measured against. A later policy's hidden states drift away from that space; with a
fixed K, fewer steps per measurement also mean fewer steps per node, so compare ``revisits_per_step`` (a rate)
rather than counts.

The model is used as it is: no copy is made. Its per-module train/eval flags are restored exactly afterwards, its
parameters, gradients and generation config are not touched (only its EOS ids are read).
"""
from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import given_or_keywords
from reasongraph.runs.records.prompts import read_prompts
from reasongraph.stats.entropy_dynamics import logprob_sums
from reasongraph.trace.extraction.encode import encode_prompt
from reasongraph.trace.extraction.layers import resolve_layers
from reasongraph.trace.extraction.teacher_forced import extract_batch
from reasongraph.trace.hidden.rank_dynamics import erank_dynamics, erank_window
from reasongraph.trace.sampling.decode import sample_rows
from reasongraph.trace.sampling.recorded import sampled_trace
from reasongraph.trace.token_signals import LOW_ENTROPY, top_rho_threshold
from reasongraph.train.probe.answers import is_correct, reference_answers
from reasongraph.train.probe.live_model import check_not_empty, decode_sample, live_model, probe_mode
from reasongraph.train.probe.measurement import Measurement, summarize
from reasongraph.train.probe.options import ProbeOptions

__all__ = ["ExplorationProbe", "as_probe"]

log = logging.getLogger("reasongraph")


class ExplorationProbe:
    """A fixed probe set and how it is sampled and scored; :meth:`measure` gives one :class:`Measurement`.

    Parameters
    ----------
    prompts : a JSONL, CSV/TSV or Parquet file or a saved ``datasets`` folder, a ``.txt`` file with one prompt per
        line, or a list of prompt strings (read as :func:`reasongraph.runs.records.prompts.read_prompts` reads them).
    options : a :class:`~reasongraph.train.probe.options.ProbeOptions` holding the options below, instead of them as
        keywords (not both).
    samples : completions per prompt.
    temperature : sampling and scoring temperature: entropies are those of softmax(logits / temperature).
    max_new_tokens : the longest completion, in tokens.
    seed : with each prompt's index, seeds its sampling; the same probe on the same weights draws the same samples.
    prompt_format : "raw" or "chat" (the tokenizer's chat template with the prompt as the user's turn).
    answers : reference answers, one per prompt (a list parallel to ``prompts``), for ``accuracy``.
    answer_field : instead of ``answers``, the field of the prompts file holding each prompt's reference answer.
    prompt_field, id_field : fields of a prompts file.
    layer : the hidden-state layer of the step vectors and the effective rank (an index or a depth ratio).
    segment : how a completion is cut into steps (see :func:`reasongraph.trace.steps.segment_steps`).
    k : KMeans K of the reference clustering, or "auto" (a third of the reference's steps, at most 200).
    rho : the reference's forking share: its pooled top-``rho`` entropy threshold defines ``forking_share_ref``.
    window : W of ``erank_window`` (science.md: 128); samples shorter than W have none.
    stride : the stride of ``erv`` (VERL: 40); samples shorter than two strides have none.
    batch_size : rows per sampling call, taken across prompts (None: every sample of the probe in one call); also
        the sequences per teacher-forced pass, when there is one (None: about 4096 padded tokens per pass).
    scoring : "sampling" (score each sample from what its sampling pass recorded: no second forward pass) or
        "teacher_forced" (run the model again over every sampled text); the numbers agree to float rounding.

    Attributes
    ----------
    prompts_ : the :class:`reasongraph.runs.records.prompts.Prompt` values. ``answers_`` : their reference answers or
        None.
    clusterer_ : the reference clustering (None until a measurement had steps to fit it on).
    forking_threshold_ : the reference's pooled top-``rho`` threshold, nats (None until the first measurement).
    """

    def __init__(self, prompts: str | os.PathLike | Sequence[str], *, options: ProbeOptions | None = None,
                 **keywords: Any) -> None:
        o = given_or_keywords(ProbeOptions, options, keywords, "options")
        check_not_empty(prompts)
        self.prompts_ = read_prompts(prompts, prompt_field=o.prompt_field, id_field=o.id_field)
        self.answers_ = reference_answers(prompts, self.prompts_, o.answers, o.answer_field)
        self.opts = o
        self.samples, self.temperature, self.max_new_tokens, self.seed = o.samples, o.temperature, \
            o.max_new_tokens, o.seed
        self.prompt_format, self.layer, self.segment, self.k, self.rho = o.prompt_format, o.layer, o.segment, o.k, \
            o.rho
        self.window, self.stride, self.batch_size, self.scoring = o.window, o.stride, o.batch_size, o.scoring
        self.clusterer_: Any = None
        self.forking_threshold_: float | None = None

    def options(self) -> dict:
        """The probe's settings, JSON-able (what makes two measurements comparable)."""
        return {"n_prompts": len(self.prompts_), **self.opts.identity(), "answers": self.answers_ is not None}

    def measure(self, model: Any, tokenizer: Any = None) -> Measurement:
        """Sample the probe set with ``model``, score the samples with it, and summarize.

        ``model`` is a :class:`~reasongraph.models.loaded.LoadedModel`, or a transformers causal LM with its
        ``tokenizer``. The first call fixes the reference (clustering and forking threshold). The model's
        train/eval flags are restored afterwards; nothing else of it changes.
        """
        start = time.perf_counter()
        lm = live_model(model, tokenizer)
        with probe_mode(lm.model):
            prompt_ids = self._prompt_ids(lm)
            drawn = self._sample(lm, prompt_ids)
            texts = [decode_sample(lm.tokenizer, s.token_ids) for _, _, s in drawn]
            scored = [i for i, t in enumerate(texts) if t.strip()]
            traces = self._score(lm, [(drawn[i], texts[i]) for i in scored], prompt_ids)
        if self.forking_threshold_ is None:
            self._fit_reference(traces)
        elif self.clusterer_ is None and any(t.n_steps for t in traces):
            log.warning("probe: the reference clustering is fit on this measurement, the first with any step")
            self._fit_clusterer(traces)
        rows = [self._row(p, k, s, text) for (p, k, s), text in zip(drawn, texts)]
        for i, trace in zip(scored, traces):
            rows[i].update(self._trace_metrics(trace))
        metrics = summarize(rows)
        metrics["seconds"] = time.perf_counter() - start
        return Measurement(metrics, rows)

    # ------------------------------------------------------------------ the stages
    def _prompt_ids(self, lm: Any) -> list[list[int]]:
        out = []
        for p in self.prompts_:
            ids = encode_prompt(lm.tokenizer, p.text, self.prompt_format)
            if len(ids) + self.max_new_tokens > lm.context_length:
                raise InputError(f"{p.where}: the prompt is {len(ids)} tokens; with {opt('max_new_tokens')} = "
                                 f"{self.max_new_tokens} that is more than the model's context of "
                                 f"{lm.context_length} tokens")
            out.append(ids)
        return out

    def _layer_ids(self, lm: Any) -> tuple[int, ...]:
        return resolve_layers((self.layer,), lm.num_layers)

    def _sample(self, lm: Any, prompt_ids: list[list[int]]) -> list[tuple[Any, int, Any]]:
        """Every (prompt, sample index, Sample), prompt by prompt, drawn in calls of ``batch_size`` rows."""
        rows = [(p, k) for p in self.prompts_ for k in range(self.samples)]
        size = self.batch_size or len(rows)
        layers = self._layer_ids(lm) if self.scoring == "sampling" else ()
        out = []
        for start in range(0, len(rows), size):
            call = rows[start:start + size]
            drawn = sample_rows(lm, [prompt_ids[p.index] for p, _ in call], [(p.text, k) for p, k in call],
                                seed=self.seed, temperature=self.temperature, max_new_tokens=self.max_new_tokens,
                                layers=layers)
            out.extend((p, k, s) for (p, k), s in zip(call, drawn))
        return out

    def _score(self, lm: Any, samples: list[tuple[tuple[Any, int, Any], str]], prompt_ids: list[list[int]]
               ) -> list[Any]:
        """The Trace of each (drawn sample, its text): from its sampling pass where it re-tokenizes (and
        ``scoring`` is "sampling"), else from one teacher-forced pass over the rest."""
        traces: list[Any] = [None] * len(samples)
        if self.scoring == "sampling":
            layer_ids = self._layer_ids(lm)
            for i, ((p, _, s), text) in enumerate(samples):
                traces[i] = sampled_trace(lm, s, text=text, prompt=p.text, prompt_ids=prompt_ids[p.index],
                                          layer_ids=layer_ids, segment=self.segment, temperature=self.temperature,
                                          prompt_format=self.prompt_format)
        rest = [i for i, t in enumerate(traces) if t is None]
        if rest:
            forced = extract_batch([samples[i][1] for i in rest], [samples[i][0][0].text for i in rest], model=lm,
                                   batch_size=self.batch_size, layers=(self.layer,), segment=self.segment,
                                   temperature=self.temperature, prompt_format=self.prompt_format)
            for i, trace in zip(rest, forced):
                traces[i] = trace
        return traces

    def _fit_reference(self, traces: list[Any]) -> None:
        pooled = np.concatenate([np.asarray(t.entropy, dtype=np.float64) for t in traces]) if traces else np.zeros(0)
        pooled = pooled[np.isfinite(pooled)]
        self.forking_threshold_ = top_rho_threshold(pooled, rho=self.rho) if pooled.size else math.inf
        if any(t.n_steps for t in traces):
            self._fit_clusterer(traces)
        else:
            log.warning("probe: the first measurement has no step to fit the reference clustering on; revisits "
                        "are undefined until a measurement has steps")

    def _fit_clusterer(self, traces: list[Any]) -> None:
        from reasongraph.graph.cluster.estimator import fit_clusterer

        self.clusterer_ = fit_clusterer([t for t in traces if t.n_steps], k=self.k)

    def _row(self, p: Any, k: int, s: Any, text: str) -> dict:
        answer = None if self.answers_ is None else self.answers_[p.index]
        return {"id": f"{p.id}/s{k}", "prompt_id": p.id, "sample": k, "text": text, "n_tokens": len(s.token_ids),
                "finish_reason": s.finish_reason, "correct": None if answer is None else is_correct(text, answer)}

    def _trace_metrics(self, trace: Any) -> dict:
        from reasongraph.analysis.one_trace import analyze_trace

        walk: list[int] | None = None
        graph = {"n_steps": trace.n_steps, "n_revisits": 0, "revisits_per_step": math.nan, "loop_exists": False}
        if self.clusterer_ is not None:
            walk = []
            if trace.n_steps:
                an = analyze_trace(trace, self.clusterer_, n_shifts=0, rho=self.rho)
                graph = {key: type(value)(an.metrics[key]) for key, value in graph.items()}
                walk = an.labels.tolist()
        h = np.asarray(trace.entropy, dtype=np.float64)
        h = h[np.isfinite(h)]
        X = trace.hidden[trace.layers[0]]
        return {"mean_entropy": float(h.mean()) if h.size else math.nan,
                "low_entropy_share": float(np.mean(h < LOW_ENTROPY)) if h.size else math.nan,
                "forking_share_ref": float(np.mean(h >= self.forking_threshold_)) if h.size else math.nan,
                "erank_window": erank_window(X, window=self.window),
                "erv": erank_dynamics(X, stride=self.stride)[0],
                **graph, **logprob_sums(trace.logprob), "walk": walk, "scored": True}


def as_probe(probe: Any, **probe_options: Any) -> ExplorationProbe:
    """``probe`` itself when it is an :class:`ExplorationProbe` (then no ``probe_options``), else the probe of the
    prompts ``probe`` with ``probe_options``."""
    if not isinstance(probe, ExplorationProbe):
        return ExplorationProbe(probe, **probe_options)
    if probe_options:
        raise InputError(f"options {', '.join(sorted(probe_options))} belong to the probe: give them to "
                         "ExplorationProbe, or pass the prompts instead of a probe")
    return probe
