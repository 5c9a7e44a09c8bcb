"""``netpersona rejoin index | identify | explain``: build the library, identify new numbers,
and say why."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netpersona._core import TABLE_OUTPUTS, InputError, RichProgress, mask_url, settings_options
from netpersona.cli._apps import rejoin_app
from netpersona.cli._config import rejoin_settings
from netpersona.cli._engines import EngineChoice, check_output, log_input, spark_database
from netpersona.cli._json import json_summary
from netpersona.cli._options import ForceOpt, engine_flags, mapping_flags
from netpersona.cli._rejoin_print import print_identify_summary, print_reads
from netpersona.engine import Workspace
from netpersona.io import LogMapping, check_writable
from netpersona.rejoin import RejoinSettings

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
        help="TOML file with a [rejoin] table (e.g. from `rejoin calibrate`); default: the "
        "configuration file's [rejoin], else the paper's values.",
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


#: the setting flags of a command (one per field of RejoinSettings, generated)
step_flags = settings_options(RejoinSettings, panel=_SETTINGS)
profile_flags = settings_options(
    RejoinSettings, only=("frequent_ratio", "active_minutes"), panel=_SETTINGS
)


MethodOpt = Annotated[
    str | None,
    typer.Option(
        "--method",
        help="paper: the paper's six steps; learned: the matcher fitted by `netpersona rejoin "
        "train` on the workspace; tfidf / tfidf_one_to_one: TF-IDF nearest neighbour with the "
        "threshold that training chose; auto: the one training's simulation found best. "
        "Default: auto when the workspace has a trained matcher, else paper.",
    ),
]
ExplainMethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        help="The matcher whose verdict to explain: paper (default), learned, tfidf, "
        "tfidf_one_to_one, learned_one_to_one or auto (see `rejoin identify --help`).",
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


def _open_library(choice: EngineChoice, workspace, library, mapping, settings, method, progress):
    """The library a command answers from: a workspace's last complete state (DuckDB file, or
    on Spark a database of the catalog), or --library LOGS built for this run."""
    from netpersona.rejoin import Library

    Library.check_method(method, workspace)
    if (workspace is None) == (library is None):
        raise InputError(
            "give either --workspace (a library indexed with `netpersona rejoin index`) or "
            "--library LOGS, not both and not neither"
        )
    if workspace is not None:
        return Library.open(workspace, engine=choice.open(workspace), settings=settings,
                            progress=progress, close_engine=True)  # fmt: skip
    source = log_input(library, EngineChoice(kind=choice.kind))
    engine = choice.open(None)
    return Library.from_log(
        source, mapping, settings, engine=engine, progress=progress, close_engine=True
    )


@rejoin_app.command("index")
@json_summary
@profile_flags
@mapping_flags
@engine_flags(candidates=False)
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
    settings: SettingsFileOpt = None,
    force: ForceOpt = False,
    window_days: Annotated[
        int | None,
        typer.Option(
            "--window-days",
            min=1,
            help="Hold only the last N days (stored for `rejoin add-day`); default: every day "
            "given (DuckDB workspace).",
        ),
    ] = None,
    overrides: dict | None = None,
    mapping: LogMapping | None = None,
    choice: EngineChoice | None = None,
) -> dict:
    """Add LOGS (or --table) to the workspace's library and build its profiles (step 1).

    Files already ingested are skipped; --force starts the library afresh from LOGS alone.
    On Spark the library is replaced as a whole (--force) rather than added to."""
    from rich.console import Console

    from netpersona.rejoin import Library

    source = log_input(logs, choice)
    chosen = rejoin_settings(settings, overrides)
    if choice.spark:
        spark_database(workspace)
    engine = choice.open(workspace)
    try:
        summary = Library.index(workspace, source, mapping, chosen, force=force,
                                engine=engine, progress=RichProgress(),
                                window_days=window_days)  # fmt: skip
    finally:
        if engine is not None:
            engine.close()
    print_reads([summary.read])
    Console().print(summary.describe())
    return {
        "workspace": workspace, "users": summary.users, "sites": summary.sites,
        "rows": summary.rows, "rows_read": summary.read.rows, "rejected": summary.read.rejected,
        "files_skipped": len(summary.read.skipped), "quarantine": summary.read.quarantine,
        "version": summary.version, "settings": chosen.to_dict(), "seconds": summary.seconds,
    }  # fmt: skip


@rejoin_app.command("identify")
@json_summary
@step_flags
@mapping_flags
@engine_flags()
def identify(
    out: Annotated[
        str,
        typer.Option(
            "--out",
            help=f"MATCHES to write: {TABLE_OUTPUTS}; on Spark a path not ending in .csv is "
            "written as a Parquet directory (any path Spark writes).",
        ),
    ],
    queries: QueriesOpt = None,
    workspace: OptionalWorkspaceOpt = None,
    library: LibraryOpt = None,
    settings: SettingsFileOpt = None,
    top_k: TopKOpt = 0,
    method: MethodOpt = None,
    one_to_one: OneToOneOpt = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print why each query got its verdict (ids masked).")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", dir_okay=False, help="Also write an HTML summary here."),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Store the matches as identity links of --workspace (`rejoin links` lists "
            "them; `forget` follows them).",
        ),
    ] = False,
    force: ForceOpt = False,
    overrides: dict | None = None,
    mapping: LogMapping | None = None,
    choice: EngineChoice | None = None,
) -> dict:
    """Identify every user of the query logs against the library: MATCHES.csv, one verdict per
    query (match / ambiguous / new)."""
    from netpersona.rejoin import record_links, write_identify_report

    if record and (workspace is None or choice.spark):
        raise InputError("--record stores links in a workspace file: give --workspace W (DuckDB)")
    check_output(out, force, spark=choice.spark)
    if report is not None:
        check_writable(report, force)
    source = log_input(queries, choice)
    s = rejoin_settings(settings, overrides)
    progress = RichProgress()
    if method is None:  # auto once `rejoin train` has fitted a matcher for the workspace
        trained = workspace is not None and Workspace.matcher_dir(workspace).exists()
        method = "auto" if trained else "paper"
    with _open_library(choice, workspace, library, mapping, s, method, progress) as lib:
        result = lib.identify(
            source,
            mapping,
            method=method,
            top_k=top_k,
            one_to_one=one_to_one,
            explain=explain,
            progress=progress,
        )
        lib.write_matches(result, out, force)
        added = None
        if record:
            added = record_links(lib, result, method=method)
            typer.echo(f"{added:,} identity link(s) recorded in {workspace}")
        print_reads(lib.reads)
        for line in lib.step2_runs + result.explanations:
            typer.echo(line)
    if report is not None:
        write_identify_report(result, report, force)
        typer.echo(f"report: {report}")
    summary = print_identify_summary(result, mask_url(out))
    return {**summary, "method": method, "links_recorded": added, "report": report}


@rejoin_app.command("explain")
@step_flags
@mapping_flags
@engine_flags()
def explain(
    query_user: Annotated[str, typer.Argument(help="The query user's id, as in the query logs.")],
    queries: QueriesOpt = None,
    workspace: OptionalWorkspaceOpt = None,
    library: LibraryOpt = None,
    settings: SettingsFileOpt = None,
    top_k: TopKOpt = 3,
    method: ExplainMethodOpt = "paper",
    overrides: dict | None = None,
    mapping: LogMapping | None = None,
    choice: EngineChoice | None = None,
) -> None:
    """Why QUERY_USER got its verdict: shared frequent sites and their weights, the two hour
    profiles side by side, the longest shared runs of visits (ids masked); with --method
    learned, each feature and how much it moved the match probability."""
    source = log_input(queries, choice)
    s = rejoin_settings(settings, overrides)
    progress = RichProgress(transient=True)
    with _open_library(choice, workspace, library, mapping, s, method, progress) as lib:
        typer.echo(lib.explain(query_user, source, mapping, method=method, top_k=top_k,
                               progress=progress))  # fmt: skip
