"""The numbers of a locus run as plain values: :class:`LocusData` (per text and per sampled token, what the passes
measured) and :func:`summarize_scope`, one scope's summary (all texts, or one group's) as a JSON-able dict.

A scope's dict, the unit of ``locus.json``, the report and the command's table::

    name, n_texts, n_tokens (predicted tokens), n_sampled (sampled tokens of the lens and the similarities)
    summary   the headline numbers (keys in reasongraph.analysis.catalogue, level "locus")
    layers    per lens layer: layer, H_A, H_B, lens_ratio (+ _ci_low, _ci_high, _p, _p_holm), H_B_a_head,
              lens_ratio_a_head (+ the same), cka, procrustes, knn_overlap, spectral_entropy_A, spectral_entropy_B
    splits    per patch layer: layer, E_AB, E_BA, late_share (+ _ci_low, _ci_high)
    temperature   the temperature fit; text   where in the text the drop lies (with its entropy buckets)
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from reasongraph.core.options import CI, N_BOOT, SEED
from reasongraph.train.locus.depth_profile import lens_profile, locus_layer
from reasongraph.train.locus.patching import patch_profile
from reasongraph.train.locus.where_in_text import text_profile

__all__ = ["LocusData", "summarize_scope"]


@dataclass
class LocusData:
    """What the passes of one run measured.

    Attributes
    ----------
    n_layers : L. lens_layers, patch_layers : the layers of the lens and of the patching.
    sample_text : (m,) the text of each sampled token.
    lens_a, lens_b, lens_a_on_b : (n_lens_layers, m) entropies of A's head on A's trunk, B's head on B's trunk,
        A's head on B's trunk, at the sampled tokens.
    own_a, own_b : per text, the (n_i,) entropies of A and of B at every predicted token.
    patch_ab, patch_ba : (n_patch_layers, n_texts) sums over predicted tokens of the entropy with A up to l then
        B, and B up to l then A.
    onsets : per text, the predicted-token indices at which a step begins.
    """

    n_layers: int
    lens_layers: list[int]
    patch_layers: list[int]
    sample_text: np.ndarray
    lens_a: np.ndarray
    lens_b: np.ndarray
    lens_a_on_b: np.ndarray
    own_a: list[np.ndarray]
    own_b: list[np.ndarray]
    patch_ab: np.ndarray
    patch_ba: np.ndarray
    onsets: list[np.ndarray]

    def sample_rows(self, texts: np.ndarray) -> np.ndarray:
        """Indices of the sampled tokens that belong to ``texts``."""
        return np.flatnonzero(np.isin(self.sample_text, texts))


def _per_text(values: np.ndarray, text_of: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """(n_layers, len(texts)) sums of ``values`` (n_layers, m) over each text's sampled tokens."""
    pos = {int(t): k for k, t in enumerate(texts)}
    col = np.array([pos[int(t)] for t in text_of], dtype=np.int64)
    out = np.zeros((values.shape[0], len(texts)))
    for k, row in enumerate(values):
        out[k] = np.bincount(col, weights=row, minlength=len(texts))
    return out


def _suffixed(prefix: str, profile: Mapping[str, list]) -> dict[str, list]:
    return {prefix: profile["ratio"], f"{prefix}_ci_low": profile["ci_low"], f"{prefix}_ci_high": profile["ci_high"],
            f"{prefix}_p": profile["p"], f"{prefix}_p_holm": profile["p_holm"]}


def summarize_scope(data: LocusData, texts: np.ndarray, *, name: str, similarity: Mapping[str, list],
                    temperature: Mapping, n_boot: int = N_BOOT.default, ci: float = CI.default,
                    seed: int = SEED.default) -> dict:
    """One scope's summary (see the module docstring) over the texts ``texts`` (indices into the data).

    ``similarity`` holds the per-layer lists cka, procrustes, knn_overlap, spectral_entropy_A and
    spectral_entropy_B, and ``temperature`` the fit, both computed on this scope's sampled tokens by the caller.
    """
    texts = np.unique(np.asarray(texts, dtype=np.int64))  # sorted: searchsorted below
    rows = data.sample_rows(texts)
    text_of = data.sample_text[rows]
    counts = np.bincount(np.searchsorted(texts, text_of), minlength=len(texts)).astype(np.float64)
    sums = {k: _per_text(getattr(data, k)[:, rows], text_of, texts) for k in ("lens_a", "lens_b", "lens_a_on_b")}
    boot = {"n_boot": n_boot, "ci": ci, "seed": seed}
    own = lens_profile(sums["lens_a"], sums["lens_b"], counts, **boot)
    a_head = lens_profile(sums["lens_a"], sums["lens_a_on_b"], counts, **boot)
    n_pred = np.array([data.own_a[i].size for i in texts], dtype=np.float64)
    patch = patch_profile(data.patch_layers, np.array([data.own_a[i].sum() for i in texts]),
                          np.array([data.own_b[i].sum() for i in texts]), data.patch_ab[:, texts],
                          data.patch_ba[:, texts], n_pred, **boot)
    text = text_profile([data.own_a[i] for i in texts], [data.own_b[i] for i in texts],
                        [data.onsets[i] for i in texts], **boot)
    layers = {"layer": list(data.lens_layers), "H_A": own["A"], "H_B": own["B"], **_suffixed("lens_ratio", own),
              "H_B_a_head": a_head["B"], **_suffixed("lens_ratio_a_head", a_head), **dict(similarity)}
    splits = {"layer": patch["layers"], "E_AB": patch["E_AB"], "E_BA": patch["E_BA"],
              "late_share": patch["late_share"], "late_share_ci_low": patch["ci_low"],
              "late_share_ci_high": patch["ci_high"]}
    summary = {
        "E_AA": patch["E_AA"], "E_BB": patch["E_BB"], "drop": patch["D"], "drop_ci_low": patch["D_ci"][0],
        "drop_ci_high": patch["D_ci"][1], "locus_layer": locus_layer(data.lens_layers, a_head["ratio"]),
        "locus_layer_own_head": locus_layer(data.lens_layers, own["ratio"]),
        "head_only_share": patch["head_only_share"], "head_only_share_ci_low": patch["head_only_ci"][0],
        "head_only_share_ci_high": patch["head_only_ci"][1], "trunk_share": patch["trunk_share"],
        "half_drop_layer": patch["half_drop_layer"], "t_star": temperature.get("t_star", math.nan),
        "t_share_explained": temperature.get("share_explained", math.nan),
        "top20_drop_share": text["top20_drop_share"], "top20_drop_share_ci_low": text["top20_drop_share_ci"][0],
        "top20_drop_share_ci_high": text["top20_drop_share_ci"][1], "top20_overlap": text["top20_overlap"],
        "top20_overlap_ci_low": text["top20_overlap_ci"][0], "top20_overlap_ci_high": text["top20_overlap_ci"][1],
        "onset_drop_gap": text["onset_minus_other"], "onset_drop_gap_ci_low": text["onset_minus_other_ci"][0],
        "onset_drop_gap_ci_high": text["onset_minus_other_ci"][1]}
    return {"name": name, "n_texts": int(len(texts)), "n_tokens": int(n_pred.sum()), "n_sampled": int(rows.size),
            "summary": summary, "layers": layers, "splits": splits, "temperature": dict(temperature), "text": text}
