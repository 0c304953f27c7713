"""How long after a key the agent still counts as typing: one rule for the desk and the
replicator.

The replicator holds a round that only pulls until the keys have paused this long
(``Replicator(typing_quiet=)``, with a bound: ``typing_hold``, ``typing_breath``,
``typing_hold_max``); the desk holds its once-a-second status read for the same
pause (``DeskApp._typing``). Both read it here. This module imports nothing, so the desk can
read it at start without loading the replicator (httpx, the protocol's models).
"""

from __future__ import annotations

# While the agent types, a round that only pulls waits for the keys to pause this long ...
TYPING_QUIET_SECONDS = 0.75
# ... and only so long before a shorter pause will do (a continuously typing agent still
# sees others' changes).
TYPING_HOLD_SECONDS = 3.0
# Past that bound the round still does not cut into a run of keys: it goes when they stop
# this long (a breath between fields or words) ...
TYPING_BREATH_SECONDS = 0.3
# ... and at the latest this long after it was due, between two keys.
TYPING_HOLD_MAX_SECONDS = 6.0
