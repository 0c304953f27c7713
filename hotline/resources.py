"""Locate the data folders shipped with the distribution (forms/, keymaps/).

In a wheel they live under ``hotline/_shipped``; in an editable install or a source
checkout they are the top-level folders beside the packages.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """Return the folder holding the shipped ``name`` data (``forms`` or ``keymaps``)."""
    for candidate in (_PACKAGE_DIR / "_shipped" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped data folder {name!r} is missing from this installation")
