"""Every demo test keeps its demo's control file (and directory) in its own temp dir, so a
demo running on the machine, or another test's, is never found or overwritten."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # child processes
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # this one
    return tmp
