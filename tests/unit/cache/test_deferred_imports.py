"""Modules keyring imports but never runs for the desk: their code runs at first use, once.

``offline_cache.deferred_imports`` keeps ~25 ms of CPU (``urllib.request`` with ``http.client``
and ``email``, the ``importlib_metadata`` backport, ``more_itertools``, ``configparser``) out
of a new desk's start; a module deferred that way must still be the whole module the moment
anything reads from it, on any thread, and a module whose code fails must fail where it is
used, not be left half-made in ``sys.modules``.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from offline_cache.deferred_imports import deferred, is_deferred
from tests.support.child import run_python


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A throw-away ``top`` module importing ``dep``, whose code notes each run in a file."""
    tag = uuid.uuid4().hex[:8]
    top, dep = f"top_{tag}", f"dep_{tag}"
    runs = tmp_path / "runs.txt"
    (tmp_path / f"{top}.py").write_text(f"import {dep}\n", "utf-8")
    (tmp_path / f"{dep}.py").write_text(
        "import os, time\n"
        f"with open({str(runs)!r}, 'a') as f:\n"
        "    f.write('ran\\n')\n"
        "time.sleep(float(os.environ.get('DEP_SLEEP', '0')))\n"
        "if os.environ.get('DEP_FAIL'):\n"
        "    raise RuntimeError('dep is broken')\n"
        "VALUE = 42\n",
        "utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield top, dep, runs
    finally:
        sys.path.remove(str(tmp_path))
        for name in (top, dep):
            sys.modules.pop(name, None)


def _runs(path: Path) -> int:
    return len(path.read_text("utf-8").splitlines()) if path.exists() else 0


def test_a_deferred_module_runs_its_code_when_first_read_and_only_once(
    modules: tuple[str, str, Path],
) -> None:
    top, dep, runs = modules
    deferred(top, [dep])
    assert _runs(runs) == 0 and is_deferred(dep)
    module = sys.modules[dep]
    assert module.VALUE == 42
    assert module.VALUE == 42 and sys.modules[dep] is module
    assert _runs(runs) == 1 and not is_deferred(dep)
    assert type(module).__name__ == "module"  # from now on the ordinary module
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        module.missing  # noqa: B018


def test_two_threads_reading_it_at_once_both_get_the_whole_module(
    modules: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    top, dep, runs = modules
    monkeypatch.setenv("DEP_SLEEP", "0.3")  # the first reader is still running its code
    deferred(top, [dep])
    module = sys.modules[dep]
    got: list[object] = []
    readers = [threading.Thread(target=lambda: got.append(module.VALUE)) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(10)
    assert got == [42, 42, 42, 42]
    assert _runs(runs) == 1


def test_a_module_whose_code_fails_fails_where_it_is_used_and_is_not_kept(
    modules: tuple[str, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    top, dep, runs = modules
    monkeypatch.setenv("DEP_FAIL", "1")
    deferred(top, [dep])
    with pytest.raises(RuntimeError, match="dep is broken"):
        sys.modules[dep].VALUE  # noqa: B018
    assert dep not in sys.modules  # as after a failed import: the next import tries again
    monkeypatch.delenv("DEP_FAIL")
    assert __import__(dep).VALUE == 42
    assert _runs(runs) == 2


def test_only_the_named_modules_not_imported_yet_are_deferred(
    modules: tuple[str, str, Path],
) -> None:
    top, dep, runs = modules
    __import__(dep)
    deferred(top, [dep])
    assert not is_deferred(dep) and _runs(runs) == 1


# In a new process (keyring imported for the first time, as in a desk: by the check for a
# keyring that asks a password, before the cache opens, whichever of the desk's ways started
# it): the token saved and read back through the tests' file keyring with the unused
# modules' code not run, then
# ``httpx`` (which reads ``urllib.request`` at its import) and keyring's discovery of
# backends (the backport's entry points) working with them.
CHILD = r"""
import sys
from offline_cache import load_token, locked_keyring, save_token
assert locked_keyring() is None
save_token("default", "http://127.0.0.1:1", "t-123")
print(load_token("default", "http://127.0.0.1:1"))
ran = lambda m: m in sys.modules and type(sys.modules[m]).__name__ == "module"
print(sorted(m for m in ("urllib.request", "http.client", "email", "importlib_metadata",
                         "more_itertools", "configparser") if ran(m)))
import httpx
print(httpx.Client is not None, ran("urllib.request"))
from keyring.backend import get_all_keyring
print(len(get_all_keyring()) > 0, ran("importlib_metadata"))
"""


def test_keyring_reads_and_writes_without_running_what_it_does_not_use(tmp_path: Path) -> None:
    assert run_python(CHILD).splitlines() == ["t-123", "[]", "True True", "True True"]
