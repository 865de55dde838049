"""Property-based requests generated from the service's own OpenAPI document
(schemathesis), with every check: whatever is sent, as any role or none, the service
never answers 5xx, every answer has a documented status, media type, headers and body
shape, and input the schema refuses is refused.

One allowance: schema-valid input may still be refused with 422 (documented on every
write), because the domain's rules cannot all live in a JSON schema (an ID number's
check digit, a roster's composition, a fund's balance)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from sqlalchemy import Engine

from api.app import create_app
from ledger import users
from schema.db import UnitOfWork
from tests.fakes import approver_id_number

EXAMPLES_PER_OPERATION = 6
CONFIG = SchemathesisConfig.from_str(
    """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
"""
)


@pytest.mark.slow
def test_no_request_makes_the_service_fail(engine: Engine) -> None:
    with UnitOfWork(engine) as uow:
        tokens = [
            users.add_user(uow, role, role, by=None, id_number=approver_id_number(n))
            for n, role in enumerate(("clerk", "approver", "auditor", "admin"))
        ]
        uow.commit()
    headers = [{}, *({"Authorization": f"Bearer {t}"} for t in tokens)]
    schema = schemathesis.openapi.from_asgi(
        "/schema/openapi.json", create_app(engine=engine), config=CONFIG
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            for header in headers:
                case.call_and_validate(headers=header)

        call()
