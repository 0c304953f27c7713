"""`hotline-server user add / passwd` refuse weak and unusable passwords in one line that
names the field and why; nothing is written."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hotline.protocol import PASSWORD_MAX_LENGTH
from tests.support.server import server_cli


def run(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotline_server", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("5201314", "most common"),
        ("qwerty123", "most common"),
        ("          ", "only spaces"),
        ("y" * 300, f"at most {PASSWORD_MAX_LENGTH}"),
    ],
)
def test_user_add_and_passwd_refuse_weak_passwords(
    sqlite_url: str, password: str, words: str
) -> None:
    server_cli("migrate", "--database", sqlite_url)
    server_cli("user", "add", "amy", "--role", "agent", "--database", sqlite_url,
               stdin="correct horse battery\n")  # fmt: skip
    for args in (["add", "bob", "--role", "agent"], ["passwd", "amy"]):
        done = run("user", *args, "--database", sqlite_url, stdin=password + "\n")
        assert done.returncode == 2, done
        line = done.stderr.strip()
        assert "\n" not in line and line.startswith("hotline-server: password: "), line
        assert words in line, line
    added = run("user", "add", "bob", "--role", "agent", "--database", sqlite_url,
                stdin="correct horse battery\n")  # fmt: skip
    assert added.returncode == 0, added.stderr  # bob was not half-written by the refusal
