"""Keymaps: load, user override of single keys, precise errors, clash report."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.keymaps import (
    Keymap,
    KeymapError,
    find_clashes,
    key_problem,
    load_keymap,
    merge,
    shipped_keymap,
    shipped_keymap_names,
)

KNOWN = ["app.quit", "intake.submit", "intake.dispatch", "queue.claim", "queue.search"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_and_override_single_keys(tmp_path: Path) -> None:
    base = Keymap(
        name="default",
        bindings={"intake.submit": "ctrl+s", "queue.claim": "ctrl+k", "app.quit": "ctrl+q"},
    )
    user = load_keymap(write(tmp_path, '[bindings]\n"queue.claim" = "f5, ctrl+j"\n'), KNOWN)
    assert user.name == "mine"
    assert user.keys("queue.claim") == ("f5", "ctrl+j")
    merged = merge(base, user)
    assert merged.name == "default"
    assert merged.as_textual() == {
        "intake.submit": "ctrl+s",
        "queue.claim": "f5,ctrl+j",
        "app.quit": "ctrl+q",
    }


def test_unknown_id_gets_a_suggestion_and_every_problem_is_listed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[bindings]\n"intake.sumbit" = "ctrl+s"\n"queue.claim" = "ctrl+"\n'
        '"queue.search" = "ctrl+pgup"\n',
    )
    with pytest.raises(KeymapError) as err:
        load_keymap(path, KNOWN)
    problems = err.value.problems
    assert "unknown binding id 'intake.sumbit'; did you mean 'intake.submit'?" in problems
    assert "queue.claim: malformed key 'ctrl+': nothing after the last '+'" in problems
    assert any("'pgup'" in p and "pageup" in p for p in problems)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("f10", True),
        ("ctrl+s", True),
        ("ctrl+shift+tab", True),
        ("question_mark", True),
        ("?", True),
        ("A", True),
        ("enter", True),
        ("ctrll+s", False),
        ("ctrl+ctrl+s", False),
        ("f25", False),
        ("", False),
        ("ctrl+", False),
    ],
)
def test_key_syntax(key: str, ok: bool) -> None:
    assert (key_problem(key) is None) == ok


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeymapError, match="not valid TOML"):
        load_keymap(write(tmp_path, "[bindings\n"))
    with pytest.raises(KeymapError, match="no such file"):
        load_keymap(tmp_path / "absent.toml")


def test_clashes_within_a_scope_and_with_global_bindings() -> None:
    bindings = {
        "app.quit": "ctrl+q",
        "intake.submit": "ctrl+s",
        "intake.dispatch": "ctrl+g,shift+ctrl+q",
        "queue.claim": "ctrl+s",
        "queue.search": "ctrl+q",
    }
    scopes = {"app.quit": "app"}
    # ctrl+q is global, so queue.search clashes with it; ctrl+shift+q is another key
    assert find_clashes(bindings, scopes) == [("ctrl+q", "app.quit", "queue.search")]
    # same key in two screens is fine; in one screen it is a clash naming both
    same_screen = {"queue.claim": "ctrl+s", "queue.search": "ctrl+s"}
    assert find_clashes(same_screen, {}) == [("ctrl+s", "queue.claim", "queue.search")]
    assert find_clashes({"intake.submit": "ctrl+s", "queue.claim": "ctrl+s"}, {}) == []


def test_modifier_order_does_not_hide_a_clash() -> None:
    clashes = find_clashes({"a.one": "ctrl+shift+x", "a.two": "shift+ctrl+x"}, {})
    assert [(a, b) for _, a, b in clashes] == [("a.one", "a.two")]


def test_shipped_keymaps_load_without_clashes() -> None:
    names = shipped_keymap_names()
    for name in names:
        keymap = shipped_keymap(name)
        assert keymap.bindings
        assert find_clashes(keymap, {}) == []
    with pytest.raises(KeymapError, match="no shipped keymap"):
        shipped_keymap("no-such-map")
