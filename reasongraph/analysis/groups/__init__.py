"""Groups of traces: per-group summaries, alignment pooled over traces, paired comparisons between groups and
the level-collapse table.
"""
from reasongraph.core.lazy_names import lazy_names

_EXPORTS = {
    "caveat_notes": "reasongraph.analysis.groups.caveats",
    "collapse_table": "reasongraph.analysis.groups.level_collapse",
    "CollapseRow": "reasongraph.analysis.groups.level_collapse",
    "COLLAPSES": "reasongraph.analysis.groups.level_collapse",
    "CollapseTable": "reasongraph.analysis.groups.level_collapse",
    "column": "reasongraph.analysis.groups.per_group",
    "compare_groups": "reasongraph.analysis.groups.comparison",
    "Comparison": "reasongraph.analysis.groups.comparison",
    "comparison_mode": "reasongraph.analysis.groups.comparison",
    "detection": "reasongraph.analysis.groups.per_group",
    "FEWER_THAN_2": "reasongraph.analysis.groups.per_group",
    "finite": "reasongraph.analysis.groups.level_collapse_pairs",
    "group_of": "reasongraph.analysis.groups.per_group",
    "group_prompt_rows": "reasongraph.analysis.groups.level_collapse_pairs",
    "group_rows": "reasongraph.analysis.groups.level_collapse_pairs",
    "ID_KEYS": "reasongraph.analysis.groups.per_group",
    "layer_table": "reasongraph.analysis.groups.per_group",
    "left_out_note": "reasongraph.analysis.groups.level_collapse_pairs",
    "MEASURES": "reasongraph.analysis.groups.level_collapse",
    "MetricComparison": "reasongraph.analysis.groups.comparison",
    "MetricSummary": "reasongraph.analysis.groups.per_group",
    "numeric": "reasongraph.analysis.groups.per_group",
    "numeric_metrics": "reasongraph.analysis.groups.per_group",
    "ON_POLICY": "reasongraph.analysis.groups.per_group",
    "pair_columns": "reasongraph.analysis.groups.level_collapse_pairs",
    "pair_means": "reasongraph.analysis.groups.per_group",
    "pool_alignment": "reasongraph.analysis.groups.pooled_alignment",
    "PROMPT_MEASURES": "reasongraph.analysis.groups.level_collapse_pairs",
    "RENAMED": "reasongraph.analysis.groups.level_collapse",
    "spike_rate": "reasongraph.analysis.groups.pooled_alignment",
    "summarize": "reasongraph.analysis.groups.per_group",
    "summarize_values": "reasongraph.analysis.groups.per_group",
    "TABLES": "reasongraph.analysis.groups.pooled_alignment",
    "window_note": "reasongraph.analysis.groups.level_collapse_pairs",
    "with_reference_share": "reasongraph.analysis.groups.comparison",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_names(__name__, _EXPORTS)
