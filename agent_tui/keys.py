"""Keymaps: which key runs which binding id.

A keymap file is TOML with a ``[keys]`` table of ``"binding.id" = "key[,key]"``. The shipped
maps live in ``keymaps/`` (``default``, ``function-keys``); a user file ``keymap.toml`` in the
config dir overrides single keys on top of the chosen map. Unknown ids are reported, never
silently ignored, because a typo in a keymap would otherwise leave an agent without a key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from agent_tui.actions import ALL_ACTIONS, BY_ID, clashes, default_keymap
from hotline.resources import shipped_dir


class KeymapError(ValueError):
    """A keymap file that cannot be used; the message names the file and the problem."""


@dataclass
class ResolvedKeymap:
    name: str
    keys: dict[str, str]  # binding id -> key string, for every action
    unknown_ids: list[str] = field(default_factory=list)
    clashes: list[tuple[str, str, str]] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)


def shipped_names() -> list[str]:
    return sorted(p.stem for p in shipped_dir("keymaps").glob("*.toml"))


def read_keymap_file(path: Path) -> dict[str, str]:
    """The ``[keys]`` table of ``path`` (a missing table is an empty map)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise KeymapError(f"{path}: cannot read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise KeymapError(f"{path}: not valid TOML ({exc})") from exc
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in keys.items()
    ):
        raise KeymapError(f'{path}: [keys] must map binding ids to key strings ("ctrl+s")')
    return dict(keys)


def shipped_path(name: str) -> Path:
    path = shipped_dir("keymaps") / f"{name}.toml"
    if not path.is_file():
        raise KeymapError(f"no keymap named {name!r}; shipped: {', '.join(shipped_names())}")
    return path


def resolve(name: str = "default", user_file: Path | None = None) -> ResolvedKeymap:
    """The shipped map ``name`` (or a path to a file) with ``user_file`` on top."""
    keys = default_keymap()
    sources: list[Path] = []
    unknown: list[str] = []
    base = Path(name) if name.endswith(".toml") else shipped_path(name)
    layers = [base]
    if user_file is not None and user_file.is_file():
        layers.append(user_file)
    for layer in layers:
        overrides = read_keymap_file(layer)
        sources.append(layer)
        for binding_id, key in overrides.items():
            if binding_id not in BY_ID:
                unknown.append(f"{layer.name}: {binding_id}")
                continue
            keys[binding_id] = key
    return ResolvedKeymap(
        name=name, keys=keys, unknown_ids=unknown, clashes=clashes(keys), sources=sources
    )


def listing(keymap: ResolvedKeymap, lang: str | None = None) -> list[tuple[str, str, str]]:
    """``(id, key, description)`` for every action, in declaration order."""
    return [(a.id, keymap.keys[a.id], a.description(lang)) for a in ALL_ACTIONS]
