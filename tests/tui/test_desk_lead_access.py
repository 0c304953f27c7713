"""The lead mode belongs to a signed-in lead: an agent never gets it, whatever the settings,
and a lead signing out takes it with them (the next person at the desk lands on intake)."""

from __future__ import annotations

from agent_tui.screens.intake import IntakeScreen
from tests.support.server import RunningServer
from tests.tui.conftest import make_app, sign_in, until


async def test_an_agent_started_in_lead_mode_lands_on_intake_and_the_lead_key_is_refused(
    server: RunningServer,
) -> None:
    from agent_tui.lead import LeadPanelScreen

    app = make_app(server.url, mode="lead", lang="en")
    async with app.run_test(size=(160, 48)) as pilot:
        await sign_in(pilot, "agent1")
        await until(pilot, lambda: isinstance(app.screen, IntakeScreen), "intake")
        await pilot.press(app.key_for("app.lead"))
        await until(
            pilot,
            lambda: any("lead" in str(n.message).lower() for n in app._notifications),
            "the refusal",
        )
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        assert not any(isinstance(s, LeadPanelScreen) for s in app.screen_stack)
        assert "lead" not in app._modes


async def test_a_lead_signing_out_on_the_panel_leaves_no_lead_mode_for_the_next_agent(
    server: RunningServer,
) -> None:
    from agent_tui.lead import LeadPanelScreen
    from agent_tui.screens.signin import SignInScreen

    app = make_app(server.url, mode="lead")
    async with app.run_test(size=(160, 48)) as pilot:
        await sign_in(pilot, "lead1")
        await until(pilot, lambda: isinstance(app.screen, LeadPanelScreen), "the lead panel")
        await pilot.press(app.key_for("app.sign_out"))
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
        assert app.current_mode == "intake"  # the dialog is not over the panel
        assert "lead" not in app._modes
        await sign_in(pilot, "agent1")
        await until(pilot, lambda: isinstance(app.screen, IntakeScreen), "intake")
        assert "lead" not in app._modes
        await pilot.press(app.key_for("app.lead"))
        await pilot.pause()
        assert isinstance(app.screen, IntakeScreen)
        assert not any(isinstance(s, LeadPanelScreen) for s in app.screen_stack)


async def test_a_lead_signing_in_again_gets_a_panel_with_the_new_token(
    server: RunningServer,
) -> None:
    from agent_tui.lead import LeadPanelScreen

    app = make_app(server.url, mode="lead")
    async with app.run_test(size=(160, 48)) as pilot:
        await sign_in(pilot, "lead1")
        await until(pilot, lambda: isinstance(app.screen, LeadPanelScreen), "the lead panel")
        first = app._lead_token
        await pilot.press(app.key_for("app.sign_out"))
        await sign_in(pilot, "lead1")
        panel = await until(
            pilot,
            lambda: app.screen if isinstance(app.screen, LeadPanelScreen) else None,
            "the lead panel again",
        )
        assert app._lead_token is not None and app._lead_token != first
        header = panel.source._client.headers["Authorization"]  # type: ignore[attr-defined]
        assert header == f"Bearer {app._lead_token}"
        await until(pilot, lambda: panel.refresh_count > 0, "the panel's first figures")
        assert panel.denied is None
