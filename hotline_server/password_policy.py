"""Which new passwords are refused, and why (``user add``, ``user passwd``).

Sign-in limits slow a guesser down, but a guesser tries the likeliest passwords first: a
shipped list of the most common ones (``common_passwords.txt``) catches what limits cannot.
Digits-only passwords are refused too: here they are mostly birthdays, phone and ID numbers,
which anyone who knows the agent can guess. A password longer than sign-in accepts would make
an account nobody can sign in to.
"""

from __future__ import annotations

import functools
from pathlib import Path

from hotline.protocol import PASSWORD_MAX_LENGTH

MIN_LENGTH = 8
MIN_DISTINCT = 5
COMMON = Path(__file__).resolve().parent / "common_passwords.txt"


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip().lower() for s in lines if s.strip() and not s.startswith("#"))


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` cannot be used (one sentence), or None when it can."""
    if not password.strip():
        return "the password cannot be empty or only spaces"
    if len(password) > PASSWORD_MAX_LENGTH:
        return (
            f"the password is {len(password)} characters; sign-in accepts at most "
            f"{PASSWORD_MAX_LENGTH}"
        )
    folded = password.strip().lower()
    if folded in common_passwords():
        return "this is one of the most common passwords; choose another"
    if len(password) < MIN_LENGTH:
        return f"the password needs at least {MIN_LENGTH} characters"
    if username and folded == username.lower():
        return "the password must not be the user name"
    if folded.isdigit():
        return "a password of digits only is easy to guess (dates, phone numbers); add letters"
    if len(set(password)) < MIN_DISTINCT:
        return f"the password needs at least {MIN_DISTINCT} different characters"
    return None
