"""What the service decides about a report before the writer sees it: its stored text, its
idempotency key, and whether it is so plainly valid that the reader's SQL need not look."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from zoneinfo import ZoneInfo

from netpersona.devices import ReportFields


def canonical(report: dict) -> str:
    """The stored text of a report: keys sorted, no spaces, UTF-8 as is."""
    return json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def report_key(report: dict, text: str) -> str:
    """Idempotency key: ``id:<report_id>`` when the report has one, else ``sha256:<hex>``."""
    rid = report.get("report_id")
    if isinstance(rid, str | int) and not isinstance(rid, bool) and rid != "":
        return f"id:{rid}"
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


_PLAIN_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}")
#: epoch seconds the plain check reads itself (1970 .. 2096); others go to the SQL
_EPOCH_MAX = 4_000_000_000


def _plain_time(value, zone: ZoneInfo) -> dt.datetime | None:
    """A local time written ``YYYY-MM-DD[T ]HH:MM:SS`` (a real date), or epoch seconds as a
    JSON integer converted to ``zone``'s wall clock; else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _EPOCH_MAX:
        return dt.datetime.fromtimestamp(value, zone).replace(tzinfo=None)
    if not isinstance(value, str) or not _PLAIN_TIME.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _plain_flow(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 <= value < 1e15


def surely_valid(report: dict, fields: ReportFields) -> bool:
    """True only where the file reader's rules certainly find nothing wrong: top-level fields,
    a non-blank user text, flows as plain non-negative numbers, plain times (local
    ``2024-03-01 08:00:00`` text or epoch seconds) and a session end (the logoff, else the
    report time) not before the logon. Anything else (units, offsets, durations, ...) goes to
    the reader's SQL (:func:`netpersona.devices.report_problems`), which alone decides; this
    only spares it the common case. A property test holds the two together."""
    names = (fields.user, fields.logon, fields.logoff, fields.upflow, fields.downflow,
             fields.report_time)  # fmt: skip
    if fields.duration or fields.time_unit != "auto" or any(n and "." in n for n in names):
        return False
    user = report.get(fields.user)
    if not isinstance(user, str) or not user.strip():
        return False
    if not (_plain_flow(report.get(fields.upflow)) and _plain_flow(report.get(fields.downflow))):
        return False
    zone = ZoneInfo(fields.timezone)
    logon = _plain_time(report.get(fields.logon), zone)
    ends = []
    for name in (fields.logoff, fields.report_time):
        value = report.get(name) if name else None
        if value is not None:
            ends.append(_plain_time(value, zone))
            if ends[-1] is None:
                return False
    return logon is not None and bool(ends) and ends[0] is not None and ends[0] >= logon
