"""Issue 13 on the desk: the new intake fields, an anonymous caller saved with no phone,
and a confidential caller that another agent's desk (its own installation) never shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keyring
import pytest

from agent_tui.screens.intake import IntakeScreen
from agent_tui.screens.ticket import TicketScreen
from agent_tui.widgets.form_factory import write_value
from tests.support.keyring_backend import MemoryKeyring
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, run_in_thread, screen_text, sign_in, until
from tests.tui.test_desk_intake import message, server_get, type_into

NAME = "保密的张女士"
PHONE = "13655556666"


async def test_anonymous_and_confidential_callers(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await sign_in(pilot, "agent1")
        screen = app.screen
        assert isinstance(screen, IntakeScreen)
        await until(pilot, lambda: screen.form is not None, "the form")
        shown = screen_text(app)
        for label in ("诉求分类", "承办单位", "街道/镇", "保密/匿名", "来电号码"):
            assert label in shown or any(s.label == label for s in screen.specs)
        units = next(s for s in screen.specs if s.id == "handling_unit")
        assert ("市水务局", "市水务局") in units.options  # the directory, as a picker

        # anonymous: no phone, saved and accepted by the server
        await type_into(pilot, "account", "匿名反映某饭店油烟扰民")
        await pilot.press("ctrl+g")  # intake.dispatch: refused, the phone is missing
        await until(pilot, lambda: "联系电话" in message(screen, "phone"), "phone required")
        write_value(screen.query_one("#f-privacy"), "anonymous")
        await until(pilot, lambda: message(screen, "phone") == "", "the phone excused")
        anonymous_id = screen.ticket_id
        await pilot.press("ctrl+g")
        await until(pilot, lambda: screen.last_saved, "the anonymous ticket saved")

        # confidential, with a street that is not in the district: refused, named
        screen.last_saved = ""
        await until(pilot, lambda: screen.ticket_id != anonymous_id, "a new form")
        await type_into(pilot, "caller_name", NAME)
        await type_into(pilot, "phone", PHONE)
        write_value(screen.query_one("#f-district"), "xuhui")
        await type_into(pilot, "account", "举报隔壁群租")
        await type_into(pilot, "street", "外滩")
        await until(pilot, lambda: "不是徐汇区的街道/镇" in message(screen, "street"), "street")
        await pilot.press("backspace", "backspace", *"徐家汇")
        await until(pilot, lambda: message(screen, "street") == "", "the street accepted")
        write_value(screen.query_one("#f-privacy"), "confidential")
        secret_id = screen.ticket_id
        await pilot.press("ctrl+g")
        await until(pilot, lambda: screen.last_saved, "the confidential ticket saved")
        await until(pilot, lambda: app.status.outbox == 0, "both sent")

    anon = await run_in_thread(lambda: server_get(server, f"/api/v1/tickets/{anonymous_id}"))
    assert (anon["privacy"], anon["phone"]) == ("anonymous", "")
    mine = await run_in_thread(lambda: server_get(server, f"/api/v1/tickets/{secret_id}"))
    assert (mine["caller_name"], mine["street"]) == (NAME, "徐家汇街道")

    # agent2, on their own laptop (another desk home): the ticket is there, the caller not
    other = tmp_path / "agent2-home"
    for sub in ("config", "data", "log", "cache"):
        (other / sub).mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(other / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(other / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(other / "log"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(other / "cache"))
    monkeypatch.setenv("AGENT_TUI_HOME", str(other))
    keyring.set_keyring(MemoryKeyring())  # that laptop's own keychain (the fixture restores)
    app2 = make_app(server.url)
    async with app2.run_test(size=(160, 48)) as pilot:
        await sign_in(pilot, "agent2")

        def held() -> Any:
            return app2.desk.ticket(secret_id)

        local = await until(pilot, held, "the confidential ticket in agent2's cache")
        assert local.data["caller_name"] == "" and local.data["phone"] == ""
        assert local.data["account"] == "举报隔壁群租"
        number = await until(pilot, lambda: held().data.get("number"), "the ticket's number")
        await pilot.press("ctrl+o")  # app.queue
        await until(pilot, lambda: type(app2.screen).__name__ == "QueueScreen", "the queue")
        await pilot.press("6")  # queue.view.all
        await until(pilot, lambda: number in screen_text(app2), "the queue row")
        text = screen_text(app2)
        assert NAME not in text and PHONE not in text

        await app2.push_screen(TicketScreen(secret_id))  # the ticket view
        await until(pilot, lambda: "举报隔壁群租" in screen_text(app2), "the ticket view")
        text = screen_text(app2)
        assert "保密，仅受理人和班长可见" in text
        assert NAME not in text and PHONE not in text
        assert "徐家汇街道" in text  # where it happened is not the caller's identity


def test_the_factory_builds_pickers_for_topics_and_the_unit_directory() -> None:
    from agent_tui.widgets.form_factory import field_specs
    from hotline.forms import load_shipped_forms
    from hotline.units import Unit

    general = load_shipped_forms()["general"]
    specs = {s.id: s for s in field_specs(general, "en")}
    assert specs["topic"].kind == "select"
    assert ("Water supply, drainage and flooding", "water_drainage") in specs["topic"].options
    assert (specs["street"].kind, specs["street"].max_length) == ("input", 40)
    assert specs["handling_unit"].kind == "select"
    assert ("Municipal Water Authority", "市水务局") in specs["handling_unit"].options
    # the directory the desk fetched (and cached) replaces the shipped one
    fetched = (Unit("u1", "某街道办事处", "A street office"),)
    chosen = {s.id: s for s in field_specs(general, "zh", fetched)}["handling_unit"]
    assert chosen.options == [("某街道办事处", "某街道办事处")]
