"""schemathesis against the running server's own /openapi.json (bounded: CI runs it).

Every operation gets a bounded number of generated requests, signed in as an admin (and the
phone system for telephony): no 5xx, every status documented, bodies match the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.core.conftest import PASSWORD, SERVER_ENV, TELEPHONY_TOKEN
from tests.support.server import RunningServer, start_server

EXAMPLES_PER_OPERATION = 12
STREAMS = {"/api/v1/events"}  # an endless SSE stream: covered by the live tests
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_server(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(database_url, tmp_path, users={"ada": ("admin", PASSWORD)},
                          extra_env=SERVER_ENV)  # fmt: skip
    try:
        yield server
    finally:
        server.stop()


def checker(op: Any, url: str, headers: dict[str, str]) -> Callable[[], None]:
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=op.as_strategy())
    def run(case: schemathesis.Case) -> None:
        if op.path == "/api/v1/auth/logout":
            return  # would revoke the token the other operations use
        response = case.call(base_url=url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)

    return run  # type: ignore[no-any-return]


def test_generated_requests_get_documented_answers(fuzz_server: RunningServer) -> None:
    url = fuzz_server.url
    login = httpx.post(url + "/api/v1/auth/login", json={"username": "ada", "password": PASSWORD})
    admin = login.json()["access_token"]
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    failures: list[str] = []
    tested = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path in STREAMS:
            continue
        token = TELEPHONY_TOKEN if "telephony" in op.path else admin
        headers = {"Authorization": f"Bearer {token}"}

        run = checker(op, url, headers)
        try:
            run()
            tested += 1
        except BaseException as exc:  # schemathesis raises an ExceptionGroup of failures
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:1500]}")
    assert tested >= 15
    assert not failures, "\n\n".join(failures)
