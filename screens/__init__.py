"""Textual screens of the interactive wizard. Thin: they show a step and return a result."""
