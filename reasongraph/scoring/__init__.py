"""The parts of batch scoring (:func:`reasongraph.score_dataset` in :mod:`reasongraph.dataset`): the checked
options (:mod:`.options`), which model scores which record (:mod:`.plan`) and pass 1, extraction (:mod:`.pass1`)."""
