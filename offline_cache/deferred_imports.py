"""Modules a library imports but the desk's use of it never runs: made, not run, until used.

``keyring`` (25.x) imports at its top, through ``jaraco.context``, ``jaraco.functools`` and
its ``compat`` module, ``urllib.request`` (with ``http.client``, ``ssl``'s friends and the
``email`` package), the ``importlib_metadata`` backport, ``more_itertools`` and
``configparser``: ~25 ms of CPU in a new process, on the thread that opens the cache while
the first frame is drawn. A named backend (``PYTHON_KEYRING_BACKEND``) uses none of them to
read a token or the cache key: ``urllib.request`` serves ``jaraco.context.tarball``, the
backport keyring's discovery of backends (no backend named), ``configparser`` its config
file, ``more_itertools`` helpers keyring does not call.

:func:`deferred` imports a module with those names made *deferred*: each is put in
``sys.modules`` as a module whose code has not run; the first attribute anyone reads from it
runs its code (once, under a lock: another thread asking meanwhile waits for it) and from
then on it is the ordinary module. Nothing else changes: keyring's discovery, its config
file, ``httpx`` (which imports ``urllib.request`` after the desk is up) find the real
modules, loaded at that moment. Only pure-Python modules that are not in ``sys.modules``
yet are deferred; a module whose code fails when it is run raises where it is first used
and is removed from ``sys.modules`` (as a failed import is).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Iterable, Sequence
from typing import Any

# What keyring's import brings in that reading a secret from a named backend never runs.
KEYRING_UNUSED = ("urllib.request", "importlib_metadata", "more_itertools", "configparser")


class _Pending:
    """A deferred module's real loader, and the lock its code runs under: a thread reading
    from it meanwhile waits there; its own code reading it back (the same thread) does not."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader
        self.lock = threading.RLock()
        self.running = False


_PENDING: dict[str, _Pending] = {}  # deferred module name -> its loader, until it has run


class DeferredModule(types.ModuleType):
    """A module whose code runs when an attribute it does not have yet is first read."""

    def __getattr__(self, name: str) -> Any:
        module_name = self.__dict__.get("__name__", "")
        pending = _PENDING.get(module_name)
        if pending is not None:
            with pending.lock:  # another thread waits here until the code has run
                if not pending.running and _PENDING.get(module_name) is pending:
                    pending.running = True
                    try:
                        _run(self, module_name, pending.loader)
                    finally:
                        del _PENDING[module_name]
        # Run (by this call or another thread's), or running on this thread (its own code
        # importing something that reads it back: as an ordinary half-made module answers).
        found = self.__dict__
        if name in found:
            return found[name]
        hook = found.get("__getattr__")  # PEP 562, once its code defined one
        if callable(hook):
            return hook(name)
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")


def _run(module: types.ModuleType, name: str, loader: importlib.abc.Loader) -> None:
    spec = module.__spec__
    if spec is not None:
        spec.loader = loader
    module.__loader__ = loader
    try:
        loader.exec_module(module)
    except BaseException:
        if sys.modules.get(name) is module:
            del sys.modules[name]
        raise
    module.__class__ = types.ModuleType


class _DeferringLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None  # the default module object (a source module's loader makes none either)

    def exec_module(self, module: types.ModuleType) -> None:
        _PENDING[module.__name__] = _Pending(self.loader)
        module.__class__ = DeferredModule


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            if type(spec.loader) is not importlib.machinery.SourceFileLoader and not isinstance(
                spec.loader, importlib.machinery.SourcelessFileLoader
            ):
                return spec  # a built-in or an extension module: imported as usual
            spec.loader = _DeferringLoader(spec.loader)
            return spec
        return None


_IMPORTING = threading.Lock()


def deferred(module: str, names: Iterable[str]) -> types.ModuleType:
    """``import module``, with those of ``names`` it imports (and that nothing imported
    before) deferred, as the module docstring says. Imported already: returned as it is."""
    found = sys.modules.get(module)
    if found is not None:
        return found
    with _IMPORTING:
        finder = _Finder(n for n in names if n not in sys.modules)
        sys.meta_path.insert(0, finder)
        try:
            return importlib.import_module(module)
        finally:
            sys.meta_path.remove(finder)


def is_deferred(name: str) -> bool:
    """Whether ``name`` is in ``sys.modules`` with its code not run yet."""
    pending = _PENDING.get(name)
    return pending is not None and not pending.running and name in sys.modules
