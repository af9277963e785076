"""Where and why entropy collapses between two checkpoints of one model: ``reasongraph locus``.

Two checkpoints A (base) and B (trained) of one architecture and tokenizer read the same token sequences. The
modules here answer, each with one concept (science.md, "Why it collapses at the token level: the locus"):

- :mod:`~reasongraph.locate.similarity`: linear CKA, the Procrustes residual, k-NN overlap, spectral entropy;
- :mod:`~reasongraph.locate.depth`: the logit-lens profile over layers, its ratios, CIs and the locus;
- :mod:`~reasongraph.locate.patching`: residual patching and the Shapley late share;
- :mod:`~reasongraph.locate.temperature`: the single temperature on A that best mimics B;
- :mod:`~reasongraph.locate.where`: where in the text the drop lies (entropy percentiles, forking tokens, onsets);
- :mod:`~reasongraph.locate.result`: the per-text numbers of a run and their summary as plain JSON values;
- :mod:`~reasongraph.locate.store`: layer states on disk, so two models never share memory;
- :mod:`~reasongraph.locate.capture` and :mod:`~reasongraph.locate.head`: the model-running parts (hooks on the
  blocks before the final norm, patched forward passes, the head applied in vocabulary tiles);
- :mod:`~reasongraph.locate.passes`: one model's passes over the texts; :mod:`~reasongraph.locate.inputs`: the
  texts; :mod:`~reasongraph.locate.run`: :func:`locus`, the whole run, one model in memory at a time.

The package is not named ``locus`` because importing a submodule binds its name in the parent package, which
would hide the function ``reasongraph.locus``.
"""
