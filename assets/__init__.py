"""Data shipped with dhcp-wizard: Textual styles, report templates, lab templates."""

from importlib import resources
from pathlib import Path


def asset_path(*parts: str) -> Path:
    """Filesystem path of a shipped asset (the package is installed unzipped)."""
    return Path(str(resources.files(__name__).joinpath(*parts)))


def asset_text(*parts: str) -> str:
    return asset_path(*parts).read_text("utf-8")
