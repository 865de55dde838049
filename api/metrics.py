"""``GET /metrics``: the service and the ledger in the Prometheus text format (issue 34).

Two sources, one page:

- **requests**, counted by Litestar's Prometheus middleware
  (:mod:`litestar.plugins.prometheus`) per method, route *template* (``/api/v1/batches/
  {batch_id}``: never a raw path, so no id or name becomes a label) and status, with
  their durations: ``studio_ledger_requests_total``, ``studio_ledger_request_duration_seconds``,
  ``studio_ledger_requests_error_total``, ``studio_ledger_requests_in_progress``;
- **the ledger**, read from the database at each scrape (so every worker and the CLI's
  writes are seen alike): ``studio_ledger_chain_length`` (transactions in the hash chain),
  ``studio_ledger_batches{state}``, ``studio_ledger_job_runs_total{job,status}``, and the
  last integrity check (the scheduled ``verify``): ``studio_ledger_last_verify_ok`` (1
  passed, 0 failed) and ``studio_ledger_last_verify_timestamp_seconds``.

Nothing personal is exported: counts, states and the chain's length only. Like
``/health`` it needs no token (a scraper on the office's network reads it); put it
behind the reverse proxy's own rules if that network is not trusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from litestar import get
from litestar.datastructures import State
from litestar.plugins.prometheus import PrometheusConfig
from litestar.response import Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from api.shapes import utc
from jobs.work import JOBS
from ledger.batches.batch import BatchState
from ledger.books import book
from schema.db import UnitOfWork

PATH: Final = "/metrics"
PREFIX: Final = "studio_ledger"
VERIFY_JOB: Final = "integrity-check"


def requests_config() -> PrometheusConfig:
    """The request counters: route templates, not paths; the scrape itself left out."""
    return PrometheusConfig(
        app_name=PREFIX,
        prefix=PREFIX,
        group_path=True,
        exclude=[PATH],
        exclude_unhandled_paths=True,
    )


class LedgerCollector(Collector):
    """The ledger's figures, read in one short read-only unit of work per scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with UnitOfWork(self.engine, write=False) as uow:
            length, _ = book.chain_end(uow.ledger)
            batches = uow.batches.state_counts()
            runs = uow.jobs.status_counts()
            verify = uow.jobs.last_runs().get(VERIFY_JOB)
        yield GaugeMetricFamily(
            f"{PREFIX}_chain_length", "Transactions in the ledger's hash chain", value=length
        )
        states = GaugeMetricFamily(f"{PREFIX}_batches", "Payout batches by state", labels=["state"])
        for state in BatchState:
            states.add_metric([state.value], batches.get(state.value, 0))
        yield states
        jobs = CounterMetricFamily(
            f"{PREFIX}_job_runs", "Scheduled job runs by job and status", labels=["job", "status"]
        )
        for job in JOBS:
            for status in ("succeeded", "failed", "running"):
                jobs.add_metric([job, status], runs.get((job, status), 0))
        yield jobs
        ok = GaugeMetricFamily(
            f"{PREFIX}_last_verify_ok",
            "1 if the last integrity check (verify) passed, 0 if it failed; absent before one ran",
        )
        at = GaugeMetricFamily(
            f"{PREFIX}_last_verify_timestamp_seconds",
            "When the last integrity check finished (Unix time)",
        )
        if verify is not None and verify.status in ("succeeded", "failed"):
            ok.add_metric([], 1 if verify.status == "succeeded" else 0)
            at.add_metric([], utc(verify.finished_at or verify.started_at).timestamp())
        yield ok
        yield at


@get(
    PATH,
    opt={"action": "public", "exclude_from_auth": True},
    sync_to_thread=True,
    include_in_schema=False,
)
def metrics(state: State) -> Response[bytes]:
    """The Prometheus text format: the process's request counters, then the ledger's."""
    ledger = CollectorRegistry(auto_describe=True)
    ledger.register(LedgerCollector(state.engine))
    body = generate_latest(REGISTRY) + generate_latest(ledger)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})
