"""A user keymap overriding one key, the clash report naming both actions, the function-key
map, and the whole desk in English with ``--lang en``."""

from __future__ import annotations

from agent_tui.config import load_settings
from agent_tui.screens.intake import IntakeScreen
from agent_tui.screens.queue import QueueScreen
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, screen_text, sign_in, until
from tests.tui.test_desk_intake import message, type_into


async def test_user_keymap_overrides_a_key_and_a_clash_is_reported_on_start(
    server: RunningServer,
) -> None:
    path = load_settings().user_keymap_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[keys]\n"intake.on_spot" = "f9"\n"app.kb" = "ctrl+n"\n', "utf-8")
    app = make_app(server.url)
    async with app.run_test(size=(120, 36)) as pilot:
        report = "按键冲突：ctrl+n 同时绑定了 app.intake (新建受理) 和 app.kb (知识库)"
        assert report in app.keymap_report
        assert report in [n.message for n in app._notifications]
        await sign_in(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await until(
            pilot, lambda: "f9 当场解答" in screen_text(app).replace("F9", "f9"), "the footer"
        )
        await type_into(pilot, "phone", "13812340000")
        await type_into(pilot, "account", "咨询社保卡补办")
        await type_into(pilot, "answer", "已告知补办流程")  # 答复内容: required on the spot
        await pilot.press("ctrl+s")  # no longer bound on intake
        await pilot.pause(0.3)
        assert screen.last_saved == ""
        await pilot.press("f9")
        await until(pilot, lambda: screen.last_saved, "saved with the new key")


async def test_function_key_map_moves_the_desk_to_f_keys(server: RunningServer) -> None:
    app = make_app(server.url, keymap="function-keys", lang="en")
    async with app.run_test(size=(120, 36)) as pilot:
        await sign_in(pilot)
        assert app.keymap_report == []
        await pilot.press("f3")  # app.queue
        await until(pilot, lambda: isinstance(app.screen, QueueScreen), "the queue")
        await pilot.press("f2")  # app.intake
        await until(pilot, lambda: isinstance(app.screen, IntakeScreen), "intake")


async def test_the_desk_in_english(server: RunningServer) -> None:
    app = make_app(server.url, lang="en")
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: "Sign in to" in screen_text(app), "the English sign-in")
        await sign_in(pilot)
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        await until(pilot, lambda: "Online" in screen_text(app), "the English status bar")
        text = screen_text(app)
        assert "Phone *" in text and "Answered on the spot" in text and "Dispatch" in text
        await type_into(pilot, "phone", "12345")
        await until(pilot, lambda: message(screen, "phone").startswith("Phone"), "the message")
        assert all(ch < "\u4e00" for ch in message(screen, "phone"))  # no Chinese in it
