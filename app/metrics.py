"""Counting what Flokk does, for Prometheus: in-process counters, never a database write or a
network call on the request path.

Under gunicorn every worker is a process of its own, so ``flokk serve`` runs
prometheus_client in multiprocess mode: it points ``PROMETHEUS_MULTIPROC_DIR``
at a fresh folder before the workers start, each worker counts into its own
memory-mapped file there, and ``GET /metrics`` adds them up. The counters are
built on first use (in the worker, after the fork), and prometheus_client is
imported no earlier, so it always sees that setting.

What is state rather than an event (queue depth, devices by state, days
until a certificate or token expires) is read from the database when scraped
(:mod:`app.http.metrics`), so every node reports the same truth.
"""

from __future__ import annotations

import os
import threading
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds; MDM requests take milliseconds, admin pages and bulk changes up to seconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0)


class Metrics:
    """Flokk's counters and histograms (one set per process)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "flokk_http_requests", "HTTP requests answered, by endpoint class (mdm, scep, enroll, api, dashboard, ...) and status.",
            ["endpoint_class", "status"], registry=registry,
        )
        self.request_seconds = Histogram(
            "flokk_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint class.",
            ["endpoint_class"], buckets=REQUEST_BUCKETS, registry=registry,
        )
        self.mdm_messages = Counter(
            "flokk_mdm_messages", "MDM messages devices sent and Flokk accepted: check-ins by MessageType, "
            "command-channel requests by Status (Idle, Acknowledged, Error, NotNow).",
            ["endpoint", "message_type"], registry=registry,
        )
        self.pushes = Counter("flokk_pushes", "APNs pushes by outcome (sent, invalid_token, failed, ...).",
                              ["outcome"], registry=registry)
        self.job_runs = Counter("flokk_scheduler_job_runs", "Scheduler job runs by job and outcome (success, failure).",
                                ["job", "outcome"], registry=registry)
        self.job_seconds = Histogram("flokk_scheduler_job_duration_seconds", "Time a scheduler job run took.",
                                     ["job"], buckets=JOB_BUCKETS, registry=registry)
        self.webhook_attempts = Counter("flokk_webhook_attempts", "Webhook delivery attempts by outcome "
                                        "(delivered, retry, failed).", ["outcome"], registry=registry)


_metrics: Metrics | None = None
_lock = threading.Lock()


def metrics() -> Metrics:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = Metrics()
    return _metrics


def count_request(blueprint: str | None, status: int, seconds: float) -> None:
    endpoint_class = blueprint or "other"
    found = metrics()
    found.requests.labels(endpoint_class, str(status)).inc()
    found.request_seconds.labels(endpoint_class).observe(seconds)


def count_mdm_message(endpoint: str, message_type: str | None) -> None:
    metrics().mdm_messages.labels(endpoint, message_type or "unknown").inc()


def count_pushes(outcomes: dict[Any, int]) -> None:
    for outcome, count in outcomes.items():
        metrics().pushes.labels(str(getattr(outcome, "value", outcome))).inc(count)


def count_job(job: str, ok: bool, seconds: float) -> None:
    found = metrics()
    found.job_runs.labels(job, "success" if ok else "failure").inc()
    found.job_seconds.labels(job).observe(seconds)


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


def exposition(*extra_collectors: Any) -> bytes:
    """The text format of this process's counters (or, in multiprocess mode, all workers'),
    followed by ``extra_collectors`` (state read from the database)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client import multiprocess as prometheus_multiprocess

    registry = CollectorRegistry()
    if multiprocess():
        prometheus_multiprocess.MultiProcessCollector(registry)
        own = b""
    else:
        own = generate_latest(metrics().registry)
    for collector in extra_collectors:
        registry.register(collector)
    return own + generate_latest(registry)


def use_multiprocess_dir(path: str) -> None:
    """Set before gunicorn forks its workers (``flokk serve``)."""
    os.environ[MULTIPROC_ENV] = path
    import sys

    values = sys.modules.get("prometheus_client.values")
    if values is not None:  # imported early after all: make new counters use the folder
        values.ValueClass = values.get_value_class()


def mark_worker_dead(pid: int) -> None:
    """gunicorn's ``child_exit``: the worker's live gauges no longer count (its counters stay)."""
    if multiprocess():
        from prometheus_client import multiprocess as prometheus_multiprocess

        prometheus_multiprocess.mark_process_dead(pid)
