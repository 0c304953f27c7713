"""``agent-tui`` as a user starts it, up to ``App.run()``, with keyring choosing its backend.

Not in the table (no baseline; ``python -m benchmarks.cli_keyring [--rounds N] [--backend
NAME] [--root TREE ...]``). ``bench_start``'s new-process row runs its own child, which never
goes through ``agent_tui.cli`` and sets ``PYTHON_KEYRING_BACKEND`` (the test suite's file
keyring), so it cannot see what most users pay: with no backend named in the environment or
in keyring's config file, keyring's first ``get_keyring()`` loads every backend it can find
(entry points of all installed distributions, then each backend's imports and its check
that it works), and ``agent-tui`` asked for it before opening the desk.

Each round is a new process of ``agent_tui.cli.main`` with no arguments (the desk) in a
throw-away home (no config, no keyring config file) whose ``build_app`` is replaced, once
``agent_tui.app`` is imported, by a stub whose ``run()`` prints the process's CPU time: what
runs before the desk's first line of Textual. Wall time is taken by this process from spawn
to that line. Several ``--root`` trees (say a ``git archive`` of the base and this checkout)
are run in turn, round by round, each with its own ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import common

CHILD = r"""
import importlib.abc, importlib.util, sys, time

class StubRun(importlib.abc.MetaPathFinder):
    done = False  # stays in sys.meta_path: removing it while a thread walks it skips a finder

    def find_spec(self, name, path, target=None):
        if name != "agent_tui.app" or self.done:
            return None
        self.done = True
        spec = importlib.util.find_spec(name)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)

            class Stub:
                def run(self):
                    print("RUN", time.process_time(), flush=True)

            module.build_app = lambda settings, **kwargs: Stub()

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, StubRun())
from agent_tui.cli import main
main(args=[], standalone_mode=False)
"""


def one(root: Path, env: dict[str, str]) -> tuple[float, float]:
    """Seconds from spawn to ``run()``, and the child's CPU seconds at that point."""
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},
    )
    elapsed = time.perf_counter() - t
    if not proc.stdout.startswith("RUN"):
        raise RuntimeError(f"no desk from {root}: {proc.stderr[-2000:]}")
    return elapsed, float(proc.stdout.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--backend", help="PYTHON_KEYRING_BACKEND (default: none, as users)")
    parser.add_argument("--root", action="append", type=Path)
    args = parser.parse_args()
    roots: list[Path] = args.root or [common.ROOT]
    home = Path(tempfile.mkdtemp(prefix="bench-cli-keyring-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    for sub in ("config", "data", "state", "cache"):
        (home / sub).mkdir()
    env.update(
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
        AGENT_TUI_HOME=str(home),
    )
    if args.backend:
        env["PYTHON_KEYRING_BACKEND"] = args.backend
    for root in roots:
        one(root, env)  # warm: the file cache
    runs: dict[str, list[tuple[float, float, str]]] = {str(r): [] for r in roots}
    for _ in range(args.rounds):
        for root in roots:
            load = Path("/proc/loadavg").read_text().split()[0]
            wall, cpu = one(root, env)
            runs[str(root)].append((wall, cpu, load))
    out: dict[str, Any] = {}
    for name, got in runs.items():
        out[name] = {
            "wall_ms": common.summary([w for w, _, _ in got]),
            "cpu_ms": common.summary([c for _, c, _ in got]),
            "load": [x for _, _, x in got],
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
