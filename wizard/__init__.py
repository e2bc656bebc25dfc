"""dhcp-wizard core: everything that is not the terminal UI.

Nothing in this package imports textual or rich; tests/test_layering.py keeps it so.
"""

__version__ = "0.1.0"
