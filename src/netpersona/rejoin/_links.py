"""Identity links: accepted re-join matches remembered in the workspace (table ``rejoin_links``).

A link ``(old_user, new_user, day)`` says the subscriber of library user ``old_user`` came back
as ``new_user`` on ``day``: rows of ``new_user`` on days >= ``day`` count as ``old_user``'s.
``rejoin identify --record`` stores the matches of a run (verdict ``match`` only), ``rejoin
links`` lists them, ``forget`` follows them. Ids are stored as the workspace stores them
(pseudonyms when the logs were read with a key) and shown masked.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from netpersona._core import ConfigError, mask_id
from netpersona.engine import Workspace
from netpersona.rejoin._forget import LINKS

if TYPE_CHECKING:
    from netpersona.rejoin._identify import IdentifyResult
    from netpersona.rejoin._library import Library
    from netpersona.rejoin._profiles import Profiles

LINKS_SCHEMA = pa.schema(
    [
        ("old_user", pa.string()),
        ("new_user", pa.string()),
        ("day", pa.date32()),
        ("score", pa.float64()),
        ("method", pa.string()),
        ("recorded_at", pa.timestamp("us")),
    ]
)
_DDL = (
    f"CREATE TABLE IF NOT EXISTS {LINKS} (old_user VARCHAR, new_user VARCHAR, day DATE, "
    "score DOUBLE, method VARCHAR, recorded_at TIMESTAMP)"
)
_STAGED = "_rejoin_links_new"


def links_of(result: IdentifyResult, queries: Profiles, method: str) -> pa.Table:
    """The links a run's MATCHES make (verdict ``match`` with a library user; answer rows of
    ``--top-k`` are not verdicts): old = library user, new = query user, day = the query's
    first day in its log, score, method."""
    matches = result.matches
    keep = pc.and_(
        pc.equal(matches.column("decision"), "match"),
        pc.is_valid(matches.column("library_user")),
    )
    if "answer" in matches.column_names:
        keep = pc.and_(keep, pc.not_equal(pc.fill_null(matches.column("answer"), 1), 0))
    chosen = matches.filter(keep)
    arrays = queries.arrays(sequences=False)
    days = pc.cast(arrays.first_ts, pa.timestamp("us")).cast(pa.date32())
    first = dict(zip(arrays.user_ids.to_pylist(), days.to_pylist(), strict=True))
    new = chosen.column("query_user").to_pylist()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    return pa.table(
        {
            "old_user": chosen.column("library_user").cast(pa.string()),
            "new_user": pa.array(new, pa.string()),
            "day": pa.array([first.get(u) for u in new], pa.date32()),
            "score": chosen.column("score").cast(pa.float64()),
            "method": pa.array([method] * len(new), pa.string()),
            "recorded_at": pa.array([now] * len(new), pa.timestamp("us")),
        },
        schema=LINKS_SCHEMA,
    )


def record_links(
    library: Library,
    result: IdentifyResult,
    *,
    method: str = "paper",
    queries: Profiles | None = None,
) -> int:
    """Store the accepted matches of ``result`` (identified by ``library`` on a DuckDB
    workspace) in the workspace's ``rejoin_links``, through a rebuild (it takes the writer lock:
    :class:`~netpersona.WorkspaceBusyError` while another process writes). ``queries`` are the
    query profiles (default: those ``result`` was identified from). Recording the same run again
    adds nothing: a link already there (same old, new, day and method) is kept as it was.
    Returns the number of links added."""
    if library.workspace is None or library.engine.distributed:
        raise ConfigError(
            "--record stores links in a workspace file: give --workspace W (DuckDB engine)"
        )
    queries = queries if queries is not None else result.queries
    if queries is None:
        raise ConfigError("no query profiles to take the links' days from; identify first")
    return add_links(library.workspace, links_of(result, queries, method))


def add_links(workspace: str | Path, rows: pa.Table) -> int:
    """Append ``rows`` (:data:`LINKS_SCHEMA`) to the workspace's links, skipping those already
    there; returns how many were added."""
    rows = rows.cast(LINKS_SCHEMA)
    if not rows.num_rows:
        return 0
    with Workspace.rebuild(workspace, what="rejoin links") as ws:
        ws.execute(_DDL)
        ws.register_arrow(_STAGED, rows)
        try:
            fresh = (
                f"SELECT DISTINCT ON (old_user, new_user, day, method) n.* FROM {_STAGED} n "
                f"WHERE NOT EXISTS (SELECT 1 FROM {LINKS} o WHERE o.old_user = n.old_user "
                "AND o.new_user = n.new_user AND o.day IS NOT DISTINCT FROM n.day "
                "AND o.method = n.method)"
            )
            added = int(ws.fetch_scalar(f"SELECT count(*) FROM ({fresh})"))
            ws.execute(f"INSERT INTO {LINKS} {fresh}")
        finally:
            ws.execute(f"DROP VIEW IF EXISTS {_STAGED}")
    return added


def links(workspace: str | Path) -> pa.Table:
    """The identity links of a workspace's last complete state (:data:`LINKS_SCHEMA`), oldest
    day first; ids as stored (mask them for display: :func:`masked_links`)."""
    with Workspace.reader(workspace) as ws:
        if not ws.has_table(LINKS):
            return LINKS_SCHEMA.empty_table()
        table = ws.fetch_arrow(f"SELECT * FROM {LINKS}").cast(LINKS_SCHEMA)
    order = [(c, "ascending") for c in ("day", "old_user", "new_user", "method")]
    return table.sort_by(order)


def masked_links(table: pa.Table) -> list[dict]:
    """Links as rows for display or a report: ids masked, days and times as ISO text."""
    rows = []
    for row in table.to_pylist():
        rows.append(
            {
                "old_user": mask_id(row["old_user"]),
                "new_user": mask_id(row["new_user"]),
                "day": row["day"].isoformat() if row["day"] else None,
                "score": row["score"],
                "method": row["method"],
                "recorded_at": row["recorded_at"].isoformat() if row["recorded_at"] else None,
            }
        )
    return rows
