"""The ASGI app: routes are thin; the work is in the store, the library and the adapter."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from netpersona._core import ConfigError, InputError
from netpersona._version import __version__
from netpersona.devices import ReportFields
from netpersona.io import mask_id
from netpersona.rejoin import RejoinSettings
from netpersona.serve._errors import ApiError, install_error_handlers
from netpersona.serve._identify import EventError, check_events, identify_events
from netpersona.serve._library import LibraryHolder
from netpersona.serve._metrics import Metrics, MetricsMiddleware
from netpersona.serve._rules import canonical, report_key, surely_valid
from netpersona.serve._settings import ServeSettings, make_settings
from netpersona.serve._store import QueueFull, ReportStore
from netpersona.serve._tiers import load_tiers
from netpersona.serve._tokens import TokenChecker, tokens_path

log = logging.getLogger("netpersona.serve")

_NDJSON = "application/x-ndjson"


def create_app(settings: ServeSettings | None = None, **values: Any) -> FastAPI:
    """The service as an ASGI app (``uvicorn.run(create_app(workspace=...))``).

    Give a :class:`ServeSettings` or its fields as keywords. Refuses (``ConfigError``) to serve
    without tokens unless ``no_auth`` on a loopback host. The library is loaded and the
    reports folder taken (locked, a torn tail repaired, its index rebuilt) here, so a bad
    workspace or a folder another server writes is an error before anything listens; the
    report writer and the workspace watcher run with the app's lifespan.
    """
    s = settings if settings is not None else make_settings(**values)
    if not s.workspace.exists():
        raise InputError(
            "no such workspace",
            path=s.workspace,
            hint="build its library with `netpersona rejoin index LOGS --workspace W`",
        )
    tokens = TokenChecker(tokens_path(s.workspace), s.token_recheck_seconds)
    if tokens.empty and not s.no_auth:
        raise ConfigError(
            f"no access token is defined for {s.workspace}: create one with `netpersona tokens "
            f"create NAME --scope ingest --workspace {s.workspace}`, or serve on 127.0.0.1 "
            "with --no-auth"
        )
    rejoin = RejoinSettings.from_toml(s.rejoin_settings) if s.rejoin_settings else RejoinSettings()
    metrics = Metrics()
    library = LibraryHolder(s.workspace, rejoin, s.reload_check_seconds, metrics)
    store = ReportStore(
        s.reports_folder, ReportFields(timezone=s.timezone),
        queue_max=s.queue_max_reports, batch_max=s.batch_max_reports, metrics=metrics,
    )  # fmt: skip

    started = time.perf_counter()
    library.load()
    tiers = {
        "devices": load_tiers(s.device_tiers) if s.device_tiers else None,
        "customers": load_tiers(s.customer_tiers) if s.customer_tiers else None,
    }
    store.open()
    log.info("netpersona serve loaded in %.1f s", time.perf_counter() - started)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await store.start()
        await library.start()
        try:
            yield
        finally:
            await library.stop()
            await store.stop()
            log.info("netpersona serve stopped; every acknowledged report is on disk")

    app = FastAPI(
        title="netpersona", version=__version__, lifespan=lifespan,
        docs_url=None, redoc_url=None, openapi_url="/v1/openapi.json",
    )  # fmt: skip
    app.state.settings, app.state.library, app.state.store = s, library, store
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    def authorize(request: Request, scope: str) -> None:
        if s.no_auth:
            return
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            raise ApiError(
                401, "unauthorized", "send a token: Authorization: Bearer <token>",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        scopes = tokens.scopes_of(token.strip())
        if scopes is None:
            raise ApiError(
                401, "unauthorized", "unknown or revoked token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )  # fmt: skip
        if scope not in scopes:
            raise ApiError(403, "forbidden", f"this token may not {scope} (it has: "
                           f"{', '.join(scopes)})")  # fmt: skip

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        state = library.state
        if state is None:
            raise ApiError(503, "loading", "the library is not loaded yet")
        return JSONResponse({"status": "ok", "library_users": state.n_users})

    @app.get("/metrics")
    async def metrics_text(request: Request) -> Response:
        authorize(request, "read")
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def device_reports(request: Request) -> JSONResponse:
        authorize(request, "ingest")
        body = await _read_body(request, s.max_body_bytes)
        reports = _parse_reports(body, request.headers.get("content-type", ""))
        lines, keys, unsure, bad = [], [], [], []
        for i, report in enumerate(reports):
            if not isinstance(report, dict):
                bad.append({"index": i, "reason": "not a JSON object"})
                continue
            if "report_id" in report and not _usable_id(report["report_id"]):
                bad.append({"index": i, "reason": "report_id must be a non-empty string"})
                continue
            text = canonical(report)
            lines.append(text)
            keys.append(report_key(report, text))
            unsure.append(not surely_valid(report, store.fields))
        if bad:
            _refuse(bad, len(reports), metrics)
        try:
            outcome = await store.submit(lines, keys, unsure)
        except QueueFull:
            metrics.queue_full.inc()
            raise ApiError(
                503, "busy", "the report writer is saturated; retry shortly",
                headers={"Retry-After": "1"},
            ) from None  # fmt: skip
        if outcome.problems:
            _refuse([{"index": i, "reason": r} for i, r in outcome.problems], len(lines), None)
        if outcome.failed:
            raise ApiError(500, "storage_failed", outcome.failed)
        return JSONResponse({"accepted": outcome.accepted, "duplicates": outcome.duplicates})

    # the hot path as a plain Starlette route: no dependency solving per request
    device_reports.route_path = "/v1/device-reports"  # type: ignore[attr-defined]
    app.router.add_route("/v1/device-reports", device_reports, methods=["POST"])

    @app.post("/v1/rejoin/identify")
    async def rejoin_identify(request: Request) -> JSONResponse:
        authorize(request, "identify")
        body = await _read_body(request, s.max_body_bytes)
        query = _json(body)
        if not isinstance(query, dict):
            raise ApiError(400, "bad_json", "expected an object {events, method, top_k}")
        events, method = query.get("events"), query.get("method")
        top_k = query.get("top_k", 0)
        if isinstance(events, list) and len(events) > s.max_events:
            raise ApiError(413, "too_many_events", f"{len(events):,} events; at most "
                           f"{s.max_events:,} per request (--max-events)")  # fmt: skip
        if not isinstance(top_k, int) or isinstance(top_k, bool) or not 0 <= top_k <= 100:
            raise ApiError(422, "invalid_request", "top_k must be an integer from 0 to 100")
        try:
            site_key = check_events(events)
        except EventError as exc:
            raise ApiError(
                422, "invalid_event", exc.reason, [{"index": exc.index, "reason": exc.reason}]
            ) from None
        state = library.state
        if state is None:
            raise ApiError(503, "loading", "the library is not loaded yet",
                           headers={"Retry-After": "5"})  # fmt: skip
        started = time.perf_counter()
        try:
            found = await asyncio.to_thread(_identify_locked, state, events, site_key, method,
                                            top_k, s.timezone)  # fmt: skip
        except EventError as exc:
            raise ApiError(
                422, "invalid_event", exc.reason, [{"index": exc.index, "reason": exc.reason}]
            ) from None
        except ConfigError as exc:
            raise ApiError(422, "invalid_request", str(exc)) from None
        counts = {v: sum(1 for f in found if f["verdict"] == v) for v in ("match", "ambiguous",
                                                                          "new")}  # fmt: skip
        log.info("identify (%s): %d events, %d queries: %s in %.1f ms", method or "default",
                 len(events),
                 len(found), counts, 1e3 * (time.perf_counter() - started))  # fmt: skip
        return JSONResponse({"verdicts": found, "library_users": state.n_users})

    def tier(kind: str, key: str) -> JSONResponse:
        table = tiers[kind]
        if table is None:
            flag = "--device-tiers" if kind == "devices" else "--customer-tiers"
            raise ApiError(404, "no_tiers", f"this server was started without {flag}")
        row = table.get(key)
        if row is None:
            raise ApiError(404, "unknown_id", f"no tier for {mask_id(key)}")
        return JSONResponse({"id": key, **row})

    @app.get("/v1/devices/{user}/tier")
    async def device_tier(user: str, request: Request) -> JSONResponse:
        authorize(request, "read")
        return tier("devices", user)

    @app.get("/v1/customers/{customer}/tier")
    async def customer_tier(customer: str, request: Request) -> JSONResponse:
        authorize(request, "read")
        return tier("customers", customer)

    return app


def _identify_locked(state, events, site_key, method, top_k, timezone):
    with state.lock:  # the in-memory engine serves one query at a time
        return identify_events(
            state.library, events, site_key, method=method, top_k=top_k, timezone=timezone
        )


def _usable_id(value: Any) -> bool:
    return (isinstance(value, str) and value != "") or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def _refuse(bad: list[dict], total: int, metrics: Metrics | None) -> None:
    if metrics is not None:
        metrics.reports_rejected.inc(len(bad))
    raise ApiError(
        422, "invalid_reports",
        f"{len(bad)} of {total} reports cannot be used; nothing was stored", bad[:100],
    )  # fmt: skip


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"the body exceeds {limit:,} bytes (--max-body-bytes)")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"the body is not JSON: {exc}") from None


def _parse_reports(body: bytes, content_type: str) -> list:
    if content_type.split(";")[0].strip().lower() == _NDJSON:
        reports = []
        for number, line in enumerate(body.split(b"\n"), 1):
            if line.strip():
                try:
                    reports.append(json.loads(line))
                except (ValueError, UnicodeDecodeError) as exc:
                    raise ApiError(400, "bad_json", f"line {number} is not JSON: {exc}",
                                   {"line": number}) from None  # fmt: skip
    else:
        parsed = _json(body)
        reports = parsed if isinstance(parsed, list) else [parsed]
    if not reports:
        raise ApiError(422, "invalid_reports", "no reports in the body")
    return reports
