"""Step vectors -> node labels: the clustering that turns a trace into a walk over hidden-state clusters.

The Topology of Reasoning paper fits ``KMeans(n_clusters=200, n_init=10, random_state=0)`` once over the raw
float32 step vectors of all samples of one (model, dataset, layer) and labels every sample's steps with it.
:class:`StepClusterer` does that (``algorithm="exact"``), a much faster KMeans whose inertia matches or beats it
on dataset-scale fits (``algorithm="fast"``, see :mod:`.kmeans`), and HDBSCAN with an explicit policy for noise
steps (:mod:`.density`); an optional PCA or UMAP reduction runs first (:mod:`.reduction`). A fitted clusterer
saves to one ``.npz`` file (arrays + a JSON header, never pickle; :mod:`.io`) and labels new traces with
:meth:`StepClusterer.label_trace`.
"""
from reasongraph.cluster.estimator import StepClusterer, check_clusterer, fit_clusterer, load_clusterer
from reasongraph.cluster.validation import check_width
from reasongraph.cluster.kmeans import EXACT_MAX_STEPS, PAPER_K, k_for_steps

__all__ = ["EXACT_MAX_STEPS", "PAPER_K", "StepClusterer", "check_clusterer", "check_width", "fit_clusterer",
           "k_for_steps", "load_clusterer"]
