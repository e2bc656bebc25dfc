"""dhcp-wizard core: everything that is not the terminal UI.

Nothing in the core imports textual or rich, nor the lab: .importlinter states the layering
and scripts/test.sh checks it; tests/unit/test_cli.py imports every module to be sure.
"""

__version__ = "0.1.0"
