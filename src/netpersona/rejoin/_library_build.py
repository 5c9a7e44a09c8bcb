"""Building a workspace's library: beside the live state, swapped in whole (DuckDB file), or in
a database of the engine's catalog guarded by a complete-marker (Spark)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from netpersona._core import ConfigError, OutputExistsError, Progress, is_table_url
from netpersona.engine import Engine, Workspace
from netpersona.io import LogMapping, LogSource, ReadSummary, read_log
from netpersona.rejoin._settings import RejoinSettings

LIBRARY_LOG = Workspace.LIBRARY_LOG
LIBRARY = Workspace.LIBRARY


@dataclass
class IndexSummary:
    """What :meth:`Library.index` did.

    >>> IndexSummary("w.duckdb", users=2, sites=5, rows=90, seconds=0.25).describe()[:46]
    'library of w.duckdb: 2 users, 5 sites, 90 rows'
    """

    workspace: str
    users: int
    sites: int
    rows: int
    seconds: float
    read: ReadSummary = field(default_factory=ReadSummary)
    version: int = 0
    #: True for a library kept in a database of the engine's catalog (Spark)
    catalog: bool = False

    def describe(self) -> str:
        """One line for a person."""
        if self.catalog:
            return (
                f"library of Spark database {self.workspace}: {self.users:,} users, "
                f"{self.sites:,} sites, {self.rows:,} rows; profiles built in "
                f"{self.seconds:.1f} s"
            )
        read = self.read
        return (
            f"library of {self.workspace}: {self.users:,} users, {self.sites:,} sites, "
            f"{self.rows:,} rows ({read.rows:,} added, {read.rejected:,} rejected, "
            f"{len(read.skipped)} file(s) already there); profiles built in "
            f"{self.seconds:.1f} s"
        )


def index_file(
    path: Path,
    source: LogSource,
    mapping: LogMapping | None,
    settings: RejoinSettings,
    force: bool,
    progress: Progress,
    window_days: int | None = None,
) -> IndexSummary:
    """``Library.index`` on a DuckDB workspace file: the daily path (partials per user-day,
    aggregated), holding every day given unless ``window_days`` (or the workspace's window)."""
    from netpersona.rejoin._daily_run import add_day

    done = add_day(path, source, mapping, settings, window_days=window_days, force=force,
                   default_window=None, what="rejoin index", progress=progress)  # fmt: skip
    return IndexSummary(
        str(path), done.users, done.sites, done.rows, done.seconds, done.read, done.version
    )


def index_catalog(
    engine: Engine,
    database: str,
    source: LogSource,
    mapping: LogMapping | None,
    settings: RejoinSettings,
    force: bool,
    progress: Progress,
):
    """``Library.index`` into the database of an engine's catalog (Spark): replaced as a whole
    (a catalog keeps no ledger of ingested files), marked incomplete until it is built."""
    from netpersona.rejoin._daily import build_from_log

    if engine.has_table(LIBRARY_LOG) and not force:
        raise OutputExistsError(f"Spark table {database}.{LIBRARY_LOG}")
    version = Workspace.state_of(engine).version + 1
    Workspace.mark(engine, version, False, "rejoin index")
    read = read_log(source, mapping, engine, LIBRARY_LOG, progress=progress)
    profiles = build_from_log(engine, LIBRARY_LOG, LIBRARY, settings, progress=progress)
    Workspace.mark(engine, version, True, "rejoin index")
    return IndexSummary(
        database, profiles.n_users, profiles.n_sites, read.rows, profiles.seconds, read,
        version, catalog=True,
    )  # fmt: skip


def write_table(engine: Engine, table: pa.Table, out: str, force: bool, write_csv) -> str:
    """``table`` to ``out``: on an engine that writes paths itself a Parquet directory unless
    ``out`` ends in ``.csv`` or is a database URL; otherwise ``write_csv(table, out, force)``
    (a file by its extension, or a database table: ``table`` is in memory already, so a
    Spark run writes a database table the same way a DuckDB run does)."""
    if engine.distributed and not out.lower().endswith(".csv") and not is_table_url(out):
        name = f"_rejoin_out_{uuid.uuid4().hex[:8]}"
        engine.register_arrow(name, table)
        try:
            engine.write(name, out, "parquet", force=force)
        finally:
            engine.execute(f"DROP VIEW IF EXISTS {name}")
        return out
    write_csv(table, out if is_table_url(out) else Path(out), force=force)
    return out


def identify_with(library, method, matcher, queries, top_k, one_to_one, progress):
    """A trained matcher's identification for :meth:`Library.identify`. The library's side of
    the learned matcher (its activity and item sets) is loaded once per library and kept, so a
    long-lived library (``netpersona serve``) pays it once, not on every call."""
    from netpersona.rejoin._learned import (
        LearnedMatcher,
        identify_method,
        identify_sides,
        load_side,
    )

    if not isinstance(matcher, LearnedMatcher):
        return identify_method(
            method, None, library.profiles, queries, library.settings, matcher=matcher,
            top_k=top_k, one_to_one=one_to_one, progress=progress,
        )  # fmt: skip
    if library._side is None:
        library._side = load_side(library.profiles)
    return identify_sides(
        method, matcher, library._side, load_side(queries), top_k=top_k,
        one_to_one=one_to_one, progress=progress,
    )  # fmt: skip


def profile_queries(library, source, mapping, progress: Progress, local: bool):
    """:meth:`Library.profile_queries`: read the queries into a scratch table, then step 1 —
    here when ``local`` and the log is small, else by the engine."""
    from netpersona.rejoin._profiles_local import LOCAL_MAX_ROWS, local_query_profiles

    log = f"_rejoin_queries_{uuid.uuid4().hex[:8]}"
    library._scratch.append(log)
    where = f"workspace {library.workspace}" if library.workspace else "the library's DuckDB"
    library.reads.append(read_log(source, mapping, library.engine, log, progress=progress,
                                  where=where))  # fmt: skip
    engine = library.engine
    small = local and not engine.distributed
    if small and engine.fetch_scalar(f"SELECT count(*) FROM {log}") <= LOCAL_MAX_ROWS:
        rows = engine.fetch_arrow(f"SELECT user_id, ts, site FROM {log}")
        return local_query_profiles(rows, library.profiles, library.settings, f"{log}_local")
    return library._build(log, "_rejoin_qry", progress, reference=library.profiles)


def warm(library) -> None:
    """:meth:`Library.warm`: profile arrays (item sequences too), a trained matcher, its side."""
    from netpersona.rejoin._learned import LearnedMatcher, load_side

    arrays = library.profiles.arrays()
    arrays.join_index(library.settings.jaccard_min, len(arrays.site_weight))
    if library.has_matcher():
        matcher = library.matcher("auto")
        if isinstance(matcher, LearnedMatcher) and library._side is None:
            library._side = load_side(library.profiles)


def check_method(method: str, workspace) -> bool:
    """:meth:`Library.check_method`."""
    from netpersona.rejoin._learned._methods import METHODS, METHODS_HELP

    if method == "paper":
        return False
    if method not in METHODS:
        raise ConfigError(f"unknown --method {method!r}; {METHODS_HELP}")
    if workspace is None:
        raise ConfigError(
            f"--method {method} uses the matcher trained on a workspace: give --workspace "
            "(train it with `netpersona rejoin train LOGS --workspace W`)"
        )
    return True
