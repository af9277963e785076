"""Where and why entropy collapses between two checkpoints of one model: ``reasongraph locus``.

Two checkpoints A (base) and B (trained) of one architecture and tokenizer read the same token sequences. The
modules here answer, each with one concept (science.md, "Why it collapses at the token level: the locus"):

- :mod:`~reasongraph.train.locus.similarity`: linear CKA, the Procrustes residual, k-NN overlap, spectral entropy;
- :mod:`~reasongraph.train.locus.depth_profile`: the logit-lens profile over layers, its ratios, CIs and the locus;
- :mod:`~reasongraph.train.locus.patching`: residual patching and the Shapley late share;
- :mod:`~reasongraph.train.locus.temperature_fit`: the single temperature on A that best mimics B;
- :mod:`~reasongraph.train.locus.where_in_text`: where in the text the drop lies (entropy percentiles, forking
  tokens, onsets);
- :mod:`~reasongraph.train.locus.scopes`: the per-text numbers of a run and their summary as plain JSON values;
- :mod:`~reasongraph.train.locus.layer_store`: layer states on disk, so two models never share memory;
- :mod:`~reasongraph.train.locus.residuals` and :mod:`~reasongraph.train.locus.head_on_residuals`: the
  model-running parts (hooks on the blocks before the final norm, patched forward passes, the head applied in
  vocabulary tiles);
- :mod:`~reasongraph.train.locus.model_passes`: one model's passes over the texts;
  :mod:`~reasongraph.train.locus.texts`: the texts; :mod:`~reasongraph.train.locus.locus`: :func:`locus`, the
  whole run, one model in memory at a time.

The function ``locus`` is ``reasongraph.locus``; this package does not export it, because importing the submodule
:mod:`~reasongraph.train.locus.locus` binds that name in the package and would hide the function.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "BUCKETS": "reasongraph.train.locus.where_in_text",
    "capture_residuals": "reasongraph.train.locus.residuals",
    "check_pair": "reasongraph.train.locus.model_pair",
    "decoder_output": "reasongraph.train.locus.residuals",
    "describe": "reasongraph.train.locus.model_pair",
    "fit_temperature": "reasongraph.train.locus.temperature_fit",
    "footprint_mib": "reasongraph.train.locus.model_pair",
    "half_drop_layer": "reasongraph.train.locus.patching",
    "KNN_CHUNK": "reasongraph.train.locus.similarity",
    "knn_overlap": "reasongraph.train.locus.similarity",
    "late_share": "reasongraph.train.locus.patching",
    "LayerStore": "reasongraph.train.locus.layer_store",
    "lens": "reasongraph.train.locus.model_passes",
    "lens_profile": "reasongraph.train.locus.depth_profile",
    "LEVELS": "reasongraph.train.locus.temperature_fit",
    "linear_cka": "reasongraph.train.locus.similarity",
    "locus_layer": "reasongraph.train.locus.depth_profile",
    "LocusData": "reasongraph.train.locus.scopes",
    "LocusResult": "reasongraph.train.locus.locus",
    "make_plan": "reasongraph.train.locus.model_passes",
    "ModelSlot": "reasongraph.train.locus.model_pair",
    "own_pass": "reasongraph.train.locus.model_passes",
    "patch_pass": "reasongraph.train.locus.model_passes",
    "patch_profile": "reasongraph.train.locus.patching",
    "Plan": "reasongraph.train.locus.model_passes",
    "procrustes_residual": "reasongraph.train.locus.similarity",
    "RANGE": "reasongraph.train.locus.temperature_fit",
    "read_texts": "reasongraph.train.locus.texts",
    "release": "reasongraph.train.locus.model_pair",
    "residual_entropy": "reasongraph.train.locus.head_on_residuals",
    "residual_entropy_grid": "reasongraph.train.locus.head_on_residuals",
    "RHO": "reasongraph.train.locus.where_in_text",
    "similarity_profile": "reasongraph.train.locus.similarity",
    "spectral_entropy": "reasongraph.train.locus.similarity",
    "start_at": "reasongraph.train.locus.residuals",
    "strided_layers": "reasongraph.train.locus.model_passes",
    "summarize_scope": "reasongraph.train.locus.scopes",
    "text_profile": "reasongraph.train.locus.where_in_text",
    "TextItem": "reasongraph.train.locus.texts",
    "Texts": "reasongraph.train.locus.texts",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
