"""Small shared pieces of the store: stored time format, JSON, meta rows, row mapping,
search clauses, error classification and the connection with the durability settings.

Kept apart from store.py so the store reads as what it does (transactions, outbox, pull),
not how a time is formatted or a LIKE pattern escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlcipher3  # type: ignore[import-untyped]

from hotline.ids import provisional_number
from hotline.model import Status
from hotline.private_files import prepare_sqlite_file
from offline_cache import records
from offline_cache.errors import InvalidChange
from offline_cache.records import Draft

if TYPE_CHECKING:
    from offline_cache.records import TicketRow

if TYPE_CHECKING:  # pydantic: imported when a change is validated, not with the cache
    from pydantic import BaseModel

Clock = Callable[[], datetime]

DEFAULT_RETENTION_DAYS = 30
OPEN_STATUSES = (
    Status.ACCEPTED.value,
    Status.DISPATCHED.value,
    Status.HANDLING.value,
    Status.REPLIED.value,
    Status.SUPERVISED.value,
)
BUSY_TIMEOUT_MS = 5000


def utc_text(value: datetime) -> str:
    """One sortable text form for every stored time: UTC, microseconds, ``Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: the cache stores aware times only")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _norm_time(value: Any) -> str | None:
    parsed = parse_time(value)
    return utc_text(parsed) if parsed else None


def phone_key(phone: str) -> str:
    """Digits only, without a leading +86/0086: how caller numbers are compared."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _classify(exc: Exception) -> str:
    text = str(exc).lower()
    if "full" in text:
        return "disk_full"
    if "readonly" in text or "read-only" in text or "read only" in text:
        return "read_only"
    if "locked" in text or "busy" in text:
        return "busy"
    if "i/o" in text or "disk" in text:
        return "io_error"
    return "other"


def _is_unreadable(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("not a database", "malformed", "corrupt", "file is encrypted"))


def _args_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=False)


def _validate(model: type[BaseModel], data: Mapping[str, Any]) -> BaseModel:
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ())) or "?"
        raise InvalidChange(field, str(err.get("msg", "invalid"))) from None


_ROW_COLUMNS = (
    "id, number, status, urgency, kind, category, caller_name, phone, address, district,"
    " created_at, call_started_at, deadline_at, overdue, assignee, team, revision, pending,"
    " attention"
)


def _row(r: Sequence[Any], now: datetime) -> TicketRow:
    deadline = _pt_opt(r[12])
    return records.TicketRow(
        id=r[0],
        number=r[1],
        display_number=r[1] or provisional_number(r[0]),
        status=r[2],
        urgency=r[3],
        kind=r[4],
        category=r[5],
        caller_name=r[6],
        phone=r[7],
        address=r[8],
        district=r[9],
        created_at=_pt(r[10]),
        call_started_at=_pt(r[11]),
        deadline_at=deadline,
        overdue=bool(r[13]) or (deadline is not None and deadline < now and r[2] in OPEN_STATUSES),
        assignee=r[14],
        team=r[15],
        revision=r[16],
        pending=r[17],
        attention=r[18],
    )


def _pt(value: str) -> datetime:
    parsed = parse_time(value)
    assert parsed is not None
    return parsed


def _pt_opt(value: str | None) -> datetime | None:
    return parse_time(value) if value else None


def _draft(r: Sequence[Any]) -> Draft:
    return Draft(r[0], r[1], json.loads(r[2]), r[3], _pt(r[4]), _pt(r[5]))


def _like(token: str) -> str:
    escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


FTS_FEW = 2000  # up to this many matches: fetch them and sort; beyond: walk the sort index
FTS_MANY_SHARE = 10  # a word in more than 1 in this many tickets is tested row by row
TEXT_COLUMNS = ("caller_name", "phone", "id_card", "address", "account")  # as in tickets_fts
_NUMBER_PREFIX = "(number >= ? AND number < ?)"  # tickets_number walks it as a range
_ABOVE_ALL = "\U0010ffff"  # sorts after every character: prefix + this bounds the range


def _number_params(token: str) -> list[str]:
    """The range of ``_NUMBER_PREFIX``: every number that starts with ``token``."""
    return [token, token + _ABOVE_ALL]


def _caseless(token: str) -> bool:
    """No character of ``token`` has a case (Chinese, digits, punctuation). For such a word a
    substring test with LIKE finds exactly what the trigram index finds: LIKE folds ASCII
    letters only, the trigram tokenizer folds every cased character (and a few non-ASCII
    ones onto ASCII letters), so the two agree only where nothing needs folding."""
    return all(c.lower() == c.upper() for c in token)


def _like_clause(token: str) -> tuple[str, list[Any]]:
    """A substring of a text column or the start of the number, tested row by row."""
    like = _like(token)
    return (
        "("
        + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in TEXT_COLUMNS)
        + f" OR {_NUMBER_PREFIX})",
        [like] * len(TEXT_COLUMNS) + _number_params(token),
    )


def _text_clause(token: str, conn: Any = None) -> tuple[str, list[Any]]:
    """One search word: a substring of the caller's name, phone, ID-card number, address or
    account, or the start of the ticket number (the whole number is a prefix of itself).

    Words of 3+ characters use the trigram index, in one of three plans, chosen by how many
    rows the word matches (read off the index, which stops at the limit it is given):

    - few (a phone number, an ID, "人民路123"; up to FTS_FEW): those rows are fetched by
      rowid and sorted; the page and its count reuse the rowids read;
    - some (up to 1 in FTS_MANY_SHARE tickets): the page walks its sort index and keeps the
      rows in the set of matches (``+rowid IN``), which SQLite builds once per query;
    - many (a street half the city lives on, "138"): the page walks its sort index and
      tests each row with LIKE until the page is full, and the capped count stops at
      COUNT_CAP + 1 rows. Building the set of every match costs ~0.12 ms per thousand rows
      (~12 ms per query for a word in all of 100k tickets; the page and its count are two
      queries); testing a row with LIKE ~0.7 us, and with 1 in 10 rows matching the walk
      ends within ~10 rows per row wanted. LIKE finds the same rows only for a word without
      cased letters (:func:`_caseless`); a word with them keeps the set.

    Shorter words cannot use a trigram index: LIKE, row by row."""
    if len(token) < 3:
        return _like_clause(token)
    matches = (
        "SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?"
        f" UNION ALL SELECT rowid FROM tickets WHERE {_NUMBER_PREFIX}"
    )
    params = [_fts_phrase(token), *_number_params(token)]
    if conn is None:
        return f"rowid IN ({matches})", params
    found = [r[0] for r in conn.execute(f"{matches} LIMIT {FTS_FEW + 1}", params)]
    if len(found) <= FTS_FEW:
        return "rowid IN (SELECT value FROM json_each(?))", [json.dumps(found)]
    if _caseless(token):
        # the highest rowid: the table's size or more (read off the end of its b-tree)
        size = conn.execute("SELECT coalesce(max(rowid), 0) FROM tickets").fetchone()[0]
        cap = max(FTS_FEW, size // FTS_MANY_SHARE)
        more = conn.execute(f"SELECT count(*) FROM ({matches} LIMIT ?)", [*params, cap + 1])
        if more.fetchone()[0] > cap:
            return _like_clause(token)
    return f"+rowid IN ({matches})", params


def _snippet(body: str, word: str, width: int = 60) -> str:
    at = body.find(word) if word else -1
    start = max(0, at - width // 3) if at >= 0 else 0
    text = body[start : start + width].replace("\n", " ")
    return ("…" if start else "") + text + ("…" if start + width < len(body) else "")


def _split_tags(value: str) -> list[str]:
    return [t for t in value.split(" ") if t]


def _meta(conn: Any, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _set_meta(conn: Any, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value ="
        " excluded.value",
        (key, value),
    )


def _rollback(conn: Any) -> None:
    with suppress(sqlcipher3.Error):
        conn.execute("ROLLBACK")


WAL_BACKSTOP_FRAMES = 20_000  # ~80 MB of WAL before a save checkpoints by itself


def _connect(path: Path, key: bytes) -> Any:
    """Open with the raw 32-byte key (no passphrase KDF: the key is already random) and the
    durability settings of SYNC.md. Raises sqlcipher3.DatabaseError if the file is unreadable.
    The file is made 0600 first; its -wal and -shm take that mode from it."""
    prepare_sqlite_file(path)
    conn = sqlcipher3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    try:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlcipher3.OperationalError(f"journal_mode is {mode}, not wal")
        conn.execute("PRAGMA synchronous = FULL")
        # The WAL is copied back into the database by CacheStore.checkpoint() on its own
        # connection, off the save path (the replicator calls it after each sync). SQLite's
        # automatic checkpoint (every 1,000 frames) would run inside a save and copy and fsync
        # ~1,000 pages there: at 100k tickets, every ~30th save. This backstop only matters if
        # nothing checkpoints for a long time.
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_FRAMES}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")  # temp b-trees never hit disk in clear
        # Every page read is decrypted: keep 64 MiB of decrypted pages so the queue's indexes
        # stay hot (a 100k-ticket cache is ~250 MB on disk; its indexes a fraction of that).
        conn.execute("PRAGMA cache_size = -65536")
    except BaseException:
        conn.close()
        raise
    return conn
