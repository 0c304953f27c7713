"""A desk process that saves as fast as it can and reports every save AFTER it returned.

Run by test_crash.py and killed with SIGKILL at random moments: each line on stdout is a
promise ("saved") the cache must keep. Uses the test-only file keyring (env) for its key.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from offline_cache import open_cache


def main() -> None:
    profile, start = sys.argv[1], int(sys.argv[2])
    print("opening", flush=True)  # the test may kill us inside open_cache (WAL recovery, ...)
    store = open_cache(profile)
    store.set_identity("alice", "east", "agent")
    print("open", flush=True)
    i = start
    while i < start + 100_000:  # bounded; the test kills us long before
        saved = store.create_ticket(
            {"caller_name": f"市民{i}", "phone": "13800138000", "account": f"诉求{i}" * 20},
            call_started_at=datetime.now(UTC),
        )
        print(f"ticket {saved.ticket_id} {saved.mutation_id}", flush=True)
        note = store.add_note(str(saved.ticket_id), f"备注{i}")
        print(f"note {note.entity_id} {note.mutation_id}", flush=True)
        draft = store.save_draft("intake", {"caller_name": f"草稿{i}"})
        print(f"draft {draft.id} 0", flush=True)
        i += 1


if __name__ == "__main__":
    main()
