"""The demo's key drops the demo's link (and says so, in Chinese or English); the real desk
has no such key."""

from __future__ import annotations

import pytest

from agent_tui.app import build_app
from agent_tui.config import Settings
from agent_tui.demo.desk import CUT_SECONDS, DemoDeskApp
from agent_tui.services import DeskServices

NOWHERE = "http://127.0.0.1:9"  # nothing listens: the desk stays at its sign-in dialog


class FakeWorld:
    def __init__(self) -> None:
        self.cuts: list[float] = []

    def cut_link(self, seconds: float) -> float:
        self.cuts.append(seconds)
        return 0.0


def _notes(app: object) -> list[str]:
    return [str(n.message) for n in getattr(app, "_notifications", [])]


@pytest.mark.parametrize(
    ("keymap", "key", "lang", "said"),
    [
        ("default", "alt+l", "zh", "已断开演示网络 30 秒"),
        ("function-keys", "ctrl+f12", "en", "Demo link cut for 30 s"),
    ],
)
async def test_the_demo_key_cuts_the_link_and_says_so(
    keymap: str, key: str, lang: str, said: str
) -> None:
    settings = Settings(server=NOWHERE, keymap=keymap, lang=lang)
    world = FakeWorld()
    app = DemoDeskApp(settings, DeskServices(settings), world=world)
    async with app.run_test(size=(120, 36)) as pilot:
        from agent_tui.screens.signin import SignInScreen

        for _ in range(200):  # bounded: the cache opens first (the desk's keys wait for it)
            if isinstance(app.screen, SignInScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, SignInScreen)
        assert app.keymap_report == []
        await pilot.press(key)
        for _ in range(100):  # bounded: the action runs on the next message
            if world.cuts:
                break
            await pilot.pause(0.05)
        assert world.cuts == [CUT_SECONDS]
        assert any(said in n for n in _notes(app)), _notes(app)


async def test_the_real_desk_has_no_demo_key() -> None:
    settings = Settings(server=NOWHERE)
    app = build_app(settings, desk=DeskServices(settings))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)
        bound = {b.id for bs in app._bindings.key_to_bindings.values() for b in bs}
        assert "demo.cut_link" not in bound
        assert not hasattr(app, "action_demo_cut_link")
