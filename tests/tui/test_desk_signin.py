"""Sign-in, silent sign-in on the next start, sign-out, and an unreachable server at start."""

from __future__ import annotations

from agent_tui.screens.intake import IntakeScreen
from agent_tui.screens.signin import SignInScreen
from agent_tui.widgets.status_bar import StatusBar
from offline_cache import load_token
from tests.support.server import RunningServer, free_port
from tests.tui.conftest import make_app, sign_in, until, until_focused


def bar_text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(StatusBar).render())


async def test_sign_in_keeps_the_token_in_keyring_and_next_start_is_silent(
    server: RunningServer,
) -> None:
    app = make_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "agent1")
        assert isinstance(app.screen, IntakeScreen)
        await until(pilot, lambda: app.status.link == "online", "the link to come up")
        assert "在线" in bar_text(app)
    assert load_token("default", server.url)

    again = make_app(server.url)
    async with again.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: again.status.user == "agent1", "the silent sign-in")
        assert not any(isinstance(s, SignInScreen) for s in again.screen_stack)
        await pilot.press("alt+x")  # app.sign_out
        await until(pilot, lambda: isinstance(again.screen, SignInScreen), "the sign-in dialog")
    assert load_token("default", server.url) is None


async def test_wrong_password_is_said_in_the_dialog(server: RunningServer) -> None:
    app = make_app(server.url, lang="en")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
        await until_focused(pilot, "username")
        await pilot.press(*"agent1", "tab", *"wrong-password", "enter")
        error = app.screen.query_one("#signin-error")
        await until(pilot, lambda: "Sign-in failed" in str(error.render()), "the error")
        assert app.status.user == ""


async def test_unreachable_server_at_start_opens_the_desk_on_the_cache_offline() -> None:
    from offline_cache import save_token

    dead = f"http://127.0.0.1:{free_port()}"
    save_token("default", dead, "a-token-from-yesterday")
    app = make_app(dead)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, IntakeScreen), "the intake screen")
        await until(pilot, lambda: "离线" in bar_text(app), "the offline mark")
        assert not any(isinstance(s, SignInScreen) for s in app.screen_stack)


async def test_a_revoked_token_asks_to_sign_in_again_and_keeps_the_outbox(
    server: RunningServer,
) -> None:
    import httpx

    from hotline.model import TicketFields
    from tests.tui.conftest import run_in_thread

    app = make_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await sign_in(pilot, "agent2")
        await until(pilot, lambda: app.status.link == "online", "online")
        token = load_token("default", server.url)
        revoked = await run_in_thread(
            lambda: httpx.post(
                server.url + "/api/v1/auth/logout",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
        )
        assert revoked.status_code == 204
        fields = TicketFields(phone="13544445555", account="令牌失效后保存")
        await run_in_thread(
            lambda: app.desk.store.create_ticket(fields, call_started_at=app.clock())
        )
        app.desk.sync_now()
        await until(pilot, lambda: isinstance(app.screen, SignInScreen), "the sign-in dialog")
        # kept while nobody is signed in (the bar's read runs as the dialog opens)
        await until(pilot, lambda: app.status.outbox == 1, "the outbox counted")
        assert app.screen.query_one("#username").value == "agent2"  # who was signed in
        await until_focused(pilot, "password")  # the user name is filled in already
        await pilot.press(*"pw-agent2", "enter")
        await until(pilot, lambda: app.status.outbox == 0, "the outbox to drain")
