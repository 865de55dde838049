"""``/metrics`` read as Prometheus reads it (``prometheus_client.parser``): requests by
route template and status, the chain's length, batches by state, job runs, the last
integrity check — each figure the ledger's own (issue 34)."""

from __future__ import annotations

from datetime import date

from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from api.app import create_app
from jobs import runner
from ledger.books import book
from schema.db import UnitOfWork
from tests.conftest import Clock
from tests.e2e.console_helpers import add_people, fund_a_year
from tests.e2e.test_http import API, auth


def _samples(client: TestClient[Litestar]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == CONTENT_TYPE_LATEST  # the text format, as Prometheus asks
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_metrics_count_requests_by_route_and_read_the_ledger(engine: Engine, clock: Clock) -> None:
    clock.set(date(2025, 12, 28))
    tokens = add_people(engine)
    with TestClient(create_app(engine=engine), raise_server_exceptions=False) as client:
        fund_a_year(client, tokens)
        r = client.post(
            f"{API}/batches",
            json={"year": 2025, "on": "2025-12-20"},
            headers=auth(tokens["张会计"]),
        )
        assert r.status_code == 201
        before = _samples(client)
        for _ in range(3):
            assert client.get(f"{API}/batches/1", headers=auth(tokens["审计员"])).status_code == 200
        assert client.get(f"{API}/batches/999", headers=auth(tokens["审计员"])).status_code == 404
        assert runner.run(engine, "integrity-check", "2025-12-28").status == "succeeded"
        after = _samples(client)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    route = {"app_name": "studio_ledger", "method": "GET", "path": "/api/v1/batches/{batch_id}"}
    assert moved("studio_ledger_requests_total", **route, status_code="200") == 3
    assert moved("studio_ledger_requests_total", **route, status_code="404") == 1
    assert not any("999" in dict(labels).get("path", "") for _, labels in after)  # templates only
    with UnitOfWork(engine, write=False) as uow:
        length, _ = book.chain_end(uow.ledger)
    assert after[("studio_ledger_chain_length", ())] == length == 2  # the two appropriations
    assert after[("studio_ledger_batches", (("state", "draft"),))] == 1
    assert after[("studio_ledger_batches", (("state", "approved"),))] == 0
    key = ("studio_ledger_job_runs_total", (("job", "integrity-check"), ("status", "succeeded")))
    assert (before.get(key), after[key]) == (0, 1)
    assert ("studio_ledger_last_verify_ok", ()) not in before  # none had run
    assert after[("studio_ledger_last_verify_ok", ())] == 1
    assert after[("studio_ledger_last_verify_timestamp_seconds", ())] > 1.7e9
