"""Desk settings: ``config.toml`` in the config dir, then environment, then command line.

Layers, later wins: built-in defaults < ``config.toml`` (top level, then ``[profiles.NAME]``)
< ``AGENT_TUI_*`` environment variables < options given on the command line. The app is built
from a ``Settings`` by ``agent_tui.app.build_app``, so tests make one directly.
Secrets never live here: tokens and the cache key are in keyring (offline_cache.credentials).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from hotline.private_files import private_dir, write_private
from offline_cache.locations import locations

LANGS = ("zh", "en")
MODES = ("agent", "lead")
THEMES = ("desk", "desk-high-contrast")
ENV_PREFIX = "AGENT_TUI_"
# Closed tickets that are synced leave the laptop's cache after this many days (the server keeps
# them). The same default as offline_cache's (sqlbits.DEFAULT_RETENTION_DAYS; a test checks).
DEFAULT_RETENTION_DAYS = 30
RETENTION_DAYS_RANGE = (1, 3650)


class ConfigError(ValueError):
    """A setting that cannot be used; names the file or variable and the value."""


@dataclass(frozen=True)
class Settings:
    server: str = "http://127.0.0.1:8000"
    keymap: str = "default"
    lang: str = "zh"
    theme: str = "desk"
    profile: str = "default"
    mode: str = "agent"
    username: str = ""  # last user signed in on this profile, offered on the sign-in form
    retention_days: int = DEFAULT_RETENTION_DAYS  # for offline_cache.open_cache(retention_days=)
    config_dir: Path | None = None  # where config.toml and keymap.toml live
    data_dir: Path | None = None

    def with_overrides(self, **values: Any) -> Settings:
        clean = {k: v for k, v in values.items() if v is not None}
        return _checked(replace(self, **clean), "command line")

    @property
    def config_path(self) -> Path:
        return (self.config_dir or locations().config_dir) / "config.toml"

    @property
    def user_keymap_path(self) -> Path:
        return (self.config_dir or locations().config_dir) / "keymap.toml"


_SIMPLE = {"server", "keymap", "lang", "theme", "mode", "username"}
_INTS = {"retention_days"}


def _int_setting(key: str, value: Any, where: str) -> int:
    """A whole number from TOML (``retention_days = 30``) or text (``"30"``, the environment)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{where}: {key} must be a whole number of days")
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ConfigError(f"{where}: {key} {value!r} is not a whole number") from None
    return value


def _checked(settings: Settings, where: str) -> Settings:
    if settings.lang not in LANGS:
        raise ConfigError(f"{where}: lang {settings.lang!r} is not one of {', '.join(LANGS)}")
    if settings.mode not in MODES:
        raise ConfigError(f"{where}: mode {settings.mode!r} is not one of {', '.join(MODES)}")
    if settings.theme not in THEMES:
        raise ConfigError(f"{where}: theme {settings.theme!r} is not one of {', '.join(THEMES)}")
    low, high = RETENTION_DAYS_RANGE
    if not low <= settings.retention_days <= high:
        raise ConfigError(
            f"{where}: retention_days {settings.retention_days!r} must be {low} to {high} days"
        )
    if not settings.server.startswith(("http://", "https://")):
        raise ConfigError(
            f"{where}: server {settings.server!r} must start with http:// or https://"
        )
    return settings


def _from_table(table: dict[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "profiles":
            continue
        if key in _INTS:
            out[key] = _int_setting(key, value, where)
            continue
        if key not in _SIMPLE:
            raise ConfigError(
                f"{where}: unknown setting {key!r} (known: {', '.join(sorted(_SIMPLE | _INTS))})"
            )
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be a string")
        out[key] = value
    return out


def load_settings(
    profile: str | None = None,
    env: dict[str, str] | None = None,
    config_dir: Path | None = None,
) -> Settings:
    """Defaults, then the config file (and its profile section), then the environment."""
    env = dict(os.environ if env is None else env)
    profile = profile or env.get(ENV_PREFIX + "PROFILE") or "default"
    base = Settings(profile=profile, config_dir=config_dir)
    path = base.config_path
    values: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
        values.update(_from_table(data, str(path)))
        profiles = data.get("profiles", {})
        if isinstance(profiles, dict) and isinstance(profiles.get(profile), dict):
            values.update(_from_table(profiles[profile], f"{path} [profiles.{profile}]"))
    for f in fields(Settings):
        if f.name in _SIMPLE and (ENV_PREFIX + f.name.upper()) in env:
            values[f.name] = env[ENV_PREFIX + f.name.upper()]
        elif f.name in _INTS and (ENV_PREFIX + f.name.upper()) in env:
            name = ENV_PREFIX + f.name.upper()
            values[f.name] = _int_setting(f.name, env[name], name)
    return _checked(replace(base, **values), str(path))


def remember(settings: Settings, **values: str) -> None:
    """Write ``values`` into the profile's section of config.toml (e.g. the last user name).

    Only simple ``key = "value"`` lines are written; the file is rewritten as a whole from what
    was read, so comments are not kept. Called rarely (after a sign-in).
    """
    path = settings.config_path
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            return  # never overwrite a file the user is editing and broke
    section = data.setdefault("profiles", {}).setdefault(settings.profile, {})
    section.update(values)
    private_dir(path.parent)
    write_private(path, _dump(data).encode("utf-8"))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dump(data: dict[str, Any]) -> str:
    lines = [f"{k} = {_quote(str(v))}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in data.get("profiles", {}).items():
        lines.append("")
        lines.append(f"[profiles.{_quote(name)}]")
        lines.extend(f"{k} = {_quote(str(v))}" for k, v in table.items())
    return "\n".join(lines) + "\n"
