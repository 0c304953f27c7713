"""agent_tui package."""

import os

# Pydantic looks for plugins in the entry points of every installed distribution when it
# builds its first model: ~40-70 ms of the desk's start reading metadata files, before the
# form can be built. The desk uses no pydantic plugin; a value set by whoever runs it wins.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
