"""The architecture is the direction of imports: the core packages never load Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["hotline", "offline_cache", "hotline_server"])
def test_core_package_does_not_load_textual(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    if '.migrations' in info.name: continue\n"
        "    importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'agent_tui'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{package} pulled in {out.stdout.strip()}"


def test_domain_does_not_load_io_packages() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import hotline\n"
        "for info in pkgutil.walk_packages(hotline.__path__, 'hotline.'):\n"
        "    importlib.import_module(info.name)\n"
        "bad = {'sqlalchemy', 'httpx', 'fastapi', 'offline_cache', 'hotline_server'}\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
