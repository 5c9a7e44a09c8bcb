"""Building a workspace's library: beside the live state, swapped in whole (DuckDB file), or in
a database of the engine's catalog guarded by a complete-marker (Spark)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa

from netpersona._core import ConfigError, OutputExistsError, Progress
from netpersona.engine import Engine, Workspace
from netpersona.io import LogMapping, LogSource, LogTable, ReadSummary, read_log
from netpersona.rejoin._profiles import build_profiles
from netpersona.rejoin._settings import RejoinSettings

LIBRARY_LOG = Workspace.LIBRARY_LOG
LIBRARY = Workspace.LIBRARY


def index_file(
    path: Path,
    source: LogSource,
    mapping: LogMapping | None,
    settings: RejoinSettings,
    force: bool,
    progress: Progress,
):
    """``Library.index`` on a DuckDB workspace file."""
    from netpersona.rejoin._library import IndexSummary

    with Workspace.rebuild(path, what="rejoin index") as ws:
        if force:
            ws.drop_ingested(LIBRARY_LOG)
        if isinstance(source, LogTable):
            read = _append_table(ws, source, mapping, progress, path)
        else:
            files = [source] if isinstance(source, str | Path) else list(source)
            read = ws.ingest([Path(s) for s in files], mapping, LIBRARY_LOG, progress=progress)
        profiles = build_profiles(ws, LIBRARY_LOG, LIBRARY, settings, progress=progress)
        rows = int(ws.fetch_scalar(f"SELECT count(*) FROM {LIBRARY_LOG}"))
        version = Workspace.state_of(ws).version
    return IndexSummary(
        str(path), profiles.n_users, profiles.n_sites, rows, profiles.seconds, read, version
    )


def _append_table(ws, source: LogTable, mapping, progress: Progress, path: Path) -> ReadSummary:
    """A table of the workspace appended to the library's log (no file ledger: tables have
    no content hash, so the same table twice is added twice)."""
    staged = f"_rejoin_table_{uuid.uuid4().hex[:8]}"
    try:
        read = read_log(source, mapping, ws, staged, progress=progress, where=f"workspace {path}")
        if ws.has_table(LIBRARY_LOG):
            ws.execute(f"INSERT INTO {LIBRARY_LOG} SELECT * FROM {staged}")
        else:
            ws.execute(f"CREATE TABLE {LIBRARY_LOG} AS SELECT * FROM {staged}")
    finally:
        ws.execute(f"DROP TABLE IF EXISTS {staged}")
    return ReadSummary(table=LIBRARY_LOG, rows=read.rows, rejected=read.rejected)


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
    from netpersona.rejoin._library import IndexSummary

    if engine.has_table(LIBRARY_LOG) and not force:
        raise OutputExistsError(f"Spark table {database}.{LIBRARY_LOG}")
    version = Workspace.state_of(engine).version + 1
    Workspace.mark(engine, version, False, "rejoin index")
    read = read_log(source, mapping, engine, LIBRARY_LOG, progress=progress)
    profiles = build_profiles(engine, LIBRARY_LOG, LIBRARY, settings, progress=progress)
    Workspace.mark(engine, version, True, "rejoin index")
    return IndexSummary(
        database, profiles.n_users, profiles.n_sites, read.rows, profiles.seconds, read,
        version, catalog=True,
    )  # fmt: skip


def write_table(engine: Engine, table: pa.Table, out: str, force: bool, write_csv) -> str:
    """``table`` to ``out``: on an engine that writes paths itself a Parquet directory unless
    ``out`` ends in ``.csv``; otherwise ``write_csv(table, path, force)``."""
    if engine.distributed and not out.lower().endswith(".csv"):
        name = f"_rejoin_out_{uuid.uuid4().hex[:8]}"
        engine.register_arrow(name, table)
        try:
            engine.write(name, out, "parquet", force=force)
        finally:
            engine.execute(f"DROP VIEW IF EXISTS {name}")
        return out
    write_csv(table, Path(out), force=force)
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
