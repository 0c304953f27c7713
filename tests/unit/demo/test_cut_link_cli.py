"""`agent-tui demo --cut-link` finds the running demo through its control file, and a demo
that was killed (its file left behind, its process gone) is never reported as cut."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent_tui.cli import main
from agent_tui.demo import world
from agent_tui.demo.link import cut_until


@pytest.fixture
def control(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "agent-tui-demo.json"
    monkeypatch.setattr(world, "control_path", lambda: path)
    return path


def _write_state(control: Path, pid: int, link_control: Path) -> None:
    link_control.parent.mkdir(parents=True, exist_ok=True)
    control.write_text(json.dumps({"pid": pid, "link_control": str(link_control)}), "utf-8")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=60)
    return child.pid


def _cut(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--lang", "en", "demo", "--cut-link", *args])
    return result.exit_code, result.output


def test_no_demo_running_is_said(control: Path) -> None:
    code, out = _cut()
    assert code == 1
    assert "no demo is running" in out


def test_a_killed_demo_is_not_reported_as_cut(control: Path, tmp_path: Path) -> None:
    link_control = tmp_path / "demo-dir" / "link-cut-until"
    _write_state(control, _dead_pid(), link_control)
    code, out = _cut("--seconds", "5")
    assert code == 1
    assert "has stopped" in out
    assert not link_control.exists()
    assert cut_until(link_control) == 0.0


def test_a_broken_control_file_is_no_running_demo(control: Path) -> None:
    control.write_text('{"pid": "x"}', "utf-8")
    code, out = _cut()
    assert code == 1 and "no demo is running" in out


def test_a_running_demo_gets_its_link_cut_for_the_given_seconds(
    control: Path, tmp_path: Path
) -> None:
    link_control = tmp_path / "demo-dir" / "link-cut-until"
    _write_state(control, os.getpid(), link_control)
    code, out = _cut("--seconds", "45")
    assert code == 0, out
    assert "Demo link cut for 45 s" in out
    assert cut_until(link_control) > 0.0
