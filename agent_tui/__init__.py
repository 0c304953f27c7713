"""agent_tui package."""

import gc
import os
from collections.abc import Callable, Iterator
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


# A young collection every this many new objects while the desk starts (Python's own: 700).
START_YOUNG_THRESHOLD = 100_000


def young_collections_held() -> Callable[[], None]:
    """Hold the garbage collector's young collections back while a desk starts; returns the
    call that lets them go again (once; later calls do nothing).

    From the app object to its first frame the desk makes ~40,000 objects that live on (the
    intake screen's widgets, their styles, the form's rows, the cache's records) and Python
    walked them ~60 times in young and middle collections (~10-20 ms of a new process's CPU
    before the desk is interactive), finding almost nothing to free. Held, the threshold is
    ``START_YOUNG_THRESHOLD`` instead of 700: the collector still runs (a start that makes
    more objects than that is collected as usual), it only walks them less often; the first
    collection after the release walks what the start made, once.

    The threshold is set back only if it is still the one set here: if the caller set its
    own since, that one stays. If it is already that high or higher (another desk starting
    in this process, or the caller's choice) this does nothing, and so does its release."""
    before = gc.get_threshold()
    if before[0] == 0 or before[0] >= START_YOUNG_THRESHOLD:
        return _nothing
    gc.set_threshold(START_YOUNG_THRESHOLD, *before[1:])
    released = False

    def release() -> None:
        nonlocal released
        if released:
            return
        released = True
        if gc.get_threshold()[0] == START_YOUNG_THRESHOLD:
            gc.set_threshold(*before)

    return release


def _nothing() -> None:
    return None
