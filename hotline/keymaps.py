"""Keymaps: which keys run which action, as TOML files the user can read and edit.

A keymap file::

    name = "function-keys"
    description = "F1-F12, as on classic call-centre desktops"
    [bindings]
    "intake.submit" = "f10"
    "queue.claim" = "f5,ctrl+k"       # several keys: comma-separated

``[keys]`` is accepted as another name for ``[bindings]``. Binding ids are dotted
(``area.action``) and belong to the desk (``agent_tui``), which passes the ids it knows so a
typo is refused with a suggestion instead of being silently ignored. ``Keymap.as_textual()``
is what Textual's ``App.set_keymap`` takes. A user file overrides
single keys of the shipped map (``merge``). ``find_clashes`` reports two actions on one key in
the same scope (a binding in the ``app`` scope is active everywhere, so it clashes with all).

Pure: reads only the TOML file it is handed (or a shipped one); no Textual import.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from hotline.resources import shipped_dir

GLOBAL_SCOPE = "app"
MODIFIERS: tuple[str, ...] = ("ctrl", "alt", "shift", "meta", "super", "hyper")

# Named keys as Textual spells them (textual.keys); single printable characters are also keys.
NAMED_KEYS: frozenset[str] = frozenset(
    {
        "escape", "enter", "tab", "backtab", "backspace", "delete", "insert", "home", "end",
        "pageup", "pagedown", "up", "down", "left", "right", "space",
        "exclamation_mark", "quotation_mark", "number_sign", "dollar_sign", "percent_sign",
        "ampersand", "apostrophe", "left_parenthesis", "right_parenthesis", "asterisk", "plus",
        "comma", "minus", "full_stop", "slash", "colon", "semicolon", "less_than_sign",
        "equals_sign", "greater_than_sign", "question_mark", "commercial_at",
        "left_square_bracket", "backslash", "right_square_bracket", "circumflex_accent",
        "underscore", "grave_accent", "left_curly_bracket", "vertical_line",
        "right_curly_bracket", "tilde",
    }
    | {f"f{n}" for n in range(1, 25)}
)  # fmt: skip

_BINDING_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class KeymapError(ValueError):
    """A keymap that cannot be used; ``problems`` lists every fault, each naming its place."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class Keymap(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    description: str = ""
    bindings: dict[str, str] = Field(default_factory=dict)  # binding id -> "key[,key2]"

    def keys(self, binding_id: str) -> tuple[str, ...]:
        return split_keys(self.bindings.get(binding_id, ""))

    def as_textual(self) -> dict[str, str]:
        """For ``App.set_keymap``: binding id -> comma-separated keys."""
        return dict(self.bindings)


def split_keys(keys: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in keys.split(",") if k.strip())


def key_problem(key: str) -> str | None:
    """Why ``key`` is not a key Textual understands, or ``None`` when it is fine."""
    if not key:
        return "empty key"
    if key == "+" or len(key) == 1:
        return None if key.isprintable() and not key.isspace() else "not a printable character"
    parts = key.split("+")
    *mods, base = parts
    if not base:
        return "nothing after the last '+'"
    seen: set[str] = set()
    for mod in mods:
        if mod not in MODIFIERS:
            return f"unknown modifier {mod!r} (use {', '.join(MODIFIERS)})"
        if mod in seen:
            return f"modifier {mod!r} given twice"
        seen.add(mod)
    if len(base) == 1 and base.isprintable() and not base.isspace():
        return None
    if base in NAMED_KEYS:
        return None
    hint = difflib.get_close_matches(base, sorted(NAMED_KEYS), n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown key name {base!r}{extra}"


def canonical_key(key: str) -> str:
    """Modifiers in one order, so ``shift+ctrl+x`` and ``ctrl+shift+x`` compare equal."""
    if len(key) == 1 or "+" not in key[:-1]:
        return key
    *mods, base = key.split("+")
    return "+".join([*sorted(mods, key=MODIFIERS.index), base])


def _check(source: str, raw: Mapping[str, object], known_ids: Iterable[str] | None) -> Keymap:
    problems: list[str] = []
    for key in raw:
        if key not in ("name", "description", "bindings", "keys"):
            problems.append(f"unknown setting {key!r} (expected name, description, [bindings])")
    if "bindings" in raw and "keys" in raw:
        problems.append("give the table once, as [bindings] (not also as [keys])")
    for key in ("name", "description"):
        if key in raw and not isinstance(raw[key], str):
            problems.append(f"{key} must be text")
    table = raw.get("bindings", raw.get("keys", {}))
    if not isinstance(table, Mapping):
        problems.append('[bindings] must be a table of "binding.id" = "key[,key2]"')
        table = {}
    known = sorted(set(known_ids)) if known_ids is not None else None
    bindings: dict[str, str] = {}
    for binding_id, value in table.items():
        if not isinstance(value, str):
            problems.append(f'{binding_id}: keys must be text such as "ctrl+s" or "f5,ctrl+k"')
            continue
        if known is not None and binding_id not in known:
            hint = difflib.get_close_matches(binding_id, known, n=1)
            extra = f"; did you mean {hint[0]!r}?" if hint else ""
            problems.append(f"unknown binding id {binding_id!r}{extra}")
            continue
        if known is None and not _BINDING_ID.match(binding_id):
            problems.append(f"binding id {binding_id!r} must be dotted, like 'intake.submit'")
            continue
        keys = split_keys(value)
        if not keys:
            problems.append(f"{binding_id}: no key given")
            continue
        for k in keys:
            why = key_problem(k)
            if why is not None:
                problems.append(f"{binding_id}: malformed key {k!r}: {why}")
        bindings[binding_id] = ",".join(keys)
    if problems:
        raise KeymapError(source, problems)
    name = raw.get("name", "")
    description = raw.get("description", "")
    return Keymap(
        name=name if isinstance(name, str) else "",
        description=description if isinstance(description, str) else "",
        bindings=bindings,
    )


def parse_keymap(
    raw: Mapping[str, object], source: str = "keymap", known_ids: Iterable[str] | None = None
) -> Keymap:
    """A keymap from already-parsed TOML data."""
    return _check(source, raw, known_ids)


def load_keymap(path: Path | str, known_ids: Iterable[str] | None = None) -> Keymap:
    """Load a keymap file, or a shipped keymap when ``path`` is a bare name (``"default"``)."""
    candidate = Path(path)
    if not candidate.exists() and isinstance(path, str) and re.fullmatch(r"[\w-]+", path):
        return shipped_keymap(path, known_ids)
    try:
        with candidate.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise KeymapError(str(candidate), ["no such file"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise KeymapError(str(candidate), [f"not valid TOML: {exc}"]) from None
    keymap = _check(str(candidate), raw, known_ids)
    return keymap if keymap.name else keymap.model_copy(update={"name": candidate.stem})


def shipped_keymap_names() -> list[str]:
    try:
        folder = shipped_dir("keymaps")
    except FileNotFoundError:
        return []
    return sorted(p.stem for p in folder.glob("*.toml"))


def shipped_keymap(name: str, known_ids: Iterable[str] | None = None) -> Keymap:
    """One of the keymaps shipped in ``keymaps/`` (``default``, ``function-keys``, ...)."""
    path = shipped_dir("keymaps") / f"{name}.toml"
    if not path.is_file():
        names = ", ".join(shipped_keymap_names()) or "none"
        raise KeymapError(name, [f"no shipped keymap of that name (shipped: {names})"])
    return load_keymap(path, known_ids)


def merge(base: Keymap, override: Keymap) -> Keymap:
    """``base`` with each binding the ``override`` names replaced (a user file over a map)."""
    return Keymap(
        name=base.name,
        description=base.description,
        bindings={**base.bindings, **override.bindings},
    )


def find_clashes(
    bindings: Keymap | Mapping[str, str],
    scopes: Mapping[str, str],
) -> list[tuple[str, str, str]]:
    """Every (key, id_a, id_b) where two actions that are active together share a key.

    ``scopes`` maps binding id -> scope (a screen or widget name); an id missing from it is
    in the scope named by its first part (``queue.claim`` -> ``queue``). Two ids clash when
    their scopes are equal or either is ``app`` (global). Sorted, ``id_a < id_b``.
    """
    table = bindings.bindings if isinstance(bindings, Keymap) else bindings
    by_key: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for binding_id, keys in table.items():
        for key in split_keys(keys):
            canon = canonical_key(key)
            shown.setdefault(canon, key)
            if binding_id not in by_key.setdefault(canon, []):
                by_key[canon].append(binding_id)

    def scope(binding_id: str) -> str:
        return scopes.get(binding_id, binding_id.split(".", 1)[0])

    clashes: list[tuple[str, str, str]] = []
    for canon, ids in by_key.items():
        ordered = sorted(ids)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                sa, sb = scope(a), scope(b)
                if sa == sb or GLOBAL_SCOPE in (sa, sb):
                    clashes.append((shown[canon], a, b))
    return sorted(clashes)
