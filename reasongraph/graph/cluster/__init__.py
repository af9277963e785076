"""Step vectors -> node labels: the clustering that turns a trace into a walk over hidden-state clusters.

The Topology of Reasoning paper fits ``KMeans(n_clusters=200, n_init=10, random_state=0)`` once over the raw
float32 step vectors of all samples of one (model, dataset, layer) and labels every sample's steps with it.
:class:`StepClusterer` does that (``algorithm="exact"``), a much faster KMeans whose inertia matches or beats it
on dataset-scale fits (``algorithm="fast"``, see :mod:`.kmeans`), and HDBSCAN with an explicit policy for noise
steps (:mod:`.density`); an optional PCA or UMAP reduction runs first (:mod:`.reduction`). A fitted clusterer
saves to one ``.npz`` file (arrays + a JSON header, never pickle; :mod:`.saved`) and labels new traces with
:meth:`StepClusterer.label_trace`.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "apply_noise": "reasongraph.graph.cluster.density",
    "check_clusterer": "reasongraph.graph.cluster.estimator",
    "check_matrix": "reasongraph.graph.cluster.inputs",
    "check_params": "reasongraph.graph.cluster.inputs",
    "check_width": "reasongraph.graph.cluster.inputs",
    "clamp": "reasongraph.graph.cluster.inputs",
    "cluster_centers": "reasongraph.graph.cluster.density",
    "clustered_inertia": "reasongraph.graph.cluster.density",
    "EXACT_MAX_STEPS": "reasongraph.graph.cluster.kmeans",
    "fast_kmeans": "reasongraph.graph.cluster.kmeans",
    "fit_clusterer": "reasongraph.graph.cluster.estimator",
    "fit_pca": "reasongraph.graph.cluster.reduction",
    "fit_umap": "reasongraph.graph.cluster.reduction",
    "is_int": "reasongraph.graph.cluster.inputs",
    "k_for_steps": "reasongraph.graph.cluster.kmeans",
    "kmeans_centers": "reasongraph.graph.cluster.kmeans",
    "load_clusterer": "reasongraph.graph.cluster.estimator",
    "nearest": "reasongraph.graph.cluster.kmeans",
    "PAPER_K": "reasongraph.graph.cluster.kmeans",
    "parse_reduce": "reasongraph.graph.cluster.reduction",
    "predict_raw": "reasongraph.graph.cluster.density",
    "read_clusterer": "reasongraph.graph.cluster.saved",
    "resolve_algorithm": "reasongraph.graph.cluster.kmeans",
    "resolve_layer": "reasongraph.graph.cluster.inputs",
    "restore": "reasongraph.graph.cluster.saved",
    "run_hdbscan": "reasongraph.graph.cluster.density",
    "save_clusterer": "reasongraph.graph.cluster.saved",
    "stack_steps": "reasongraph.graph.cluster.inputs",
    "StepClusterer": "reasongraph.graph.cluster.estimator",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
