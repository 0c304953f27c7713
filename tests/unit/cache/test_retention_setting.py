"""The desk's ``retention_days`` setting (config.toml, AGENT_TUI_RETENTION_DAYS, command line):
how many days closed, synced tickets stay in the laptop's cache (offline_cache.open_cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_tui.config import DEFAULT_RETENTION_DAYS, ConfigError, load_settings, remember
from offline_cache import open_cache
from offline_cache.sqlbits import DEFAULT_RETENTION_DAYS as CACHE_DEFAULT


def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_default_is_the_caches_default(tmp_path: Path) -> None:
    assert DEFAULT_RETENTION_DAYS == CACHE_DEFAULT
    assert load_settings(env={}, config_dir=tmp_path).retention_days == CACHE_DEFAULT


def test_file_then_profile_then_environment_then_command_line(tmp_path: Path) -> None:
    d = write_config(tmp_path, "retention_days = 14\n\n[profiles.night]\nretention_days = 7\n")
    assert load_settings(env={}, config_dir=d).retention_days == 14
    assert load_settings("night", env={}, config_dir=d).retention_days == 7
    env = {"AGENT_TUI_RETENTION_DAYS": "3"}
    assert load_settings("night", env=env, config_dir=d).retention_days == 3
    settings = load_settings(env=env, config_dir=d).with_overrides(retention_days=90)
    assert settings.retention_days == 90


@pytest.mark.parametrize(
    ("text", "env", "named"),
    [
        ('retention_days = "a month"\n', {}, "config.toml"),
        ("retention_days = true\n", {}, "config.toml"),
        ("retention_days = 0\n", {}, "config.toml"),
        ("", {"AGENT_TUI_RETENTION_DAYS": "thirty"}, "AGENT_TUI_RETENTION_DAYS"),
        ("", {"AGENT_TUI_RETENTION_DAYS": "-1"}, "retention_days"),
    ],
)
def test_a_bad_value_names_where_it_came_from(
    tmp_path: Path, text: str, env: dict[str, str], named: str
) -> None:
    d = write_config(tmp_path, text)
    with pytest.raises(ConfigError, match=named):
        load_settings(env=env, config_dir=d)


def test_remember_keeps_the_setting_readable(tmp_path: Path) -> None:
    d = write_config(tmp_path, "retention_days = 10\n")
    settings = load_settings(env={}, config_dir=d)
    remember(settings, username="alice")  # rewrites the file (values as strings)
    again = load_settings(env={}, config_dir=d)
    assert again.retention_days == 10 and again.username == "alice"


def test_the_setting_reaches_the_cache(tmp_path: Path) -> None:
    settings = load_settings(env={"AGENT_TUI_RETENTION_DAYS": "7"}, config_dir=tmp_path)
    store = open_cache(settings.profile, retention_days=settings.retention_days)
    try:
        assert store.retention_days == 7
    finally:
        store.close()
