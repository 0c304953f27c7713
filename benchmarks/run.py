"""Run every benchmark, one after another, each in its own process, and collect the results.

    .venv/bin/python -m benchmarks.run            # the full set; writes benchmarks/RESULTS.md
    .venv/bin/python -m benchmarks.run --quick    # a short pass for shape (.results only)
    .venv/bin/python -m benchmarks.run --only save,queue
    .venv/bin/python -m benchmarks.run --from-head   # from a clean export of HEAD (recorded runs)

Each benchmark stops by itself (and is killed at its time limit if it does not); results go to
``benchmarks/.results/<stamp>/<name>.json`` with its stderr beside it, the combined run to
``benchmarks/.results/<stamp>.json`` and ``latest.json``. Sequential on purpose: the machine
has 2 cores and a figure and its baseline must see the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import common, report

# name -> time limit in seconds (full run); the quick pass uses the same limits.
BENCHES: dict[str, int] = {
    "save": 240,
    "start": 180,
    "keystroke": 300,
    "queue": 420,
    "drain": 300,
    "ingest": 300,
    "fanout": 240,
    "replay": 360,
    "memory": 240,
}


def run_one(name: str, quick: bool, outdir: Any) -> dict[str, Any]:
    out = outdir / f"{name}.json"
    log = outdir / f"{name}.log"
    cmd = [sys.executable, "-m", f"benchmarks.bench_{name}", "--out", str(out)]
    if quick:
        cmd.append("--quick")
    started = time.perf_counter()
    with log.open("w") as err:
        try:
            proc = subprocess.run(
                cmd, stdout=err, stderr=subprocess.STDOUT, timeout=BENCHES[name], cwd=common.ROOT
            )
            code: int | str = proc.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    seconds = time.perf_counter() - started
    if code == 0 and out.exists():
        result: dict[str, Any] = json.loads(out.read_text("utf-8"))
    else:
        tail = log.read_text("utf-8", errors="replace")[-1500:]
        result = {"name": f"bench_{name}", "error": f"exit {code}", "log_tail": tail, "rows": []}
    result["wall_seconds"] = round(seconds, 1)
    return result


def from_head(argv: list[str]) -> None:
    """Run the benchmarks from a clean export of HEAD (``git archive``) in a temporary folder,
    so other developers' uncommitted edits in this working tree cannot break or skew the run;
    results and seeds stay in this tree's benchmarks/.results, RESULTS.md is copied back."""
    import shutil
    import tempfile

    root = common.ROOT
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="bench-head-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", "HEAD"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (tmp / "benchmarks" / ".results").symlink_to(common.RESULTS_DIR)
        env = {**os.environ, "BENCH_COMMIT": commit}
        code = subprocess.run(
            [sys.executable, "-m", "benchmarks.run", *argv], cwd=tmp, env=env
        ).returncode
        made = tmp / "benchmarks" / "RESULTS.md"
        if code == 0 and made.exists():
            shutil.copyfile(made, root / "benchmarks" / "RESULTS.md")
        sys.exit(code)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    if "--from-head" in sys.argv[1:]:
        from_head([a for a in sys.argv[1:] if a != "--from-head"])
        return
    parser = argparse.ArgumentParser(prog="benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short pass; RESULTS.md untouched")
    parser.add_argument("--only", default="", help="comma-separated names: " + ",".join(BENCHES))
    parser.add_argument("--write", action="store_true", help="write RESULTS.md even if --quick")
    parser.add_argument(
        "--from-head", action="store_true", help="run from a clean `git archive HEAD` export"
    )
    ns = parser.parse_args()
    names = [n.strip() for n in ns.only.split(",") if n.strip()] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    outdir = common.RESULTS_DIR / stamp
    outdir.mkdir(parents=True, exist_ok=True)
    run: dict[str, Any] = {
        "stamp": stamp,
        "machine": common.machine(),
        "quick": ns.quick,
        "command": "python -m benchmarks.run"
        + (" --from-head" if os.environ.get("BENCH_COMMIT") else "")
        + (" --quick" if ns.quick else ""),
        "results": {},
    }
    started = time.perf_counter()
    for name in names:
        print(f"[bench] {name} ...", flush=True)
        result = run_one(name, ns.quick, outdir)
        run["results"][name] = result
        status = result.get("error") or "ok"
        print(f"[bench] {name}: {status} in {result['wall_seconds']} s", flush=True)
        for row in result.get("rows", []):
            print("   ", report.one_line(row), flush=True)
    run["total_seconds"] = round(time.perf_counter() - started, 1)
    run["machine"]["load_average_after"] = list(os.getloadavg())
    text = json.dumps(run, ensure_ascii=False, indent=1, default=str)
    (common.RESULTS_DIR / f"{stamp}.json").write_text(text, "utf-8")
    (common.RESULTS_DIR / "latest.json").write_text(text, "utf-8")
    print(f"[bench] all done in {run['total_seconds']} s -> benchmarks/.results/{stamp}.json")
    if not ns.quick or ns.write:
        report.write(run)
        print("[bench] wrote benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
