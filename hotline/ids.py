"""Identifiers made on the desk: UUIDv7 ticket ids and the provisional number shown until sync.

Why UUIDv7 (RFC 9562): the desk creates a ticket's id offline, when the draft opens, so it
must be unique without asking the server; being time-ordered, ids sort in creation order and
keep B-tree indexes (SQLite, PostgreSQL) append-mostly. Python 3.11's ``uuid`` module has no
``uuid7`` (it arrives in 3.14), and the small amount of bit-packing below is easier to audit
than a dependency.

Layout (RFC 9562 section 5.7): 48-bit Unix time in milliseconds, 4-bit version (7), 12-bit
``rand_a``, 2-bit variant (0b10), 62-bit ``rand_b``. For ids made in the same millisecond we
use method 1 of section 6.2 (a fixed-length dedicated counter): ``rand_a`` and the top 30
bits of ``rand_b`` form a 42-bit counter seeded randomly (top bit clear, so it has room to
grow) and incremented per id; the last 32 bits stay random. If the wall clock steps back,
the last timestamp is reused, so ids from one process are strictly increasing.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime

_COUNTER_BITS = 42
_COUNTER_MAX = (1 << _COUNTER_BITS) - 1
_lock = threading.Lock()
_last_ms = -1
_counter = 0


def _pack(unix_ms: int, counter: int, tail: int) -> uuid.UUID:
    """Assemble the 128 bits: time, version, counter (12 + 30 bits), variant, 32 random bits."""
    rand_a = counter >> 30
    rand_b = ((counter & ((1 << 30) - 1)) << 32) | (tail & 0xFFFFFFFF)
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rand_a << 64
    value |= 0b10 << 62
    value |= rand_b
    return uuid.UUID(int=value)


def uuid7() -> str:
    """A new RFC 9562 version-7 UUID, as the canonical 36-character string."""
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = secrets.randbits(_COUNTER_BITS - 1)
        else:
            _counter += 1
            if _counter > _COUNTER_MAX:  # 2**41 ids in one millisecond: borrow the next one
                _last_ms += 1
                _counter = secrets.randbits(_COUNTER_BITS - 1)
        return str(_pack(_last_ms, _counter, secrets.randbits(32)))


def uuid7_at(unix_ms: int, random_bits: int) -> str:
    """A version-7 UUID for a given time with caller-supplied randomness (74 bits used).

    For reproducible runs (the call simulator, the demo's seed data): the same time and bits
    give the same id, and ids still sort by the time they stand for."""
    counter = (random_bits >> 32) & _COUNTER_MAX
    return str(_pack(unix_ms, counter, random_bits))


# The name the rest of the code base uses for "a new id".
new_id = uuid7


def uuid7_time(value: str) -> datetime:
    """The creation time encoded in a UUIDv7 (millisecond precision, UTC)."""
    parsed = uuid.UUID(value)
    if parsed.version != 7:
        raise ValueError(f"{value} is not a version-7 UUID")
    return datetime.fromtimestamp((parsed.int >> 80) / 1000, UTC)


# ---------------------------------------------------------------- provisional number

# Crockford's base32: no I, L, O, U, so it can be read out over the phone without confusion.
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PROVISIONAL_LENGTH = 6
PROVISIONAL_PREFIX: dict[str, str] = {"zh": "临-", "en": "P-"}


def provisional_number(ticket_id: str) -> str:
    """The code part of a ticket's provisional number, e.g. ``"7K3Q9M"``.

    Shown until the server assigns the real number; the UI adds the prefix of its language
    (``PROVISIONAL_PREFIX``: 临-7K3Q9M / P-7K3Q9M). Stable: derived from the id alone (a hash,
    so ids made in the same millisecond still get unrelated codes), the same on every desk
    and after a restart. 30 bits: a clash among one agent's unsynced tickets is negligible,
    and the code is only a label, never a key.
    """
    digest = int.from_bytes(hashlib.sha256(ticket_id.encode()).digest()[:8], "big")
    chars = []
    for _ in range(PROVISIONAL_LENGTH):
        chars.append(_CROCKFORD[digest & 31])
        digest >>= 5
    return "".join(chars)


def provisional_label(ticket_id: str, lang: str = "zh") -> str:
    """``provisional_number`` with the prefix of ``lang`` (临- in Chinese, P- in English)."""
    prefix = PROVISIONAL_PREFIX.get(lang, PROVISIONAL_PREFIX["zh"])
    return prefix + provisional_number(ticket_id)
