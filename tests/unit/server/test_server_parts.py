"""Small server parts that need no database: configuration, error bodies, KB search tokens."""

from __future__ import annotations

import pytest

from hotline_server.errors import validation_body
from hotline_server.live.text import query_tokens, search_tokens
from hotline_server.settings import ConfigError, Settings, normalize_database_url


def test_database_urls_are_normalized_to_psycopg3() -> None:
    assert normalize_database_url("postgresql://u@h:5432/d") == "postgresql+psycopg://u@h:5432/d"
    assert normalize_database_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(ConfigError, match="unsupported"):
        normalize_database_url("mysql://u@h/d")


def test_settings_explain_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_TOKEN_TTL_SECONDS", "0")
    with pytest.raises(ConfigError, match="HOTLINE_TOKEN_TTL_SECONDS must be at least 1"):
        Settings.from_env("sqlite:///x.db")
    monkeypatch.delenv("HOTLINE_TOKEN_TTL_SECONDS")
    monkeypatch.setenv("HOTLINE_TZ", "Mars/Olympus")
    with pytest.raises(ConfigError, match="time zone"):
        Settings.from_env("sqlite:///x.db")
    monkeypatch.setenv("HOTLINE_TZ", "Asia/Shanghai")
    monkeypatch.setenv("HOTLINE_TELEPHONY_TOKEN", "short")
    with pytest.raises(ConfigError, match="16 characters"):
        Settings.from_env("sqlite:///x.db")


def test_default_database_is_a_file_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_DATABASE_URL", raising=False)
    url = Settings.from_env().database_url
    assert url.startswith("sqlite:///") and url.endswith("hotline.db")


def test_validation_errors_name_the_field() -> None:
    body = validation_body(
        [{"loc": ("body", "mutations", 3, "args"), "msg": "Field required"},
         {"loc": ("query", "limit"), "msg": "too big"}]
    )  # fmt: skip
    assert [f.field for f in body.fields] == ["mutations.3.args", "limit"]
    assert body.error == "invalid" and "mutations.3.args" in body.message


def test_chinese_search_tokens_need_no_spaces() -> None:
    article = set(search_tokens("核酸检测点开放时间 PCR 24h"))
    assert set(query_tokens("检测点")) <= article
    assert set(query_tokens("pcr")) <= article
    assert not set(query_tokens("检测核酸")) <= article
    assert query_tokens("药") == ["药"]
