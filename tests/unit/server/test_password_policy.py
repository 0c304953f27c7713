"""Which new passwords are refused (hotline_server/password_policy.py), and that the
passwords the project itself uses (tests, demo, benchmarks, simulator) pass."""

from __future__ import annotations

import secrets

import pytest

from hotline.protocol import PASSWORD_MAX_LENGTH
from hotline_server.password_policy import common_passwords, password_problem


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("", "only spaces"),
        ("        ", "only spaces"),
        ("\t \u3000 ", "only spaces"),
        ("123456", "most common"),
        ("5201314", "most common"),
        ("a1b2c3", "most common"),
        ("password", "most common"),
        ("Password1", "most common"),  # without case
        ("QWERTY123", "most common"),
        ("woaini1314", "most common"),
        ("1qaz2wsx", "most common"),
        ("short1x", "at least 8 characters"),
        ("19900101", "digits only"),
        ("13800138000", "digits only"),
        ("abababab", "different characters"),
        ("lin.wei8", "the user name"),
        ("x" * (PASSWORD_MAX_LENGTH - 10) + "0123456789a", str(PASSWORD_MAX_LENGTH)),
    ],
)
def test_refused_with_the_reason(password: str, words: str) -> None:
    problem = password_problem(password, "LIN.wei8")
    assert problem is not None and words in problem, problem


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery",  # the tests'
        "pw-agent1",
        "pw-lead1",
        "pw-agent1-e2e",
        "bench-password-1",  # benchmarks/common.py
        "simulated-agent",  # hotline-server simulate's default
        "x" * (PASSWORD_MAX_LENGTH - 5) + "abcde",  # as long as sign-in accepts
        "接线员的密码很长",
    ],
)
def test_accepted(password: str) -> None:
    assert password_problem(password, "agent1") is None


def test_the_demo_passwords_pass() -> None:
    """The demo makes its accounts' passwords with ``secrets.token_urlsafe(9)``."""
    for _ in range(200):
        assert password_problem(secrets.token_urlsafe(9), "demo-agent") is None


def test_the_shipped_list_is_a_few_hundred_lowercase_entries() -> None:
    words = common_passwords()
    assert 300 <= len(words) <= 2000
    assert {"123456", "5201314", "qwerty", "password", "a1b2c3", "woaini"} <= words
    assert all(w == w.lower().strip() and w for w in words)
