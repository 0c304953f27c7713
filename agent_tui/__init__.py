"""agent_tui package."""

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

# Pydantic looks for plugins in the entry points of every installed distribution when it
# builds its first model: ~40-70 ms of the desk's start reading metadata files, before the
# form can be built. The desk uses no pydantic plugin; a value set by whoever runs it wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


@contextmanager
def imports_frozen() -> Iterator[None]:
    """Imports inside are not walked by the garbage collector: it is paused for the block,
    and what the block made (modules, classes, the form models: alive as long as the
    process) is frozen (``gc.freeze``) before it runs again. Unpaused, the desk's imports
    ran ~190 young collections and ~16 middle ones over those same objects, ~12 ms of a
    new process's CPU before the desk is interactive. The few reference cycles an import
    leaves behind as garbage (~170 objects for the desk's modules) are frozen with the
    rest. If the collector is already paused (the caller's choice, or an enclosing block),
    this does nothing: whoever paused it resumes it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
