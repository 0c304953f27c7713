"""The cache's tables and their migrations, versioned by ``PRAGMA user_version``.

A migration is a list of statements run in one transaction with the version bump, so an
upgrade either happens whole or not at all. Outbox rows carry the mutation schema version they
were made with (hotline.protocol.SCHEMA_VERSION), so an upgrade with a full outbox replays
them as they were written.

Text search: FTS5 with the ``trigram`` tokenizer works for Chinese without a word splitter
(any 3+ character substring); queries shorter than 3 characters fall back to ``LIKE``. The
ticket number is not in the full-text index (version 3): it is matched by exact or prefix
through its ordinary index (offline_cache.sqlbits._text_clause).
"""

from __future__ import annotations

_V1 = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Slim rows: the queue scans, sorts and counts only these columns; the documents (display
    # state and last server state, ~1-2 KB of JSON each) live in ticket_docs, read one at a time.
    """CREATE TABLE tickets (
        id TEXT PRIMARY KEY,
        number TEXT,
        revision INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        urgency TEXT NOT NULL,
        kind TEXT NOT NULL,
        category TEXT NOT NULL DEFAULT '',
        district TEXT NOT NULL DEFAULT '',
        caller_name TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        phone_key TEXT NOT NULL DEFAULT '',
        id_card TEXT NOT NULL DEFAULT '',
        address TEXT NOT NULL DEFAULT '',
        account TEXT NOT NULL DEFAULT '',
        team TEXT,
        assignee TEXT,
        created_by TEXT,
        owner TEXT,
        created_at TEXT NOT NULL,
        call_started_at TEXT NOT NULL,
        updated_at TEXT,
        closed_at TEXT,
        deadline_at TEXT,
        deadline_key TEXT NOT NULL,
        overdue INTEGER NOT NULL DEFAULT 0,
        is_open INTEGER NOT NULL DEFAULT 1,
        red INTEGER NOT NULL DEFAULT 0,
        has_server INTEGER NOT NULL DEFAULT 0,
        pending INTEGER NOT NULL DEFAULT 0,
        attention INTEGER NOT NULL DEFAULT 0,
        gen INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE ticket_docs (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        server_data TEXT
    )""",
    """CREATE TRIGGER tickets_docs_ad AFTER DELETE ON tickets BEGIN
        DELETE FROM ticket_docs WHERE id = old.id;
    END""",
    # One index per (view, sort) the queue offers, so a page never sorts the whole table.
    "CREATE INDEX tickets_call ON tickets (call_started_at)",
    "CREATE INDEX tickets_owner_call ON tickets (owner, call_started_at)",
    "CREATE INDEX tickets_team_call ON tickets (team, call_started_at)",
    "CREATE INDEX tickets_urgency ON tickets (red DESC, is_open DESC, call_started_at)",
    (
        "CREATE INDEX tickets_owner_urgency ON tickets"
        " (owner, red DESC, is_open DESC, call_started_at)"
    ),
    (
        "CREATE INDEX tickets_team_urgency ON tickets"
        " (team, red DESC, is_open DESC, call_started_at)"
    ),
    "CREATE INDEX tickets_deadline ON tickets (deadline_key, call_started_at)",
    "CREATE INDEX tickets_owner_deadline ON tickets (owner, deadline_key, call_started_at)",
    "CREATE INDEX tickets_team_deadline ON tickets (team, deadline_key, call_started_at)",
    "CREATE INDEX tickets_red_call ON tickets (red, call_started_at)",
    "CREATE INDEX tickets_red_deadline ON tickets (red, deadline_key, call_started_at)",
    "CREATE INDEX tickets_status_call ON tickets (status, call_started_at)",
    "CREATE INDEX tickets_overdue ON tickets (overdue) WHERE overdue = 1",
    "CREATE INDEX tickets_phone ON tickets (phone_key, is_open)",
    "CREATE INDEX tickets_number ON tickets (number)",
    "CREATE INDEX tickets_attention ON tickets (attention) WHERE attention > 0",
    "CREATE INDEX tickets_closed ON tickets (is_open, closed_at)",
    """CREATE VIRTUAL TABLE tickets_fts USING fts5(
        number, caller_name, phone, id_card, address, account,
        content='tickets', content_rowid='rowid', tokenize='trigram')""",
    """CREATE TRIGGER tickets_ai AFTER INSERT ON tickets BEGIN
        INSERT INTO tickets_fts(rowid, number, caller_name, phone, id_card, address, account)
        VALUES (new.rowid, new.number, new.caller_name, new.phone, new.id_card, new.address,
                new.account);
    END""",
    """CREATE TRIGGER tickets_ad AFTER DELETE ON tickets BEGIN
        INSERT INTO tickets_fts(tickets_fts, rowid, number, caller_name, phone, id_card,
                                address, account)
        VALUES ('delete', old.rowid, old.number, old.caller_name, old.phone, old.id_card,
                old.address, old.account);
    END""",
    """CREATE TRIGGER tickets_au AFTER UPDATE OF number, caller_name, phone, id_card, address,
        account ON tickets BEGIN
        INSERT INTO tickets_fts(tickets_fts, rowid, number, caller_name, phone, id_card,
                                address, account)
        VALUES ('delete', old.rowid, old.number, old.caller_name, old.phone, old.id_card,
                old.address, old.account);
        INSERT INTO tickets_fts(rowid, number, caller_name, phone, id_card, address, account)
        VALUES (new.rowid, new.number, new.caller_name, new.phone, new.id_card, new.address,
                new.account);
    END""",
    """CREATE TABLE notes (
        id TEXT PRIMARY KEY,
        ticket_id TEXT NOT NULL,
        body TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        pending INTEGER NOT NULL DEFAULT 0,
        gen INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX notes_ticket ON notes (ticket_id, created_at)",
    """CREATE TABLE outbox (
        mutation_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        args TEXT NOT NULL,
        client_time TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        ticket_id TEXT,
        entity_id TEXT
    )""",
    "CREATE INDEX outbox_ticket ON outbox (ticket_id)",
    # Acknowledged mutations, kept for the retention period: if the server is restored from
    # a backup that predates them, the client sends them again (SYNC.md "restored server").
    """CREATE TABLE sent (
        mutation_id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        args TEXT NOT NULL,
        client_time TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        ticket_id TEXT,
        entity_id TEXT,
        acked_at TEXT NOT NULL
    )""",
    """CREATE TABLE attention (
        mutation_id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        args TEXT NOT NULL,
        ticket_id TEXT,
        reason TEXT NOT NULL,
        field TEXT,
        conflict TEXT,
        at TEXT NOT NULL
    )""",
    """CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        form_id TEXT NOT NULL,
        ticket_id TEXT,
        draft_values TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE kb (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL DEFAULT '',
        updated_at TEXT,
        data TEXT NOT NULL,
        gen INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE VIRTUAL TABLE kb_fts USING fts5(title, body, tags,
        content='kb', content_rowid='rowid', tokenize='trigram')""",
    """CREATE TRIGGER kb_ai AFTER INSERT ON kb BEGIN
        INSERT INTO kb_fts(rowid, title, body, tags) VALUES (new.rowid, new.title, new.body,
                                                             new.tags);
    END""",
    """CREATE TRIGGER kb_ad AFTER DELETE ON kb BEGIN
        INSERT INTO kb_fts(kb_fts, rowid, title, body, tags)
        VALUES ('delete', old.rowid, old.title, old.body, old.tags);
    END""",
    """CREATE TRIGGER kb_au AFTER UPDATE OF title, body, tags ON kb BEGIN
        INSERT INTO kb_fts(kb_fts, rowid, title, body, tags)
        VALUES ('delete', old.rowid, old.title, old.body, old.tags);
        INSERT INTO kb_fts(rowid, title, body, tags) VALUES (new.rowid, new.title, new.body,
                                                             new.tags);
    END""",
    """CREATE TABLE seats (agent TEXT PRIMARY KEY, data TEXT NOT NULL, gen INTEGER NOT NULL
        DEFAULT 0)""",
]

# The duplicate warning looks up open tickets at exactly the address being typed.
_V2 = ["CREATE INDEX tickets_address_open ON tickets (trim(address), is_open)"]

# The ticket number leaves the trigram index. Taking the server's number (once per created
# ticket, when its push answer is recorded) re-indexed every trigram of the row's six text
# columns (~1.25 ms a ticket, most of the desk's cost of recording an answer); a number is now
# found by exact or prefix match through ``tickets_number``. The update trigger also fires
# only when an indexed value really changes: a pulled ticket is written whole (an upsert
# naming every column), and most pulls change its status, not its caller or address.
# The index is rebuilt from the ticket rows, which stay as they are.
_FTS_COLUMNS = "caller_name, phone, id_card, address, account"
_FTS_NEW = "new.caller_name, new.phone, new.id_card, new.address, new.account"
_FTS_OLD = "old.caller_name, old.phone, old.id_card, old.address, old.account"
_V3 = [
    "DROP TRIGGER tickets_ai",
    "DROP TRIGGER tickets_ad",
    "DROP TRIGGER tickets_au",
    "DROP TABLE tickets_fts",
    f"""CREATE VIRTUAL TABLE tickets_fts USING fts5({_FTS_COLUMNS},
        content='tickets', content_rowid='rowid', tokenize='trigram')""",
    "INSERT INTO tickets_fts(tickets_fts) VALUES ('rebuild')",
    f"""CREATE TRIGGER tickets_ai AFTER INSERT ON tickets BEGIN
        INSERT INTO tickets_fts(rowid, {_FTS_COLUMNS}) VALUES (new.rowid, {_FTS_NEW});
    END""",
    f"""CREATE TRIGGER tickets_ad AFTER DELETE ON tickets BEGIN
        INSERT INTO tickets_fts(tickets_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', old.rowid, {_FTS_OLD});
    END""",
    f"""CREATE TRIGGER tickets_au AFTER UPDATE OF {_FTS_COLUMNS} ON tickets
        WHEN old.caller_name IS NOT new.caller_name OR old.phone IS NOT new.phone
          OR old.id_card IS NOT new.id_card OR old.address IS NOT new.address
          OR old.account IS NOT new.account BEGIN
        INSERT INTO tickets_fts(tickets_fts, rowid, {_FTS_COLUMNS})
        VALUES ('delete', old.rowid, {_FTS_OLD});
        INSERT INTO tickets_fts(rowid, {_FTS_COLUMNS}) VALUES (new.rowid, {_FTS_NEW});
    END""",
]

# MIGRATIONS[i] takes the store from user_version i to i + 1.
MIGRATIONS: list[list[str]] = [_V1, _V2, _V3]
LATEST = len(MIGRATIONS)
