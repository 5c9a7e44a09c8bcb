"""The service's one adapter to re-join identification: posted events -> verdicts.

Posted events become the very log the CLI reads (a JSON Lines file read by the io reader, so
url -> site and time parsing are the reader's), and the workspace's
:class:`netpersona.rejoin.Library` identifies them exactly as ``netpersona rejoin identify``
does (``paper``, ``learned``, ``tfidf``, ``auto``, ...). The library is opened once and kept
warm: its profile arrays, the trained matcher and the matcher's library side stay in memory.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from netpersona._core import InputError
from netpersona.io import LogMapping
from netpersona.rejoin import Library, RejoinSettings


class EventError(InputError):
    """A posted event cannot be used; ``index`` is its position in the request (0-based)."""

    def __init__(self, index: int, reason: str) -> None:
        self.index = index
        self.reason = reason
        super().__init__(f"event {index}: {reason}")


#: what the service keeps of a loaded workspace: a warm re-join library
LoadedLibrary = Library


def load_library(workspace: Path, settings: RejoinSettings | None = None) -> Library:
    """The library of ``workspace``'s last complete state (attached read-only: builds of a
    new state do not disturb it), warmed so that no request pays for loading."""
    library = Library.open(workspace, settings=settings)
    try:
        return library.warm()
    except BaseException:
        library.close()
        raise


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
    library: Library,
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
        method = "auto" if library.has_matcher() else "paper"
    library.check_method(method, library.workspace)
    mapping = LogMapping(
        url_col="url", site_col="site" if site_key == "site" else None,
        timezone=timezone, max_bad_fraction=0.0,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="netpersona-serve-") as folder:
        path = Path(folder) / "events.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            for e in events:
                row = {"user_id": str(e["user_id"]), "ts": e["ts"], site_key: e[site_key]}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        try:
            result = library.identify(path, mapping, method=method, top_k=top_k)
        except InputError as exc:
            line = getattr(exc, "line", None)  # a JSON Lines line: event line - 1
            reason = str(exc).split(": ", 1)[-1].split("\n")[0]
            raise EventError(line - 1 if line else 0, reason) from None
        finally:
            library.release()
    return verdicts(result.matches.to_pylist())


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
