"""Extraction in this process: a model loaded and checked, a chunk extracted and cached."""
from __future__ import annotations

import warnings
from typing import Any, Callable

from reasongraph.runs.scoring.model_plan import ModelPlan

__all__ = ["extract_chunk", "load_checked"]


def load_checked(plan: ModelPlan, unit: str, clusterer: Any = None) -> Any:
    """Load the model of ``unit`` and check that reasongraph can read it (and that a saved clusterer fits its
    hidden size): a model that cannot be scored fails the run at once, not as one error per record."""
    from reasongraph.models.head_entropy import check_head

    from reasongraph.graph.cluster.inputs import check_width

    lm = plan.load(unit)
    check_head(lm)
    check_width("clusterer", clusterer, lm.hidden_size, f"the model {unit}")
    return lm


def extract_chunk(lm: Any, texts: list[str], prompts: list[str | None], options: dict, *,
                  batch_size: int | None, skip: list[bool], exclude: list[bool] | None = None,
                  on_pass: Callable[[list[int], list[int]], None] | None = None) -> tuple[dict[int, Any], dict[int, Exception]]:
    """Extract one chunk of records (their texts and prompts) with one extract_batch call, as every engine does;
    if the call fails, each record not skipped alone, so the bad ones are found and the rest scored. Records
    marked in ``exclude`` (cached while they were sampled, :meth:`Pass1.sampled`) are left out of the batch.

    ``options`` are a trace cache's options (:meth:`ScoringOptions.cache_options`). Returns ({position: lean
    trace} of the records not skipped, {position: exception} of those that failed alone). The traces are lean:
    the cache keeps what the passes need (step vectors and hidden-state summaries per layer, and with
    ``prefix_tokens`` the first layer's first hidden states), not every token's hidden state unless asked, so the
    analyses come out the same and the cache a thousand times smaller. ``on_pass(positions, tokens)``: called as
    each forward pass of the batch ends, with the positions (in ``texts``) of its records not skipped and their
    token counts: progress inside the batch.
    """
    from reasongraph.trace.extraction.teacher_forced import extract, extract_batch

    kwargs = {k: v for k, v in options.items() if k not in ("keep_hidden", "prefix_tokens")}
    batch = [i for i in range(len(texts)) if not (exclude and exclude[i])]
    traces: dict[int, Any] = {}
    errors: dict[int, Exception] = {}

    def passed(indices: list[int], tokens: list[int]) -> None:
        fresh = [(batch[j], n) for j, n in zip(indices, tokens) if not skip[batch[j]]]
        if on_pass is not None and fresh:
            on_pass([i for i, _ in fresh], [n for _, n in fresh])
    with warnings.catch_warnings():
        # truncation is reported once per record (note_extracted), by line and id, not by position in the batch
        warnings.filterwarnings("ignore", message=".*dropped the last", category=UserWarning)
        try:
            traces = dict(zip(batch, extract_batch([texts[i] for i in batch], [prompts[i] for i in batch], model=lm,
                                                   batch_size=batch_size, on_pass=passed, **kwargs)))
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception:  # noqa: BLE001 - one bad record must not sink the batch: retry one at a time
            for i in batch:
                text, prompt = texts[i], prompts[i]
                if skip[i]:
                    continue  # accounted for already: only the others need isolating
                try:
                    traces[i] = extract(text, prompt, model=lm, **kwargs)
                except KeyboardInterrupt:
                    raise
                except Exception as e:  # noqa: BLE001
                    errors[i] = e
    return {i: t.lean(keep_hidden=options["keep_hidden"], prefix_tokens=options.get("prefix_tokens", 0))
            for i, t in traces.items() if not skip[i]}, errors
