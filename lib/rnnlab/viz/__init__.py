"""Figures: pure functions returning ``plotly.graph_objects.Figure``, plus thin ipywidgets wrappers."""
