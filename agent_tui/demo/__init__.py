"""`agent-tui demo`: the whole product on one machine, for a newcomer, with nothing to configure.

The pieces are separate so each can be tested alone: ``embedded`` runs a real
``hotline-server`` process on a free loopback port over a throw-away SQLite database,
``seed`` writes demo users, knowledge-base articles and tickets through the server's own
API, ``phone`` plays the phone system for the demo agent's seat, and ``link`` is a loopback
TCP relay between the desk and the server that ``agent-tui demo --cut-link`` can cut.
"""
