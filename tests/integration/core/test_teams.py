"""Team visibility: with teams configured an agent sees their own and their team's tickets."""

from __future__ import annotations

from pathlib import Path

from tests.integration.core.conftest import PASSWORD, Api, client_id, mutation, ticket_args
from tests.support.server import start_server

TEAMS = {
    "amy": ("agent", PASSWORD, "north"),
    "ann": ("agent", PASSWORD, "north"),
    "sam": ("agent", PASSWORD, "south"),
    "lee": ("lead", PASSWORD),
}


def test_agent_sees_own_and_team_tickets(database_url: str, tmp_path: Path) -> None:
    server = start_server(database_url, tmp_path, users=TEAMS)
    try:
        api = Api(server)
        north, south = ticket_args(), ticket_args()
        assert (
            api.push("amy", client_id(), [mutation(1, "create_ticket", north)]).status_code == 200
        )
        assert (
            api.push("sam", client_id(), [mutation(1, "create_ticket", south)]).status_code == 200
        )

        def seen(user: str) -> set[str]:
            pulled = {c["entity_id"] for c in api.pull_all(user) if c["entity"] == "ticket"}
            with api.client(user) as c:
                listed = {t["id"] for t in c.get("/api/v1/tickets").json()["tickets"]}
            assert pulled == listed
            return listed

        assert seen("ann") == {north["id"]}
        assert seen("sam") == {south["id"]}
        assert seen("lee") == {north["id"], south["id"]}
        with api.client("sam") as c:
            assert c.get(f"/api/v1/tickets/{north['id']}").status_code == 404
        change = {"ticket_id": north["id"], "base_revision": 1, "changes": {"promise": "x"}}
        sneaky = api.push("sam", client_id(), [mutation(1, "update_ticket", change)])
        assert sneaky.json()["results"][0]["outcome"] == "rejected"
    finally:
        server.stop()


def test_a_lead_reassigns_a_ticket_and_it_follows_the_agent(
    database_url: str, tmp_path: Path
) -> None:
    server = start_server(database_url, tmp_path, users=TEAMS)
    try:
        api = Api(server)
        ticket = ticket_args()
        assert (
            api.push("amy", client_id(), [mutation(1, "create_ticket", ticket)]).status_code == 200
        )

        def assign(user: str, to: str) -> dict[str, object]:
            change = {"ticket_id": ticket["id"], "base_revision": 1, "changes": {"assignee": to}}
            result: dict[str, object] = api.push(
                user, client_id(), [mutation(1, "update_ticket", change)]
            ).json()["results"][0]
            return result

        refused = assign("amy", "sam")
        assert refused["outcome"] == "rejected"
        assert refused["field"] == "args.changes.assignee"
        nobody = assign("lee", "nobody")
        assert (nobody["outcome"], nobody["field"]) == ("rejected", "args.changes.assignee")

        assert assign("lee", "sam")["outcome"] == "applied"
        with api.client("lee") as c:
            held = c.get(f"/api/v1/tickets/{ticket['id']}").json()
        assert (held["assignee"], held["team"]) == ("sam", "south")
        pulled = {c["entity_id"] for c in api.pull_all("sam") if c["entity"] == "ticket"}
        assert ticket["id"] in pulled
        with api.client("sam") as c:
            assert c.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200
        with api.client("ann") as c:  # it left the north team with its new agent
            assert c.get(f"/api/v1/tickets/{ticket['id']}").status_code == 404
        with api.client("amy") as c:  # first-contact responsibility: the taker still sees it
            assert c.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200
    finally:
        server.stop()
