"""One call from a trace to everything reasongraph knows about it: :func:`analyze` and :class:`Analysis`.

The stages are plain values passed one way: Trace -> step labels (clustering) -> ReasoningGraph -> signals
(token entropy, forking tokens, aha markers, effective rank) -> alignment of revisits with entropy spikes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from reasongraph.analysis.alignment.alignment import Alignment
from reasongraph.analysis.metrics.context import TraceContext
from reasongraph.analysis.metrics.registry import BUILT_IN, compute_metrics, metric_families, per_layer_keys
from reasongraph.analysis.metrics.topology import graph_metrics  # noqa: F401 - public here (reasongraph.analysis)
from reasongraph.analysis.options import AnalysisOptions
from reasongraph.analysis.result import Analysis
from reasongraph.core.checks import check_int
from reasongraph.core.errors import InputError, opt
from reasongraph.core.options import given_or_keywords, split_keywords
from reasongraph.core.storage import read_json
from reasongraph.trace.extraction.teacher_forced import extract as extract_trace, resolve_model
from reasongraph.trace.markers import Marker
from reasongraph.trace.options import ExtractOptions
from reasongraph.trace.trace import Trace


#: analyze_trace's own keywords that analyze passes on (the step labels, the layer of the step vectors).
_TRACE_KEYWORDS = ("labels", "layer")


def analyze(text: str, prompt: str | None = None, *, model: Any = None, clusterer: Any = None,
            extract: ExtractOptions | None = None, options: AnalysisOptions | None = None,
            **keywords: Any) -> Analysis:
    """Extract a trace with ``model`` and analyze it (see :func:`analyze_trace`).

    ``extract`` (an :class:`~reasongraph.trace.options.ExtractOptions`) or its keywords (layers, segment,
    temperature, prompt_format, truncate) go to :func:`~reasongraph.trace.extraction.teacher_forced.extract`;
    ``options`` (an :class:`~reasongraph.analysis.options.AnalysisOptions`) or its keywords (k, rho,
    forking_threshold, rule, onset_tokens, lookback, n_shifts, seed, markers, length_bound) to
    :func:`analyze_trace`. Every option is checked before the model runs, and a ``clusterer`` (fitted, or the path
    of a saved one) against the model's hidden size before its forward pass.
    """
    extract_keywords, analysis_keywords = split_keywords(keywords, ExtractOptions, AnalysisOptions, where="analyze",
                                                         extra=_TRACE_KEYWORDS)
    extract = given_or_keywords(ExtractOptions, extract, extract_keywords, "extract")
    options = given_or_keywords(AnalysisOptions, options, analysis_keywords, "options")
    if not extract.layers:
        raise InputError(f"{opt('layers')} must name at least one layer: the first gives the step vectors")
    if clusterer is not None:
        from reasongraph.graph.cluster.estimator import check_clusterer
        from reasongraph.graph.cluster.inputs import check_width

        clusterer = check_clusterer("clusterer", clusterer)
    lm = resolve_model(model)
    if clusterer is not None:
        check_width("clusterer", clusterer, lm.hidden_size, f"the model {lm.name}")
    trace = extract_trace(text, prompt, model=lm, **{n: getattr(extract, n) for n in extract.names()})
    passed_on = {k: keywords[k] for k in _TRACE_KEYWORDS if k in keywords}
    return analyze_trace(trace, clusterer, options=options, **passed_on)


def check_analysis_options(**options: Any) -> None:
    """Raise InputError for the first option of :func:`analyze_trace` out of range (TypeError for an unknown one):
    :meth:`AnalysisOptions.checked`."""
    AnalysisOptions.checked(**options)


def analyze_trace(trace: Trace, clusterer: Any = None, *, labels: Sequence[int] | None = None,
                  layer: int | None = None, options: AnalysisOptions | None = None, **keywords: Any) -> Analysis:
    """Analyze an extracted trace.

    Parameters
    ----------
    trace : from :func:`~reasongraph.trace.extraction.teacher_forced.extract`.
    clusterer : a fitted clusterer (dataset level, as the paper) whose ``label_trace`` names each step's node;
        None clusters this trace alone with KMeans and K from :func:`~reasongraph.graph.cluster.kmeans.k_for_steps`.
    labels : step labels computed elsewhere (overrides ``clusterer``).
    layer : which captured layer gives the step vectors (default: the first captured).
    options : an :class:`~reasongraph.analysis.options.AnalysisOptions`, or its keywords:
    k : K for the single-trace KMeans (default: the step-count rule).
    rho, forking_threshold : forking tokens are the top ``rho`` share by entropy, or those above
        ``forking_threshold`` (nats).
    rule, onset_tokens, lookback : when a step has an entropy spike (see
        :func:`reasongraph.analysis.alignment.align`): "onset"
        (default) when the largest entropy over its first ``onset_tokens`` tokens and the ``lookback`` before them
        is a forking one; "span" when any of its tokens (or the ``lookback`` before) is.
    n_shifts, seed : circular shifts of the span rule's permutation p-value, and the seed of it and the KMeans.
    markers : regular expressions of aha markers (default :data:`~reasongraph.trace.markers.AHA_MARKERS`).
    length_bound : the longest cycle (in nodes) counted by ``cycles_upto_k``.
    """
    from threadpoolctl import threadpool_limits

    (analysis_keywords,) = split_keywords(keywords, AnalysisOptions, where="analyze_trace")
    checked = given_or_keywords(AnalysisOptions, options, analysis_keywords, "options")
    layer, clusterer, labels = _check_inputs(trace, clusterer, labels, layer)
    # One BLAS thread: the per-trace linear algebra is small, and OpenBLAS threads spinning against torch's idle
    # OpenMP pool after a forward pass made it up to 40x slower on a 2-core machine.
    with threadpool_limits(1, user_api="blas"):
        return _analyze_trace(trace, clusterer, labels, layer, checked.k, checked.params())


def _check_inputs(trace: Any, clusterer: Any, labels: Any, layer: Any) -> tuple[int, Any, np.ndarray | None]:
    """The layer of the step vectors, the clusterer (loaded when given as a path) and the labels, checked against
    the trace: each problem is an InputError naming the parameter."""
    if not isinstance(trace, Trace):
        raise InputError(f"{opt('trace')} must be a Trace (from extract or Trace.load), got {type(trace).__name__}")
    if layer is None:
        if not trace.layers:
            raise InputError(f"{opt('trace')} holds no hidden states (extracted with layers=()); extract it with at "
                             "least one layer")
        layer = trace.layers[0]
    elif check_int("layer", layer) not in trace.layers:
        raise InputError(f"{opt('layer')} {layer} was not captured: the trace holds layers {list(trace.layers)}")
    if labels is not None:
        return layer, None, _check_labels(labels, trace.n_steps)
    if clusterer is not None:
        from reasongraph.graph.cluster.estimator import check_clusterer
        from reasongraph.graph.cluster.inputs import check_width

        clusterer = check_clusterer("clusterer", clusterer)
        used = next((v for v in (getattr(clusterer, "layer_", None), getattr(clusterer, "layer", None), layer)
                     if v is not None))
        if used not in trace.layers:
            raise InputError(f"{opt('clusterer')} labels the steps of layer {used}, which the trace does not hold "
                             f"(it holds {list(trace.layers)})")
        check_width("clusterer", clusterer, trace.width(used),
                    f"the trace (model {trace.model_name or '?'}, layer {used})")
    return layer, clusterer, None


def _check_labels(labels: Any, n_steps: int) -> np.ndarray:
    try:
        arr = np.asarray(labels)
    except (TypeError, ValueError) as e:
        raise InputError(f"{opt('labels')} must be a sequence of whole numbers ({e})") from None
    if arr.shape != (n_steps,) or arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"{opt('labels')} must hold one whole-number cluster id per step ({n_steps} steps), got "
                         f"shape {arr.shape} and dtype {arr.dtype}")
    return arr.astype(np.int64)


def _analyze_trace(trace: Trace, clusterer: Any, labels: np.ndarray | None, layer: int, k: int | None,
                   options: dict) -> Analysis:
    if labels is None:
        labels, cluster_params = _label_steps(trace, clusterer, layer, k, options["seed"])
    else:
        cluster_params = {"cluster_method": "given"}
    ctx = TraceContext(trace, labels, layer, options)
    metrics = {**compute_metrics(ctx), **cluster_params}
    erank_curve = tuple(np.asarray(v, dtype=np.float64) for v in ctx.hidden["erank_curve"])
    params = {"layer": layer, **options, **cluster_params}
    events = _events(trace, ctx.revisits, ctx.forking, ctx.markers, ctx.alignment)
    return Analysis(trace, labels, ctx.graph, ctx.alignment, ctx.markers, ctx.forking, erank_curve, metrics, events,
                    params)


def _label_steps(trace: Trace, clusterer: Any, layer: int, k: int | None, seed: int) -> tuple[np.ndarray, dict]:
    """Step labels from a fitted clusterer, or from KMeans on this trace alone."""
    from reasongraph.graph.cluster.estimator import StepClusterer
    from reasongraph.graph.cluster.kmeans import k_for_steps

    if clusterer is None:
        vectors = trace.step_vectors(layer)
        if len(vectors) < 2:
            return np.zeros(len(vectors), dtype=np.int64), {"cluster_method": "none", "cluster_k": len(vectors)}
        clusterer = StepClusterer(method="kmeans", k=k or k_for_steps(len(vectors)), random_state=seed)
        labels = clusterer.fit_predict(vectors)
    else:
        labels = clusterer.label_trace(trace)
    return labels, {f"cluster_{key}": value for key, value in clusterer.describe().items()}


#: What the layer columns of the built-in metrics report for each layer beyond the first (rows get them as
#: "<name>@<layer spec>"): the built-in families' ``per_layer`` keys.
LAYER_COLUMN_METRICS = per_layer_keys(BUILT_IN)


def layer_metrics(trace: Trace, labels: Sequence[int], layer: int, *,
                  length_bound: int = AnalysisOptions.length_bound) -> dict:
    """The per-layer metrics (every family's ``per_layer`` keys, registered ones included) of one more layer of a
    trace whose steps at that layer were labeled ``labels``."""
    families = [f for f in metric_families() if f.per_layer]
    metrics = compute_metrics(TraceContext(trace, labels, layer, {"length_bound": length_bound}), families=families)
    return {k: metrics[k] for k in per_layer_keys(families)}


def _events(trace: Trace, revisits: list, forking: np.ndarray, markers: list[Marker],
            alignment: Alignment) -> dict:
    revisit_dicts = [{**r.as_dict(), "text": trace.steps[r.step].text} for r in revisits]
    hidden_only = set(alignment.hidden_only.tolist())
    return {
        "revisits": revisit_dicts,
        "hidden_only": [r for r in revisit_dicts if r["step"] in hidden_only],
        "token_only": [{"step": int(s), "text": trace.steps[s].text} for s in alignment.token_only],
        "spikes": np.flatnonzero(forking).tolist(),
        "markers": [{"start_char": m.start_char, "end_char": m.end_char, "text": m.text} for m in markers],
    }


def load_analysis(directory: str | Path) -> Analysis:
    """Rebuild an :class:`Analysis` written by :meth:`Analysis.save` (same labels and parameters; no model)."""
    directory = Path(directory)
    path = directory / "analysis.json"
    saved = read_json(path, what="saved analysis")
    if not isinstance(saved, dict) or not {"params", "labels"} <= set(saved) or not isinstance(saved["params"], dict) \
            or "layer" not in saved["params"]:
        raise InputError(f"{path}: not a saved reasongraph analysis (no params with a layer, or no labels)")
    p = saved["params"]
    options = {k: p[k] for k in AnalysisOptions.names() if k != "k" and k in p}
    trace = Trace.load(directory / "trace.npz")
    try:
        analysis = analyze_trace(trace, labels=saved["labels"], layer=p["layer"], **options)
    except InputError as e:  # the saved parameters, not the caller's: name the file
        raise InputError(f"{path}: the saved analysis does not fit its trace.npz ({e.template})") from None
    cluster_params = {k: v for k, v in p.items() if k.startswith("cluster_")}
    analysis.params.update(cluster_params)  # how the saved labels were made, not "given"
    analysis.metrics.update(cluster_params)
    return analysis
