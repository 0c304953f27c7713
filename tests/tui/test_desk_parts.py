"""The desk's parts that need no running UI: keymaps, config, cell widths, the form factory."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from agent_tui.actions import ACTIONS, BY_ID, clashes, default_keymap, lead_actions
from agent_tui.cells import columns, fit, fit_right
from agent_tui.cli import main
from agent_tui.config import ConfigError, load_settings
from agent_tui.i18n import has, t
from agent_tui.keys import resolve
from agent_tui.widgets.form_factory import field_specs, make_widget, read_value, write_value
from agent_tui.widgets.queue_table import countdown
from hotline.forms import load_shipped_forms
from hotline.resources import shipped_dir

# ---------------------------------------------------------------- keymaps


def test_every_action_has_a_dotted_id_and_texts_in_both_languages() -> None:
    assert len(BY_ID) == len(ACTIONS) + len(lead_actions())
    for action in ACTIONS:
        assert "." in action.id and action.id.split(".")[0] == action.scope
        assert has(action.text), action.text
        assert action.description("zh") != action.description("en")


def test_shipped_default_keymap_is_the_declared_defaults() -> None:
    data = tomllib.loads((shipped_dir("keymaps") / "default.toml").read_text("utf-8"))
    assert data["keys"] == {a.id: a.key for a in ACTIONS}
    # the lead panel's ids are known too (their defaults live in agent_tui.lead)
    assert "lead.refresh" in default_keymap()


@pytest.mark.parametrize("name", ["default", "function-keys"])
def test_shipped_keymaps_have_no_clashes_and_no_unknown_ids(name: str) -> None:
    keymap = resolve(name)
    assert keymap.clashes == []
    assert keymap.unknown_ids == []


def test_function_keys_put_the_call_actions_on_f_keys() -> None:
    keys = resolve("function-keys").keys
    assert keys["intake.on_spot"] == "f5"
    assert keys["intake.dispatch"] == "f6"
    assert keys["app.queue"] == "f3"
    assert all(keys[i].startswith("f") for i in ("app.seat.ready", "app.sync", "kb.insert"))


def test_user_file_overrides_one_key_and_a_clash_names_both_actions(tmp_path: Path) -> None:
    user = tmp_path / "keymap.toml"
    user.write_text('[keys]\n"intake.dispatch" = "ctrl+s"\n"no.such" = "x"\n', "utf-8")
    keymap = resolve("default", user)
    assert keymap.keys["intake.dispatch"] == "ctrl+s"
    assert keymap.keys["intake.on_spot"] == "ctrl+s"
    assert ("ctrl+s", "intake.on_spot", "intake.dispatch") in keymap.clashes
    assert keymap.unknown_ids == ["keymap.toml: no.such"]


def test_same_key_on_two_screens_is_no_clash_but_an_app_key_is() -> None:
    keys = default_keymap()
    assert clashes(keys) == []  # ctrl+s is on intake and on ticket: never active together
    keys["app.kb"] = "ctrl+s"
    found = clashes(keys)
    assert ("ctrl+s", "app.kb", "intake.on_spot") in found
    assert ("ctrl+s", "app.kb", "ticket.note") in found


def test_keys_command_lists_ids_keys_and_descriptions() -> None:
    result = CliRunner().invoke(main, ["--lang", "en", "keys"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("intake.dispatch"))
    assert line.split()[1] == "ctrl+g" and line.endswith("Dispatch")
    zh = CliRunner().invoke(main, ["--keymap", "function-keys", "keys"])
    assert any(
        ln.startswith("intake.on_spot") and "f5" in ln and "当场解答" in ln
        for ln in zh.output.splitlines()
    )


def test_keys_command_reports_a_clash_from_the_user_file() -> None:
    settings = load_settings()
    settings.user_keymap_path.parent.mkdir(parents=True, exist_ok=True)
    settings.user_keymap_path.write_text('[keys]\n"app.queue" = "ctrl+n"\n', "utf-8")
    result = CliRunner().invoke(main, ["--lang", "en", "keys"])
    assert result.exit_code == 1
    assert "ctrl+n is bound to both app.intake and app.queue" in result.output


# ---------------------------------------------------------------- config


def test_config_file_profile_then_environment_then_options() -> None:
    settings = load_settings()
    settings.config_path.write_text(
        'server = "http://a.example:1"\nlang = "en"\n'
        '[profiles.night]\nserver = "http://b.example:2"\n',
        "utf-8",
    )
    assert load_settings().server == "http://a.example:1"
    assert load_settings("night").server == "http://b.example:2"
    assert load_settings("night").lang == "en"
    env = {"AGENT_TUI_LANG": "zh", "AGENT_TUI_SERVER": "http://c.example:3"}
    from_env = load_settings("night", env=env)
    assert (from_env.lang, from_env.server) == ("zh", "http://c.example:3")
    assert from_env.with_overrides(lang="en", server=None).lang == "en"


def test_bad_config_value_names_the_setting() -> None:
    settings = load_settings()
    settings.config_path.write_text('lang = "fr"\n', "utf-8")
    with pytest.raises(ConfigError, match="lang 'fr'"):
        load_settings()
    result = CliRunner().invoke(main, ["locate"])
    assert result.exit_code != 0 and "lang 'fr'" in result.output


def test_locate_prints_the_paths() -> None:
    result = CliRunner().invoke(main, ["locate"])
    assert result.exit_code == 0
    assert "config.toml" in result.output and "cache-default.db" in result.output


# ---------------------------------------------------------------- cells


def test_fit_counts_cells_not_characters() -> None:
    assert cell_len(fit("浦东新区世纪大道100号", 10)) == 10
    assert fit("浦东新区世纪大道100号", 10).startswith("浦东新区")
    assert fit("张三", 6) == "张三  "
    # never half a wide character: 5 cells can hold 2 wide characters and the ellipsis
    assert fit("一二三四五六", 5) == "一二…"
    assert cell_len(fit_right("1:00:00", 9)) == 9
    row = columns(["王小明", "13812345678", "徐汇区"], [8, 12, 6])
    assert cell_len(row) == 8 + 12 + 6 + 2


def test_countdown_shows_time_left_and_time_late() -> None:
    now = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    assert countdown(now + timedelta(minutes=29, seconds=5), now) == "0:29:05"
    assert countdown(now - timedelta(minutes=3), now) == "-0:03:00"
    assert countdown(None, now) == ""


# ---------------------------------------------------------------- form factory


def test_factory_makes_a_spec_per_field_in_the_ui_language() -> None:
    forms = load_shipped_forms()
    general = field_specs(forms["general"], "zh")
    kinds = {s.id: s.kind for s in general}
    assert kinds["phone"] == "input" and kinds["account"] == "textarea"
    assert kinds["kind"] == "select" and kinds["urgent"] == "checkbox"
    kind = next(s for s in general if s.id == "kind")
    assert ("投诉", "complaint") in kind.options and kind.required
    english = {s.id: s for s in field_specs(forms["general"], "en")}
    assert english["phone"].label == "Phone"
    urgent = {s.id: s for s in field_specs(forms["urgent_medical"], "zh")}
    assert urgent["bite_time"].type == "datetime" and urgent["bite_time"].required
    assert ("狂犬疫苗", "rabies_vaccine") in urgent["urgent_subcategory"].options
    district = urgent["district"]
    assert district.kind == "select" and len(district.options) >= 16


async def test_factory_widgets_hold_and_return_answers() -> None:
    """Widgets need a running app to hold values, so this one mounts them in a bare App."""
    from textual.app import App

    specs = {s.id: s for s in field_specs(load_shipped_forms()["general"], "zh")}
    widgets = {name: make_widget(specs[name]) for name in ("phone", "urgent", "account", "kind")}

    class Holder(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            yield from widgets.values()

    async with Holder().run_test():
        assert read_value(widgets["kind"]) == "consultation"  # the form's default
        write_value(widgets["phone"], "13812345678")
        assert read_value(widgets["phone"]) == "13812345678"
        write_value(widgets["urgent"], True)
        assert read_value(widgets["urgent"]) is True
        write_value(widgets["account"], "小区门口垃圾没人清运")
        assert read_value(widgets["account"]) == "小区门口垃圾没人清运"
        write_value(widgets["kind"], "no-such-choice")
        assert read_value(widgets["kind"]) is None


def test_every_desk_text_has_both_languages() -> None:
    from agent_tui.i18n.desk import TEXTS

    for key, (zh, en) in TEXTS.items():
        assert zh and en, key
    assert t("queue.col.caller", lang="en") == "Caller"


def test_no_keyring_is_said_before_the_desk_opens() -> None:
    import keyring
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())  # the autouse fixture puts the test keyring back
    result = CliRunner().invoke(main, ["--lang", "en"])
    assert result.exit_code != 0
    assert "No usable keyring backend" in result.output


def test_high_contrast_theme_is_chosen_by_setting() -> None:
    from agent_tui.app import build_app
    from agent_tui.config import Settings

    app = build_app(Settings(theme="desk-high-contrast"))
    assert app.theme == "desk-high-contrast"
    colors = app.current_theme
    assert (colors.foreground, colors.background) == ("#FFFFFF", "#000000")
