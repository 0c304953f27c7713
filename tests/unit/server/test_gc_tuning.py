"""``hotline-server serve`` sets its garbage collector once before serving (``cli.tune_gc``):
start-up's objects frozen, the youngest generation collected less often. Run in a child
process: the test process keeps its own collector as it is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from hotline_server import cli
from tests.support.server import free_port, server_cli

CHILD = """
import gc, json
before = gc.get_threshold()
from hotline_server.cli import GC_YOUNG_THRESHOLD, tune_gc
class Cycle:
    pass
a, b = Cycle(), Cycle()
a.other, b.other = b, a  # garbage in a cycle, made before the collector is set
del a, b
tune_gc()
after = gc.get_threshold()
frozen = gc.get_freeze_count()
x, y = Cycle(), Cycle()
x.other, y.other = y, x
del x, y
found = gc.collect()  # cycles made later are still collected
print(json.dumps({"before": before, "after": after, "frozen": frozen, "found": found,
                  "young": GC_YOUNG_THRESHOLD}))
"""


def test_tune_gc_freezes_start_up_and_collects_the_young_less_often() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    seen: dict[str, Any] = json.loads(done.stdout)
    assert seen["before"][0] < seen["young"]
    assert seen["after"] == [seen["young"], *seen["before"][1:]]
    assert seen["frozen"] > 1000  # the imported modules' objects
    assert seen["found"] >= 2  # the later cycle: collection still works


def test_serve_tunes_the_collector_before_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = f"sqlite:///{tmp_path / 'server.db'}"
    server_cli("migrate", "--database", database)
    calls: list[str] = []
    monkeypatch.setattr(cli, "tune_gc", lambda: calls.append("tune_gc"))
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: calls.append("run"))
    result = CliRunner().invoke(
        cli.main, ["serve", "--database", database, "--port", str(free_port())]
    )
    assert calls == ["tune_gc", "run"]
    assert result.exit_code == 3  # uvicorn never started (its run was replaced)
