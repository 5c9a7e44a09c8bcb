"""Step 1 in parts by user, so that a large log is sorted a part at a time.

The per-user parts of a profile set (marks, cells, users, D(u), hour vectors, sequences) depend
on each user's own rows only; the codes (users, sites, V(d)) are global but come from the small
``user_site`` table. On DuckDB, when a log has more rows than :func:`part_rows` allows, the
users are cut into contiguous ranges of user ids with about that many rows each; each range's
parts are built from its rows alone (a filter on the user id, pushed into the scan of the log)
and appended to the profile set's tables. The tables hold exactly the rows the one-pass build
gives (rows in another order): only the sort of each part, at most ``part_rows`` rows, has to
fit the memory limit, where the one pass sorts the whole log and spills it to the temporary
folder uncompressed.
"""

from __future__ import annotations

import itertools

import numpy as np

from netpersona._core import Progress, parse_size
from netpersona.engine import Engine
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._sql import (
    PARTS,
    TEMPORARY,
    code_statements,
    render,
    table_name,
    user_statements,
)

#: memory (bytes) one row of a part may take while it is sorted: DuckDB's window sort measured
#: at about 40 bytes a row (25M rows sorted within 1 GB without spilling), doubled for the
#: tables built meanwhile
BYTES_PER_ROW = 80
#: rows per part, when set (tests): else from the engine's memory limit (:func:`part_rows`)
PART_ROWS: int | None = None
#: the profile parts a user range builds and appends (the rest are scratch)
_APPENDED = ("users", "frequent", "hours", "site_hours", "sequences")


def part_rows(engine: Engine) -> int:
    """The most rows one part of step 1 sorts: :data:`PART_ROWS` if set, else the engine's
    memory limit over :data:`BYTES_PER_ROW`."""
    if PART_ROWS is not None:
        return PART_ROWS
    limit = str(engine.fetch_scalar("SELECT current_setting('memory_limit')"))
    return max(1, parse_size(limit.replace(" ", "")) // BYTES_PER_ROW)


def user_ranges(engine: Engine, name: str, rows: int) -> list[tuple[str, str]]:
    """Contiguous ranges of user ids (first, last; in the order of the users' codes) with about
    ``rows`` log rows each, from profile set ``name``'s ``user_site`` and ``user_code``."""
    counts = engine.fetch_arrow(
        f"SELECT c.uid, c.user_id, s.n FROM {table_name(name, 'user_code')} AS c "
        f"JOIN (SELECT user_id, sum(n) AS n FROM {table_name(name, 'user_site')} "
        "GROUP BY user_id) AS s ON s.user_id = c.user_id"
    )
    order = np.argsort(counts.column("uid").to_numpy(), kind="stable")
    ids = counts.column("user_id").take(order).to_pylist()
    ends = np.cumsum(counts.column("n").to_numpy()[order])
    if not len(ends) or ends[-1] <= rows:
        return [(ids[0], ids[-1])] if ids else []
    n_parts = int(-(-ends[-1] // rows))
    # part k ends with the last user whose rows end within k/n of the total
    cuts = np.searchsorted(ends, ends[-1] * np.arange(1, n_parts) / n_parts, side="right")
    bounds = sorted({0, *cuts.tolist(), len(ids)})
    return [(ids[a], ids[b - 1]) for a, b in itertools.pairwise(bounds) if b > a]


def run_statements(
    engine: Engine,
    log_table: str,
    name: str,
    settings: RejoinSettings,
    reference: str | None,
    progress: Progress,
) -> None:
    """Materialise profile set ``name``'s tables from ``log_table`` (step 1), in parts by user
    on an engine of this machine (DuckDB) when the log has more rows than :func:`part_rows`."""
    codes = code_statements(log_table, name, reference)
    users = user_statements(log_table, name, settings)
    if engine.distributed:  # a cluster sorts across its machines: one pass
        for table, select, lists in progress.track(
            codes + users, f"profiles {name}: step 1", total=len(codes) + len(users)
        ):
            engine.create_table(table, render(select, engine.dialect, lists))
        return
    with progress.step(f"profiles {name}: step 1, codes"):
        for table, select, lists in codes:
            engine.create_table(table, render(select, engine.dialect, lists))
    ranges = user_ranges(engine, name, part_rows(engine))
    if len(ranges) <= 1:
        with progress.step(f"profiles {name}: step 1, per user"):
            for table, select, lists in users:
                engine.create_table(table, render(select, engine.dialect, lists))
        return
    scratch = f"{name}__part"
    for number, users_range in enumerate(
        progress.track(ranges, f"profiles {name}: step 1 in parts by user", total=len(ranges))
    ):
        for table, select, lists in user_statements(
            log_table, name, settings, users=users_range, into=scratch
        ):
            engine.create_table(table, render(select, engine.dialect, lists))
        for part in _APPENDED:
            built, target = table_name(scratch, part), table_name(name, part)
            if number == 0:
                engine.create_table(target, f"SELECT * FROM {built}")
            else:
                engine.execute(f"INSERT INTO {target} SELECT * FROM {built}")
        for part in PARTS + TEMPORARY:
            engine.execute(f"DROP TABLE IF EXISTS {table_name(scratch, part)}")
