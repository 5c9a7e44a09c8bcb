"""Explanations of a library's verdicts, as text for a person (ids masked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from netpersona.rejoin._explain import explain, explain_matches

if TYPE_CHECKING:
    from netpersona.rejoin._identify import IdentifyResult
    from netpersona.rejoin._library import Library
    from netpersona.rejoin._profiles import Profiles

#: each learned explanation re-scores the queries, so identify explains only the first few
LEARNED_EXPLAIN_MAX = 20


def explain_learned_text(matcher, library: Profiles, queries: Profiles, user: str, top_k: int):
    """The learned matcher's explanation of ``user``'s verdict (or why there is none)."""
    from netpersona.rejoin._learned import LearnedMatcher, explain_learned, load_side

    if not isinstance(matcher, LearnedMatcher):
        return "explanations are for --method learned or paper"
    return explain_learned(matcher, load_side(library), load_side(queries), user, top_k).to_text()


def explain_one(library: Library, queries: Profiles, user: str, matcher, top_k: int) -> str:
    """``Library.explain``: one query user's verdict."""
    if matcher is not None:
        return explain_learned_text(matcher, library.profiles, queries, user, top_k)
    return explain(library.profiles, queries, user, library.settings, top_k=top_k).to_text()


def explain_result(
    library: Library, queries: Profiles, result: IdentifyResult, matcher, top_k: int
) -> list[str]:
    """``Library.identify(explain=True)``: every query's verdict (the learned matcher: the
    first :data:`LEARNED_EXPLAIN_MAX`, then a line saying how to see the others)."""
    if matcher is not None:
        users = list(dict.fromkeys(result.matches["query_user"].to_pylist()))
        texts = [
            explain_learned_text(matcher, library.profiles, queries, user, max(top_k, 3))
            for user in users[:LEARNED_EXPLAIN_MAX]
        ]
        if len(users) > LEARNED_EXPLAIN_MAX:
            texts.append(
                f"... explained the first {LEARNED_EXPLAIN_MAX} of {len(users):,} queries; "
                "use `netpersona rejoin explain USER --method learned` for others"
            )
        return texts
    by_query: dict[str, list[dict]] = {}
    for match in result.matches.to_pylist():
        by_query.setdefault(match["query_user"], []).append(match)
    la, qa = library.profiles.arrays(), queries.arrays()
    return [
        explain_matches(la, qa, qa.user_index[user], rows, library.settings).to_text()
        for user, rows in by_query.items()
    ]
