"""``netpersona rejoin index | identify | explain``: build the library, identify new numbers,
and say why."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import Progress, RichProgress, settings_options
from netpersona.cli._apps import rejoin_app
from netpersona.cli._engines import (
    EngineChoice,
    check_output,
    input_sources,
    load_log,
    print_step2_runs,
    spark_database,
    write_arrow_output,
)
from netpersona.cli._options import (
    CandidateMode,
    CandidatesOpt,
    ColumnsOpt,
    EngineKind,
    EngineOpt,
    ForceOpt,
    MaxBadFractionOpt,
    NoHeaderOpt,
    PseudonymizeKeyOpt,
    SepOpt,
    SiteColOpt,
    SparkConfOpt,
    SparkMasterOpt,
    TableOpt,
    TimeColOpt,
    TimeOriginOpt,
    TimeUnitOpt,
    TimezoneOpt,
    UrlColOpt,
    UserColOpt,
    engine_from_params,
    mapping_from_params,
)
from netpersona.rejoin import RejoinSettings

#: the workspace's library: its log table and its profile set
LIBRARY_LOG = "library_log"
LIBRARY = "library"

_SETTINGS = "Re-join settings (default: the paper's values, or --settings)"

LogsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Access-log files (CSV/TSV/space/JSONL/Parquet, .gz); with --engine spark any "
        "path Spark reads (hdfs://, s3a://). Or --table.",
        show_default=False,
    ),
]
QueriesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--queries",
        help="Log files of the new numbers to identify (repeat for several files); or --table.",
    ),
]
LibraryOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--library",
        help="Library log files, used instead of an indexed --workspace (repeatable).",
    ),
]
OptionalWorkspaceOpt = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        help="Workspace built by `netpersona rejoin index` (holds the library's profiles); "
        "on Spark the name of its database in the Spark catalog.",
    ),
]
SettingsFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--settings",
        exists=True,
        dir_okay=False,
        help="TOML file with a [rejoin] table (e.g. from `rejoin calibrate`).",
        rich_help_panel=_SETTINGS,
    ),
]
TopKOpt = Annotated[
    int,
    typer.Option(
        "--top-k",
        min=0,
        help="Also list up to K further candidates per query (answer 0) for a person to check.",
    ),
]


def _settings(path: Path | None, overrides: dict):
    """Settings: the paper's defaults, then the TOML file, then any setting flag given."""
    from netpersona.rejoin import RejoinSettings

    return RejoinSettings.load(path, **overrides)


#: the setting flags of a command (one per field of RejoinSettings, generated)
step_flags = settings_options(RejoinSettings, panel=_SETTINGS)
profile_flags = settings_options(
    RejoinSettings, only=("frequent_ratio", "active_minutes"), panel=_SETTINGS
)


MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        help="paper: the paper's six steps; learned: the matcher fitted by `netpersona rejoin "
        "train` on the workspace; tfidf: TF-IDF nearest neighbour with the threshold that "
        "training chose.",
    ),
]
OneToOneOpt = Annotated[
    bool,
    typer.Option(
        "--one-to-one",
        help="learned/tfidf: give each library user to at most one query, greedily by "
        "match probability.",
    ),
]


#: each learned explanation re-scores the queries, so --explain shows only the first few
_LEARNED_EXPLAIN_MAX = 20


def _matcher(method: str, workspace: str | None):
    """The fitted matcher ``--method learned|tfidf`` needs (None for the paper's method)."""
    from netpersona._core import ConfigError

    if method == "paper":
        return None
    if method not in ("learned", "tfidf"):
        raise ConfigError(f"unknown --method {method!r}; choose paper, learned or tfidf")
    if workspace is None:
        raise ConfigError(
            f"--method {method} uses the matcher trained on a workspace: give --workspace "
            "(train it with `netpersona rejoin train LOGS --workspace W`)"
        )
    from netpersona.rejoin._learned import load_matcher, workspace_matcher_dir

    folder = workspace_matcher_dir(Path(workspace))
    if not folder.exists():
        raise ConfigError(
            f"no trained matcher for {workspace} (looked in {folder}); run "
            f"`netpersona rejoin train --workspace {workspace}` first"
        )
    return load_matcher(folder)


@contextmanager
def _library_and_queries(
    queries: list[str] | None,
    workspace: str | None,
    library: list[str] | None,
    mapping,
    settings,
    progress: Progress,
    choice: EngineChoice,
) -> Iterator[tuple]:
    """(library profiles, query profiles) from a workspace or library logs, on the chosen
    engine; temporary tables are dropped on the way out, so a workspace keeps only what
    `rejoin index` put there."""
    from netpersona._core import InputError
    from netpersona.engine import DuckDBEngine, Workspace
    from netpersona.rejoin import Profiles, build_profiles

    if (workspace is None) == (library is None):
        raise InputError(
            "give either --workspace (a library indexed with `netpersona rejoin index`) or "
            "--library LOGS, not both and not neither"
        )
    sources = input_sources(queries, choice)
    library_files = input_sources(library, replace(choice, table=None)) if library else []
    if choice.spark:
        engine = choice.open_spark(spark_database(workspace))
    elif workspace is not None and not Path(workspace).exists():
        raise InputError(
            "no such workspace",
            path=workspace,
            hint="build it with `netpersona rejoin index LOGS --workspace W`",
        )
    else:
        engine = Workspace(Path(workspace)) if workspace is not None else DuckDBEngine()
    tag = uuid.uuid4().hex[:8]
    temporary: list = []
    query_log = f"_rejoin_queries_{tag}"
    try:
        if workspace is not None:
            lib = Profiles.open(engine, LIBRARY)
            if lib.settings.profile_key() != settings.profile_key():
                progress.log(
                    "the settings change step 1 (frequent_ratio / active_minutes): rebuilding "
                    "the library's profiles for this run"
                )
                lib = build_profiles(
                    engine, lib.log_table or LIBRARY_LOG, f"_rejoin_lib_{tag}", settings,
                    progress=progress,
                )  # fmt: skip
                temporary.append(lib)
        else:
            plain = replace(choice, table=None)
            load_log(engine, plain, library_files, mapping, LIBRARY_LOG, progress)
            lib = build_profiles(engine, LIBRARY_LOG, LIBRARY, settings, progress=progress)
        where = f"workspace {workspace}" if workspace else "the library's DuckDB"
        load_log(engine, choice, sources, mapping, query_log, progress, where=where)
        qry = build_profiles(
            engine, query_log, f"_rejoin_qry_{tag}", settings, reference=lib, progress=progress
        )
        temporary.append(qry)
        yield lib, qry
    finally:
        for profiles in temporary:
            profiles.drop()
        engine.execute(f"DROP TABLE IF EXISTS {query_log}")
        engine.close()


@rejoin_app.command("index")
@profile_flags
def index(
    logs: LogsArg = None,
    workspace: Annotated[
        str,
        typer.Option(
            "--workspace",
            help="Workspace file (created if missing); on Spark the name of a database of the "
            "Spark catalog (created if missing).",
        ),
    ] = ...,
    user_col: UserColOpt = "user_id",
    time_col: TimeColOpt = "ts",
    url_col: UrlColOpt = "url",
    site_col: SiteColOpt = None,
    no_header: NoHeaderOpt = False,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    time_unit: TimeUnitOpt = None,
    timezone: TimezoneOpt = "UTC",
    time_origin: TimeOriginOpt = None,
    pseudonymize_key_file: PseudonymizeKeyOpt = None,
    max_bad_fraction: MaxBadFractionOpt = 0.01,
    settings: SettingsFileOpt = None,
    overrides: dict | None = None,
    force: ForceOpt = False,
    engine: EngineOpt = EngineKind.duckdb,
    spark_master: SparkMasterOpt = "local[*]",
    spark_conf: SparkConfOpt = None,
    table: TableOpt = None,
) -> None:
    """Add LOGS (or --table) to the workspace's library and build its profiles (step 1).

    Files already ingested are skipped; --force starts the library afresh from LOGS alone.
    On Spark the library is replaced as a whole (--force) rather than added to."""
    from rich.console import Console

    from netpersona.engine import Workspace
    from netpersona.engine._workspace import LEDGER
    from netpersona.rejoin import build_profiles
    from netpersona.rejoin._profiles import table_exists

    choice = engine_from_params(locals())
    sources = input_sources(logs, choice)
    mapping = mapping_from_params(locals())
    rejoin_settings = _settings(settings, overrides or {})
    progress = RichProgress()
    if choice.spark:
        _index_spark(choice, sources, workspace, mapping, rejoin_settings, force, progress)
        return
    with Workspace(Path(workspace)) as ws:
        if force and table_exists(ws, LIBRARY_LOG):
            ws.execute(f"DROP TABLE {LIBRARY_LOG}")
            ws.execute(f"DELETE FROM {LEDGER} WHERE table_name = '{LIBRARY_LOG}'")
        if choice.table:
            read = _ingest_table(ws, choice, mapping, progress, workspace)
        else:
            read = ws.ingest([Path(s) for s in sources], mapping, LIBRARY_LOG, progress=progress)
        profiles = build_profiles(ws, LIBRARY_LOG, LIBRARY, rejoin_settings, progress=progress)
        rows = ws.fetch_scalar(f"SELECT count(*) FROM {LIBRARY_LOG}")
    Console().print(
        f"library of {workspace}: {profiles.n_users:,} users, {profiles.n_sites:,} sites, "
        f"{rows:,} rows ({read.rows:,} added, {read.rejected:,} rejected, "
        f"{len(read.skipped)} file(s) already there); profiles built in "
        f"{profiles.seconds:.1f} s"
    )


def _ingest_table(ws, choice: EngineChoice, mapping, progress: Progress, workspace: str):
    """A table of the workspace appended to the library's log (no file ledger: tables have
    no content hash, so the same table twice is added twice)."""
    from netpersona.io import ReadSummary
    from netpersona.rejoin._profiles import table_exists

    staged = f"_rejoin_table_{uuid.uuid4().hex[:8]}"
    try:
        rows = load_log(ws, choice, [], mapping, staged, progress, where=f"workspace {workspace}")
        if table_exists(ws, LIBRARY_LOG):
            ws.execute(f"INSERT INTO {LIBRARY_LOG} SELECT * FROM {staged}")
        else:
            ws.execute(f"CREATE TABLE {LIBRARY_LOG} AS SELECT * FROM {staged}")
    finally:
        ws.execute(f"DROP TABLE IF EXISTS {staged}")
    return ReadSummary(table=LIBRARY_LOG, rows=rows)


def _index_spark(choice, sources, workspace, mapping, settings, force, progress) -> None:
    """``rejoin index --engine spark``: the library as Parquet tables of a catalog database."""
    from rich.console import Console

    from netpersona._core import OutputExistsError
    from netpersona.rejoin import build_profiles

    database = spark_database(workspace)
    with choice.open_spark(database) as spark:
        if spark.has_table(LIBRARY_LOG) and not force:
            # Spark keeps no ledger of ingested files: --force replaces the library
            raise OutputExistsError(f"Spark table {database}.{LIBRARY_LOG}")
        rows = load_log(spark, choice, sources, mapping, LIBRARY_LOG, progress)
        profiles = build_profiles(spark, LIBRARY_LOG, LIBRARY, settings, progress=progress)
    Console().print(
        f"library of Spark database {database}: {profiles.n_users:,} users, "
        f"{profiles.n_sites:,} sites, {rows:,} rows; profiles built in {profiles.seconds:.1f} s"
    )


@rejoin_app.command("identify")
@step_flags
def identify(
    out: Annotated[
        str,
        typer.Option(
            "--out",
            help="MATCHES.csv to write; on Spark a path not ending in .csv is written as a "
            "Parquet directory (any path Spark writes).",
        ),
    ],
    queries: QueriesOpt = None,
    workspace: OptionalWorkspaceOpt = None,
    library: LibraryOpt = None,
    user_col: UserColOpt = "user_id",
    time_col: TimeColOpt = "ts",
    url_col: UrlColOpt = "url",
    site_col: SiteColOpt = None,
    no_header: NoHeaderOpt = False,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    time_unit: TimeUnitOpt = None,
    timezone: TimezoneOpt = "UTC",
    time_origin: TimeOriginOpt = None,
    pseudonymize_key_file: PseudonymizeKeyOpt = None,
    max_bad_fraction: MaxBadFractionOpt = 0.01,
    settings: SettingsFileOpt = None,
    overrides: dict | None = None,
    top_k: TopKOpt = 0,
    method: MethodOpt = "paper",
    one_to_one: OneToOneOpt = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print why each query got its verdict (ids masked).")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", dir_okay=False, help="Also write an HTML summary here."),
    ] = None,
    force: ForceOpt = False,
    engine: EngineOpt = EngineKind.duckdb,
    spark_master: SparkMasterOpt = "local[*]",
    spark_conf: SparkConfOpt = None,
    table: TableOpt = None,
    candidates: CandidatesOpt = CandidateMode.exact,
) -> None:
    """Identify every user of the query logs against the library: MATCHES.csv, one verdict per
    query (match / ambiguous / new)."""
    from netpersona.io import check_writable
    from netpersona.rejoin import identify as run_identify
    from netpersona.rejoin._explain import explain_matches
    from netpersona.rejoin._identify import write_matches_csv

    choice = engine_from_params(locals())
    check_output(out, force)
    if report is not None:
        check_writable(report, force)
    mapping = mapping_from_params(locals())
    s = _settings(settings, overrides or {})
    matcher = _matcher(method, workspace)
    progress = RichProgress()
    with _library_and_queries(queries, workspace, library, mapping, s, progress, choice) as (
        lib,
        qry,
    ):
        if matcher is None:
            result = run_identify(None, lib, qry, s, top_k=top_k, progress=progress)
        else:
            from netpersona.rejoin._learned import identify_method

            result = identify_method(
                method, None, lib, qry, s, matcher=matcher, top_k=top_k,
                one_to_one=one_to_one, progress=progress,
            )  # fmt: skip
        write_arrow_output(
            lib.engine, result.matches, out, force, write_matches_csv, "_rejoin_matches"
        )
        print_step2_runs(lib.engine, typer.echo)
        if explain and matcher is not None:
            users = list(dict.fromkeys(result.matches["query_user"].to_pylist()))
            for user in users[:_LEARNED_EXPLAIN_MAX]:
                typer.echo(_explain_learned(matcher, lib, qry, user, max(top_k, 3)))
            if len(users) > _LEARNED_EXPLAIN_MAX:
                typer.echo(
                    f"... explained the first {_LEARNED_EXPLAIN_MAX} of {len(users):,} queries; "
                    "use `netpersona rejoin explain USER --method learned` for others"
                )
        elif explain:
            by_query: dict[str, list[dict]] = {}
            for match in result.matches.to_pylist():
                by_query.setdefault(match["query_user"], []).append(match)
            la, qa = lib.arrays(), qry.arrays()
            for user, rows in by_query.items():
                typer.echo(explain_matches(la, qa, qa.user_index[user], rows, s).to_text())
    if report is not None:
        _write_report(result, report, force)
    _print_summary(result, out)


def _write_report(result, path: Path, force: bool) -> None:
    try:
        from netpersona.rejoin._report import write_identify_report
    except ImportError:
        typer.echo("the HTML report is not available in this version; skipped --report", err=True)
        return
    write_identify_report(result, path, force)
    typer.echo(f"report: {path}")


def _print_summary(result, out: Path) -> None:
    import pyarrow.compute as pc
    from rich.console import Console
    from rich.table import Table

    first = result.matches.filter(pc.less_equal(result.matches["rank"], 1))
    verdicts = first["decision"].to_pylist()
    table = Table(title="Re-join funnel (mean candidates per query)")
    table.add_column("step")
    table.add_column("candidates", justify="right")
    table.add_column("seconds", justify="right")
    for step in result.steps:
        table.add_row(step["step"], f"{step['mean_candidates']:,.3f}", f"{step['seconds']:.3f}")
    console = Console()
    console.print(table)
    console.print(
        f"{result.n_queries:,} queries against {result.n_library:,} library users in "
        f"{result.seconds:.2f} s: {verdicts.count('match'):,} match, "
        f"{verdicts.count('ambiguous'):,} ambiguous, {verdicts.count('new'):,} new -> {out}"
    )


@rejoin_app.command("explain")
@step_flags
def explain(
    query_user: Annotated[str, typer.Argument(help="The query user's id, as in the query logs.")],
    queries: QueriesOpt = None,
    workspace: OptionalWorkspaceOpt = None,
    library: LibraryOpt = None,
    user_col: UserColOpt = "user_id",
    time_col: TimeColOpt = "ts",
    url_col: UrlColOpt = "url",
    site_col: SiteColOpt = None,
    no_header: NoHeaderOpt = False,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    time_unit: TimeUnitOpt = None,
    timezone: TimezoneOpt = "UTC",
    time_origin: TimeOriginOpt = None,
    pseudonymize_key_file: PseudonymizeKeyOpt = None,
    max_bad_fraction: MaxBadFractionOpt = 0.01,
    settings: SettingsFileOpt = None,
    overrides: dict | None = None,
    top_k: TopKOpt = 3,
    method: MethodOpt = "paper",
    engine: EngineOpt = EngineKind.duckdb,
    spark_master: SparkMasterOpt = "local[*]",
    spark_conf: SparkConfOpt = None,
    table: TableOpt = None,
    candidates: CandidatesOpt = CandidateMode.exact,
) -> None:
    """Why QUERY_USER got its verdict: shared frequent sites and their weights, the two hour
    profiles side by side, the longest shared runs of visits (ids masked); with --method
    learned, each feature and how much it moved the match probability."""
    from netpersona.rejoin import explain as run_explain

    choice = engine_from_params(locals())
    mapping = mapping_from_params(locals())
    s = _settings(settings, overrides or {})
    matcher = _matcher(method, workspace)
    progress = RichProgress(transient=True)
    with _library_and_queries(queries, workspace, library, mapping, s, progress, choice) as (
        lib,
        qry,
    ):
        if matcher is not None:
            typer.echo(_explain_learned(matcher, lib, qry, query_user, top_k))
        else:
            typer.echo(run_explain(lib, qry, query_user, s, top_k=top_k).to_text())


def _explain_learned(matcher, lib, qry, query_user: str, top_k: int) -> str:
    from netpersona.rejoin._learned import LearnedMatcher, explain_learned, load_side

    if not isinstance(matcher, LearnedMatcher):
        return "explanations are for --method learned or paper"
    return explain_learned(matcher, load_side(lib), load_side(qry), query_user, top_k).to_text()
