"""Plotly figures built from tables and arrays; no file is written here."""

from topics.visualize.common import CannotDraw, display_names, escape, topic_colour
from topics.visualize.drift import drift_bars
from topics.visualize.distribution import confusion_heatmap, over_time_note, topics_over_time, topics_per_class
from topics.visualize.document_map import display_sample, document_map
from topics.visualize.topic_views import hierarchy, intertopic_map, similarity_heatmap, term_bars

__all__ = [
    "CannotDraw", "confusion_heatmap", "display_names", "display_sample", "document_map", "drift_bars", "escape", "hierarchy",
    "intertopic_map", "over_time_note", "similarity_heatmap", "term_bars", "topic_colour", "topics_over_time", "topics_per_class",
]
