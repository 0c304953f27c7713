"""How long after a key the agent still counts as typing: one rule for the desk and the
replicator.

The replicator holds a round that only pulls until the keys have paused this long
(``Replicator(typing_quiet=)``); the desk holds its once-a-second status read for the same
pause (``DeskApp._typing``). Both read it here. This module imports nothing, so the desk can
read it at start without loading the replicator (httpx, the protocol's models).
"""

from __future__ import annotations

# While the agent types, a round that only pulls waits for the keys to pause this long ...
TYPING_QUIET_SECONDS = 0.75
# ... and never more than this (a continuously typing agent still sees others' changes).
TYPING_HOLD_SECONDS = 3.0
