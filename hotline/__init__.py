"""The hotline domain: tickets, their closed loop, clocks, validators and the wire protocol.

Pure Python with no I/O, shared by the server (`hotline_server`) and the client
(`offline_cache`, `agent_tui`), so both sides apply exactly the same rules.
"""

__version__ = "0.1.0"
