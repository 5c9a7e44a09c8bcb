"""Prometheus metrics of one app (its own registry, so several apps can live in one process)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The service's counters, gauges and histograms."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "netpersona_http_requests", "HTTP requests answered", ("route", "method", "status"),
            registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "netpersona_http_request_seconds", "Time to answer a request", ("route",),
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.reports_stored = Counter(
            "netpersona_reports_stored", "Device reports written and fsynced", registry=r
        )
        self.reports_duplicate = Counter(
            "netpersona_reports_duplicates", "Device reports acknowledged as duplicates", registry=r
        )
        self.reports_rejected = Counter(
            "netpersona_reports_rejected", "Device reports refused as invalid (422)", registry=r
        )
        self.queue_full = Counter(
            "netpersona_reports_queue_full", "Report requests refused with 503", registry=r
        )
        self.queued = Gauge(
            "netpersona_reports_queued", "Device reports waiting for the writer", registry=r
        )
        self.fsync = Histogram(
            "netpersona_reports_fsync_seconds", "Time of one fsync of the day's report file",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch = Histogram(
            "netpersona_reports_commit_batch", "Reports per group commit",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000), registry=r,
        )  # fmt: skip
        self.library_users = Gauge(
            "netpersona_library_users", "Users in the loaded re-join library", registry=r
        )
        self.library_loaded = Gauge(
            "netpersona_library_loaded_timestamp_seconds", "When the library was loaded",
            registry=r,
        )  # fmt: skip
        self.library_reloads = Counter(
            "netpersona_library_reloads", "Library reloads after the workspace changed",
            ("result",), registry=r,
        )  # fmt: skip


class MetricsMiddleware:
    """Counts and times every request by its route template (never by its raw path, which
    may hold a subscriber id)."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            name = (
                getattr(scope.get("route"), "path", None)
                or getattr(scope.get("endpoint"), "route_path", None)
                or "unmatched"
            )
            self.metrics.requests.labels(name, scope["method"], str(status[0])).inc()
            self.metrics.latency.labels(name).observe(time.perf_counter() - started)
