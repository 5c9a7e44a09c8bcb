"""The service's one adapter to re-join identification: posted events -> verdicts.

Posted events become the very log the CLI reads (a JSON Lines file read by
:func:`netpersona.io.read_access_log`, so url -> site and time parsing are the reader's), their
profiles are built against the library held in memory, and the rejoin package identifies them
(``paper``: :func:`netpersona.rejoin.identify`; ``learned`` / ``tfidf``: the fitted matcher, as
``netpersona rejoin identify --method`` calls it). Every call into rejoin is in this module, so
it can be switched to a library object in one place.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netpersona._core import ConfigError, InputError
from netpersona.io import LogMapping, read_access_log
from netpersona.rejoin import Profiles, RejoinSettings, build_profiles, identify

#: the library's profile set in a workspace (what `netpersona rejoin index` builds)
LIBRARY = "library"
#: as `rejoin identify --method`; ``auto``: what the trained matcher's simulation chose
METHODS = ("paper", "learned", "tfidf", "tfidf_one_to_one", "learned_one_to_one", "auto")


class EventError(InputError):
    """A posted event cannot be used; ``index`` is its position in the request (0-based)."""

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"event {index}: {reason}")


@dataclass
class LoadedLibrary:
    """The library's profiles in an in-memory engine, plus the trained matcher when there is
    one (``None`` otherwise) and the learned matcher's library side (loaded on first use)."""

    engine: Any
    profiles: Profiles
    settings: RejoinSettings
    matcher: Any = None
    learned_side: Any = None


def load_library(engine, workspace: Path, settings: RejoinSettings) -> LoadedLibrary:
    """The library of ``workspace`` (attached read-only to ``engine``, copied, detached)."""
    from netpersona.rejoin._learned import load_matcher, load_side, workspace_matcher_dir

    try:
        engine.execute(f"ATTACH '{_literal(str(workspace))}' AS ws (READ_ONLY)")
    except Exception as exc:  # locked by a writer, not a DuckDB file, ...
        raise InputError(
            f"cannot open the workspace read-only: {exc}",
            path=workspace,
            hint="if `netpersona rejoin index` is writing it now, start again when it is done",
        ) from None
    try:
        names = {
            row[0]
            for row in engine.con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'ws'"
            ).fetchall()
        }
        meta = f"{LIBRARY}_meta"
        if meta not in names:
            raise InputError(
                "the workspace holds no re-join library",
                path=workspace,
                hint="build it with `netpersona rejoin index LOGS --workspace W`",
            )
        engine.execute(f'CREATE TABLE "{meta}" AS SELECT * FROM ws.main."{meta}"')
        profiles = Profiles.open(engine, LIBRARY)
        # the profile set's tables, not its (large) log table, which stays in the file
        for name in sorted(names):
            if name.startswith(f"{LIBRARY}_") and name not in (meta, profiles.log_table):
                engine.execute(f'CREATE TABLE "{name}" AS SELECT * FROM ws.main."{name}"')
        if profiles.settings.profile_key() != settings.profile_key():
            raise ConfigError(
                f"the library of {workspace} was built with frequent_ratio="
                f"{profiles.settings.frequent_ratio}, active_minutes="
                f"{profiles.settings.active_minutes}; the service's settings say "
                f"{settings.frequent_ratio}, {settings.active_minutes}: give the settings the "
                "library was indexed with (--settings), or re-index it"
            )
        profiles.arrays()  # all of it in memory, item sequences included
        matcher, side = None, None
        folder = workspace_matcher_dir(workspace)
        if folder.exists():
            matcher = load_matcher(folder)
            if profiles.log_table and profiles.log_table in names:
                # the learned matcher reads the library's raw activity once, from the file
                engine.execute(
                    f'CREATE VIEW "{profiles.log_table}" AS '
                    f'SELECT * FROM ws.main."{profiles.log_table}"'
                )
                try:
                    side = load_side(profiles)
                finally:
                    engine.execute(f'DROP VIEW "{profiles.log_table}"')
    finally:
        engine.execute("DETACH ws")
    return LoadedLibrary(engine, profiles, settings, matcher, side)


def _literal(text: str) -> str:
    return text.replace("'", "''")


def check_events(events: Any) -> str:
    """Whether ``events`` is a list of usable event objects; returns the site key (``url`` or
    ``site``). Raises :class:`EventError` for the first unusable event."""
    if not isinstance(events, list) or not events:
        raise EventError(0, "'events' must be a non-empty list of {user_id, ts, url | site}")
    key = None
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise EventError(i, "expected an object {user_id, ts, url | site}")
        for field in ("user_id", "ts"):
            if field not in event or event[field] in (None, ""):
                raise EventError(i, f"missing {field}")
        if not isinstance(event["user_id"], str | int) or isinstance(event["user_id"], bool):
            raise EventError(i, "user_id must be a string")
        if not isinstance(event["ts"], str):
            raise EventError(i, "ts must be an ISO-8601 time string")
        has = [k for k in ("url", "site") if event.get(k) not in (None, "")]
        if len(has) != 1:
            raise EventError(i, "give exactly one of url or site")
        if key is not None and has[0] != key:
            raise EventError(i, f"mixes {has[0]} with {key}: give the same field in every event")
        key = has[0]
    assert key is not None
    return key


def identify_events(
    library: LoadedLibrary,
    events: list[dict],
    site_key: str,
    *,
    method: str | None = None,
    top_k: int = 0,
    timezone: str = "UTC",
) -> list[dict]:
    """One verdict per query user of ``events`` (checked by :func:`check_events`), in order
    of their first event. ``method`` None: ``auto`` when the workspace has a trained matcher,
    else ``paper``, as `rejoin identify` chooses. The caller holds the library's lock: its
    engine is not shared."""
    if method is None:
        method = "auto" if library.matcher is not None else "paper"
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if method != "paper" and library.matcher is None:
        raise ConfigError(
            f"method {method!r} needs a matcher trained on the workspace "
            "(`netpersona rejoin train --workspace W`); this library has none"
        )
    engine, tag = library.engine, uuid.uuid4().hex[:8]
    log, name = f"_serve_log_{tag}", f"_serve_qry_{tag}"
    mapping = LogMapping(
        url_col="url", site_col="site" if site_key == "site" else None,
        timezone=timezone, max_bad_fraction=0.0,
    )  # fmt: skip
    queries = None
    with tempfile.TemporaryDirectory(prefix="netpersona-serve-") as folder:
        path = Path(folder) / "events.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            for e in events:
                row = {"user_id": str(e["user_id"]), "ts": e["ts"], site_key: e[site_key]}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        try:
            read_access_log(path, mapping, engine, log, quarantine=Path(folder) / "bad.csv")
            queries = build_profiles(
                engine, log, name, library.settings, reference=library.profiles
            )
            result = _run(library, queries, method, top_k)
        except InputError as exc:
            line = getattr(exc, "line", None)  # a JSON Lines line: event line - 1
            reason = str(exc).split(": ", 1)[-1].split("\n")[0]
            raise EventError(line - 1 if line else 0, reason) from None
        finally:
            if queries is not None:
                queries.drop()
            engine.execute(f"DROP TABLE IF EXISTS {log}")
    return verdicts(result.matches.to_pylist())


def _run(library: LoadedLibrary, queries: Profiles, method: str, top_k: int):
    if method == "paper":
        return identify(None, library.profiles, queries, library.settings, top_k=top_k)
    from netpersona.rejoin._learned import LearnedMatcher, identify_sides, load_side

    if not isinstance(library.matcher, LearnedMatcher) or library.learned_side is None:
        raise ConfigError(
            f"method {method!r} needs the learned matcher of `netpersona rejoin train` and the "
            "library's log in the workspace"
        )
    return identify_sides(
        method, library.matcher, library.learned_side, load_side(queries), top_k=top_k
    )


def verdicts(matches: list[dict]) -> list[dict]:
    """MATCHES rows -> one verdict per query user: its decision, its best library user (for a
    match), the score, and every ranked candidate (answer 1: in the output set)."""
    by_query: dict[str, list[dict]] = {}
    for row in matches:
        by_query.setdefault(row["query_user"], []).append(row)
    out = []
    for user, rows in by_query.items():
        ranked = sorted((r for r in rows if r["library_user"] is not None), key=lambda r: r["rank"])
        decision = rows[0]["decision"]
        best = ranked[0] if ranked else None
        out.append(
            {
                "query_user": user,
                "verdict": decision,
                "library_user": best["library_user"] if best and decision == "match" else None,
                "score": _number(best["score"]) if best else None,
                "candidates": [
                    {
                        "library_user": r["library_user"],
                        "rank": r["rank"],
                        "score": _number(r["score"]),
                        "answer": bool(r["answer"]),
                        **{k: _number(r.get(k)) for k in _SIMS if k in r},
                    }
                    for r in ranked
                ],
            }
        )
    return out


_SIMS = ("simi_one", "simi_two", "simi_three", "simi_four")


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if value != value else value  # NaN -> null (JSON has no NaN)
