"""The demo phone rings with numbers that have tickets (the first call always), so the
intake shows the caller's recent tickets beside the form; some callers are new."""

from __future__ import annotations

from agent_tui.demo.phone import FIRST_CALL_FROM, DemoPhone

KNOWN = tuple(f"1380000{i:04d}" for i in range(40))


def test_the_first_call_comes_from_a_caller_with_the_most_tickets() -> None:
    for seed in range(20):
        phone = DemoPhone("http://127.0.0.1:1", "token", "agent", seed=seed, known_numbers=KNOWN)
        assert phone.next_number() in KNOWN[:FIRST_CALL_FROM]


def test_later_calls_mix_known_and_new_callers() -> None:
    phone = DemoPhone("http://127.0.0.1:1", "token", "agent", known_numbers=KNOWN)
    numbers = []
    for _ in range(60):
        number = phone.next_number()
        phone.numbers_rung.append(number)
        numbers.append(number)
    known = [n for n in numbers if n in KNOWN]
    assert 0 < len(known) < len(numbers)
    assert all(len(n) == 11 and n.startswith("1") for n in numbers)


def test_without_seeded_numbers_every_caller_is_new() -> None:
    phone = DemoPhone("http://127.0.0.1:1", "token", "agent")
    assert len(phone.next_number()) == 11
