"""The re-join library as one object: what the CLI, ``serve`` and a notebook all call.

A library is a profile set (step 1) on an engine: a workspace's last complete state
(:meth:`Library.open`), or built from logs on the spot (:meth:`Library.from_log`).
:meth:`Library.index` builds a workspace's library (beside the live state, swapped in whole);
:meth:`Library.identify` / :meth:`Library.explain` answer for new numbers; :meth:`Library.train`
fits the learned matcher; :meth:`Library.evaluate` / :meth:`Library.calibrate` run the paper's
protocol on a log.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from netpersona._core import ConfigError, InputError, Progress
from netpersona.engine import DuckDBEngine, Engine, Workspace
from netpersona.io import LogMapping, LogSource, ReadSummary, read_log
from netpersona.rejoin._identify import IdentifyResult, identify
from netpersona.rejoin._library_build import IndexSummary
from netpersona.rejoin._profiles import Profiles, build_profiles
from netpersona.rejoin._settings import RejoinSettings

LIBRARY_LOG = Workspace.LIBRARY_LOG
LIBRARY = Workspace.LIBRARY


class Library:
    """A library's profiles on an engine, with the queries profiled against it.

    Use as a context manager (or call :meth:`close`): scratch tables are dropped and an engine
    the library opened is closed, so a workspace keeps only what :meth:`index` put there.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rows = [f"{u},2024-01-0{d} {h}:{m:02d}:00,{u}{m % 3}.com" for u in "ab"
    ...         for d in range(1, 10) for h in (10 if u == "a" else 20, 11) for m in range(25)]
    >>> _ = (folder / "lib.csv").write_text("user_id,ts,url\\n" + "\\n".join(rows))
    >>> _ = (folder / "q.csv").write_text(  # user a comes back as new_a
    ...     "user_id,ts,url\\n" + "\\n".join("new_" + r for r in rows if r[0] == "a"))
    >>> summary = Library.index(folder / "w.duckdb", folder / "lib.csv")
    >>> summary.users, summary.version
    (2, 1)
    >>> with Library.open(folder / "w.duckdb") as library:
    ...     result = library.identify(folder / "q.csv")
    >>> result.matches.select(["query_user", "decision", "library_user"]).to_pylist()
    [{'query_user': 'new_a', 'decision': 'match', 'library_user': 'a'}]
    """

    def __init__(
        self,
        engine: Engine,
        profiles: Profiles,
        settings: RejoinSettings | None = None,
        *,
        workspace: str | Path | None = None,
        own_engine: bool = True,
    ) -> None:
        self.engine = engine
        self.profiles = profiles
        self.settings = settings or profiles.settings
        self.workspace = workspace
        self._own_engine = own_engine
        self._scratch: list[str] = []
        self._scratch_profiles: list[Profiles] = []
        self._matchers: dict[str, Any] = {}
        self._side: Any = None  # the learned matcher's library side, loaded once
        #: what each read of a log for this library did (rows, rejects and where they went)
        self.reads: list[ReadSummary] = []

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        workspace: str | Path,
        *,
        engine: Engine | None = None,
        settings: RejoinSettings | None = None,
        progress: Progress | None = None,
        close_engine: bool = False,
    ) -> Library:
        """The library of a workspace's last complete state: a DuckDB workspace file, or (with
        ``engine``, e.g. Spark) the engine's database named ``workspace``. ``settings`` that
        change step 1 rebuild the profiles for this library only (the workspace is untouched).
        An engine the library opens is closed with it; a given one only with ``close_engine``.
        """
        progress = progress or Progress()
        own = engine is None or close_engine
        engine = Workspace.reader(workspace) if engine is None else engine
        try:
            Workspace.require_complete(engine, workspace)
            if not engine.has_table(f"{LIBRARY}_meta"):
                raise InputError(
                    "the workspace holds no library",
                    path=workspace,
                    hint="build it with `netpersona rejoin index LOGS --workspace W`",
                )
            profiles = Profiles.open(engine, LIBRARY)
            settings = settings or profiles.settings
            library = cls(engine, profiles, settings, workspace=workspace, own_engine=own)
            if profiles.settings.profile_key() != settings.profile_key():
                progress.log(
                    "the settings change step 1 (frequent_ratio / active_minutes): rebuilding "
                    "the library's profiles for this run"
                )
                log = profiles.log_table or LIBRARY_LOG
                with Workspace.store_reading(engine, workspace, log):  # rows in W.store
                    library.profiles = library._build(log, "_rejoin_lib", progress)
        except BaseException:
            if own:
                engine.close()
            raise
        return library

    @classmethod
    def from_log(
        cls,
        source: LogSource,
        mapping: LogMapping | None = None,
        settings: RejoinSettings | None = None,
        *,
        engine: Engine | None = None,
        progress: Progress | None = None,
        close_engine: bool = False,
    ) -> Library:
        """A library built from logs for this session only (in memory unless ``engine``; a
        given engine is closed with the library only with ``close_engine``)."""
        progress = progress or Progress()
        settings = settings or RejoinSettings()
        own = engine is None or close_engine
        engine = DuckDBEngine() if engine is None else engine
        try:
            read = read_log(source, mapping, engine, LIBRARY_LOG, progress=progress)
            profiles = build_profiles(engine, LIBRARY_LOG, LIBRARY, settings, progress=progress)
        except BaseException:
            if own:
                engine.close()
            raise
        library = cls(engine, profiles, settings, own_engine=own)
        library.reads.append(read)
        return library

    # -- building a workspace's library ---------------------------------------------------
    @classmethod
    def index(
        cls,
        workspace: str | Path,
        source: LogSource,
        mapping: LogMapping | None = None,
        settings: RejoinSettings | None = None,
        *,
        force: bool = False,
        engine: Engine | None = None,
        progress: Progress | None = None,
        window_days: int | None = None,
    ) -> IndexSummary:
        """Add ``source`` to the workspace's library and rebuild its profiles (step 1).

        DuckDB workspace file: files already ingested are skipped; ``force`` starts the
        library afresh from ``source`` alone. The build writes beside the live file and is
        swapped in whole, so a failure or a kill leaves the previous library intact. With
        ``engine`` (Spark), the library is the engine's database ``workspace``, replaced as a
        whole (``force``) rather than added to; a complete-marker guards it. Every day given
        is held unless ``window_days`` (see :meth:`add_day`).
        """
        from netpersona.rejoin._library_build import index_catalog, index_file

        progress = progress or Progress()
        settings = settings or RejoinSettings()
        if engine is not None:
            if window_days is not None:
                raise ConfigError("--window-days applies to a DuckDB workspace file, not Spark")
            return index_catalog(engine, str(workspace), source, mapping, settings, force, progress)
        return index_file(Path(workspace), source, mapping, settings, force, progress, window_days)

    @staticmethod
    def add_day(
        workspace: str | Path,
        source: LogSource,
        mapping: LogMapping | None = None,
        settings: RejoinSettings | None = None,
        **options: Any,
    ):
        """One or more days of log into the workspace's library: partials of the (user, day)
        pairs they touch, days past the window out, the library aggregated again (see
        :func:`netpersona.rejoin._daily_run.add_day`: ``window_days``, ``keep_days``,
        ``force``, ``progress``); returns the :class:`DailySummary`."""  # fmt: skip
        from netpersona.rejoin._daily_run import add_day

        return add_day(workspace, source, mapping, settings, **options)

    @staticmethod
    def status(workspace: str | Path):
        """Days held, window, users, last day added, gaps (a :class:`DailyStatus`)."""
        from netpersona.rejoin._daily_status import status

        return status(workspace)

    # -- queries ----------------------------------------------------------------------------
    def _build(
        self, log_table: str, prefix: str, progress: Progress, reference: Profiles | None = None
    ) -> Profiles:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        profiles = build_profiles(
            self.engine, log_table, name, self.settings, reference=reference, progress=progress
        )
        self._scratch_profiles.append(profiles)
        return profiles

    def profile_queries(
        self,
        source: LogSource,
        mapping: LogMapping | None = None,
        *,
        progress: Progress | None = None,
        local: bool = False,
    ) -> Profiles:
        """Step 1 for the query logs, against this library (scratch tables, dropped on
        :meth:`close`). ``local``: a small log is profiled in this process instead (the same
        profiles, see :mod:`netpersona.rejoin._profiles_local`), held in memory only."""
        from netpersona.rejoin._library_build import profile_queries

        return profile_queries(self, source, mapping, progress or Progress(), local)

    def _queries(self, queries, mapping, progress, local: bool = False) -> Profiles:
        if isinstance(queries, Profiles):
            return queries
        return self.profile_queries(queries, mapping, progress=progress, local=local)

    @staticmethod
    def check_method(method: str, workspace: str | Path | None) -> bool:
        """Whether ``method`` needs a trained matcher (ConfigError for an unknown method, or
        one that needs a workspace when there is none)."""
        from netpersona.rejoin._library_build import check_method

        return check_method(method, workspace)

    def matcher(self, method: str):
        """The fitted matcher ``method`` needs: None for the paper's, else the one
        ``rejoin train`` saved beside the workspace (``learned`` / ``tfidf``)."""
        if not self.check_method(method, self.workspace):
            return None
        if method not in self._matchers:
            from netpersona.rejoin._learned import load_matcher

            folder = Workspace.matcher_dir(self.workspace)
            if not folder.exists():
                raise ConfigError(
                    f"no trained matcher for {self.workspace} (looked in {folder}); run "
                    f"`netpersona rejoin train --workspace {self.workspace}` first"
                )
            self._matchers[method] = load_matcher(folder)
        return self._matchers[method]

    def identify(
        self,
        queries: LogSource | Profiles,
        mapping: LogMapping | None = None,
        *,
        method: str = "paper",
        top_k: int = 0,
        one_to_one: bool = False,
        explain: bool = False,
        progress: Progress | None = None,
    ) -> IdentifyResult:
        """Identify every user of ``queries`` (logs, or profiles from :meth:`profile_queries`):
        MATCHES rows, one verdict per query. ``explain`` fills ``result.explanations`` with
        why each query got its verdict (ids masked)."""
        progress = progress or Progress()
        matcher = self.matcher(method)
        qry = self._queries(queries, mapping, progress, local=matcher is None)
        if matcher is None:
            result = identify(None, self.profiles, qry, self.settings, top_k=top_k,
                              progress=progress)  # fmt: skip
        else:
            from netpersona.rejoin._library_build import identify_with

            result = identify_with(self, method, matcher, qry, top_k, one_to_one, progress)
        result.queries = qry
        if explain:
            from netpersona.rejoin._library_explain import explain_result

            result.explanations = explain_result(self, qry, result, matcher, top_k)
        return result

    def explain(
        self,
        query_user: str,
        queries: LogSource | Profiles,
        mapping: LogMapping | None = None,
        *,
        method: str = "paper",
        top_k: int = 3,
        progress: Progress | None = None,
    ) -> str:
        """Why ``query_user`` got its verdict, as text (ids masked): shared frequent sites and
        their weights, the two hour profiles, the longest shared runs; with ``learned``, each
        feature and how much it moved the match probability."""
        from netpersona.rejoin._library_explain import explain_one

        matcher = self.matcher(method)
        qry = self._queries(queries, mapping, progress or Progress())
        return explain_one(self, qry, query_user, matcher, top_k)

    # -- outputs ----------------------------------------------------------------------------
    def write_matches(self, result: IdentifyResult, out: str | Path, force: bool = False) -> str:
        """MATCHES to ``out``: CSV (atomic; an existing file only with ``force``), or on an
        engine that writes paths itself (Spark) a Parquet directory unless ``out`` ends in
        ``.csv``."""
        from netpersona.rejoin._identify import write_matches_csv
        from netpersona.rejoin._library_build import write_table

        return write_table(self.engine, result.matches, str(out), force, write_matches_csv)

    @property
    def step2_runs(self) -> list[str]:
        """What a distributed step 2 did (candidates, pairs, MinHash recall), one line each."""
        return [run.describe() for run in getattr(self.engine, "step2_runs", [])]

    # -- long-lived use (netpersona serve) ------------------------------------------------------
    def has_matcher(self) -> bool:
        """Whether ``rejoin train`` saved a matcher for this library's workspace."""
        return self.workspace is not None and Workspace.matcher_dir(self.workspace).exists()

    def warm(self) -> Library:
        """Load now what identification needs (profile arrays with item sequences, a trained
        matcher and its library side), so no later call pays for it."""
        from netpersona.rejoin._library_build import warm

        warm(self)
        return self

    def release(self) -> None:
        """Drop the scratch tables of the queries profiled so far (and forget their reads);
        the library stays open for more."""
        for profiles in self._scratch_profiles:
            profiles.drop()
        for table in self._scratch:
            self.engine.execute(f"DROP TABLE IF EXISTS {table}")
        self._scratch_profiles, self._scratch = [], []
        self.reads.clear()

    # -- closing ----------------------------------------------------------------------------
    def close(self) -> None:
        """Drop the scratch tables; close the engine if the library opened it."""
        try:
            self.release()
        finally:
            if self._own_engine:
                self.engine.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- training and evaluation --------------------------------------------------------------
    @staticmethod
    def train(workspace: str | Path, logs=None, mapping=None, **options: Any):
        """Fit the learned matcher on the workspace's library (see
        :func:`netpersona.rejoin._library_train.train`); returns (matcher, folder)."""
        from netpersona.rejoin._library_train import train

        return train(workspace, logs, mapping, **options)

    @staticmethod
    def evaluate(source: LogSource, mapping: LogMapping | None = None, **options: Any):
        """The paper's protocol on a log (see :func:`netpersona.rejoin._library_train.
        evaluate_log`); returns the :class:`~netpersona.rejoin.Evaluation`."""
        from netpersona.rejoin._library_train import evaluate_log

        return evaluate_log(source, mapping, **options)

    @staticmethod
    def calibrate(source: LogSource, mapping: LogMapping | None = None, **options: Any):
        """Settings that suit a log, found by the protocol inside it (see
        :func:`netpersona.rejoin.calibrate`); returns the :class:`Calibration`."""
        from netpersona.rejoin._library_train import calibrate_log

        return calibrate_log(source, mapping, **options)
