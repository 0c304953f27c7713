"""Ids for tickets and notes: hotline.ids when present (the contract), else a local UUIDv7.

hotline.ids is the one place ids are defined; this fallback only exists so the cache works
while that module is being written, and makes the same kind of id (RFC 9562 UUIDv7).
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> str:
    try:
        from hotline.ids import uuid7 as domain_uuid7
    except ImportError:
        ms = time.time_ns() // 1_000_000
        rand = int.from_bytes(os.urandom(10), "big")
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= ((rand >> 62) & 0xFFF) << 64
        value |= 0x2 << 62
        value |= rand & ((1 << 62) - 1)
        return str(uuid.UUID(int=value))
    return str(domain_uuid7())


def provisional_number(ticket_id: str) -> str:
    """What the screen shows until the server assigns the human number."""
    try:
        from hotline.ids import provisional_number as domain_provisional
    except ImportError:
        return "临-" + ticket_id.replace("-", "")[-8:].upper()
    return str(domain_provisional(ticket_id))
