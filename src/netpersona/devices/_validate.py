"""Check device reports held in memory by exactly the rules the file reader applies.

A service that receives reports (``netpersona serve``) must refuse what
``netpersona devices features --reports`` would later quarantine; running the reader's own SQL
over the received lines (instead of a second set of rules in Python) keeps the two from drifting.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from netpersona.devices._fields import ReportFields
from netpersona.devices._parse import set_timezone
from netpersona.devices._reports import _parsed, json_line_fields

_LINES_VIEW = "_validated_report_lines"


def report_problems(
    lines: Sequence[str], fields: ReportFields = ReportFields(), *, con=None
) -> list[str | None]:
    """Why each JSON report text in ``lines`` could not be used (``None`` where it can).

    The reasons are the file reader's (``missing username``, ``unreadable logontime '...'``),
    so a sender sees what ``devices features --reports`` would say of a stored report. An
    empty line counts as ``empty report``. ``con`` (a DuckDB connection) may be given to reuse
    one across calls; it is used by one thread at a time.

    >>> good = ('{"username": "u1", "logontime": "2024-05-01 08:00:00", '
    ...         '"logofftime": "2024-05-01 09:00:00", "upflow": 10, "downflow": 20}')
    >>> report_problems([good, '{"logontime": "2024-05-01 08:00:00"}', ''])
    [None, 'missing username', 'empty report']
    """
    fields = fields.validate()
    own = con is None
    con = con if con is not None else duckdb.connect()
    try:
        set_timezone(con, fields.timezone)
        con.register(
            _LINES_VIEW,
            pa.table({"line": pa.array(range(1, len(lines) + 1), pa.int64()),
                      "raw": pa.array(list(lines), pa.string())}),
        )  # fmt: skip
        try:
            select = _parsed(
                json_line_fields(f"SELECT line, raw FROM {_LINES_VIEW}", fields), fields, 0
            )
            rows = con.execute(f"SELECT line, reason FROM ({select})").fetchall()
        finally:
            con.unregister(_LINES_VIEW)
    finally:
        if own:
            con.close()
    problems: list[str | None] = ["empty report"] * len(lines)
    for line, reason in rows:
        problems[line - 1] = reason
    return problems
