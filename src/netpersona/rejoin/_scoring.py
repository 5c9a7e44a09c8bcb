"""Scoring a MATCHES table against the truth by the paper's protocol: the three accuracies
(absent, present, overall), balanced accuracy, rank-1, and candidate recall per step."""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

#: the accuracy keys, in the order the JSON and the reports show them
ACCURACY_KEYS = (
    "acc_absent",
    "acc_present",
    "acc_present_any",
    "acc_overall",
    "balanced_accuracy",
    "rank1_present",
)
DECISIONS = ("match", "ambiguous", "new")


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _per_query(matches: pa.Table) -> dict[str, dict]:
    """Group MATCHES rows by query: its decision, its outputs in rank order, its top candidate."""
    queries: dict[str, dict] = defaultdict(lambda: {"decision": None, "outputs": [], "top": None})
    cols = [
        matches.column(name).to_pylist()
        for name in ("query_user", "decision", "rank", "library_user", "answer")
    ]
    rows = sorted(zip(*cols, strict=True), key=lambda r: (r[0], r[2] if r[2] is not None else 0))
    for query, decision, rank, library_user, answer in rows:
        entry = queries[query]
        if decision not in DECISIONS:
            raise ValueError(
                f"query {query!r} has decision {decision!r}; expected one of {DECISIONS}"
            )
        if entry["decision"] not in (None, decision):
            raise ValueError(
                f"query {query!r} has two decisions ({entry['decision']!r}, {decision!r}); "
                "a query's verdict must be the same on all its rows"
            )
        entry["decision"] = decision
        if library_user is None or rank is None or rank < 1:
            continue
        if rank == 1:
            entry["top"] = library_user
        if answer == 1:
            entry["outputs"].append(library_user)
    return dict(queries)


def score_matches(matches: pa.Table, truth: pa.Table) -> dict:
    """The accuracies of ``matches`` (MATCHES.csv columns) against ``truth``
    (``query_user, true_user, in_library``).

    A present query is right only when the true user is the *first* output of its verdict
    (SPEC A); ``acc_present_any`` also accepts it anywhere in an ambiguous output; an absent
    query is right when answered ``new``; ``rank1_present`` asks only whether the true user is
    the rank-1 candidate, whatever the verdict. An accuracy with nothing to count is ``None``;
    ``balanced_accuracy`` is the mean of the absent and present accuracies that exist.

    >>> import pyarrow as pa
    >>> matches = pa.table({"query_user": ["q1", "q2"], "decision": ["match", "match"],
    ...                     "rank": [1, 1], "library_user": ["u1", "u9"], "answer": [1, 1]})
    >>> truth = pa.table({"query_user": ["q1", "q2"], "true_user": ["u1", "u2"],
    ...                   "in_library": [True, False]})
    >>> m = score_matches(matches, truth)
    >>> m["acc_present"], m["acc_absent"], m["acc_overall"]
    (1.0, 0.0, 0.5)
    """
    per_query = _per_query(matches)
    truth_rows = truth.select(["query_user", "true_user", "in_library"]).to_pylist()
    stray = set(per_query) - {row["query_user"] for row in truth_rows}
    if stray:
        raise ValueError(f"{len(stray)} query user(s) in the matches are not in the truth table")
    right_absent = right_present = right_any = right_rank1 = n_absent = 0
    decisions = dict.fromkeys(DECISIONS, 0)
    for row in truth_rows:
        entry = per_query.get(row["query_user"])
        if entry is None:
            raise ValueError(
                f"query user {row['query_user']!r} is missing from the matches; every query "
                "must appear (a query with no candidate has one row with decision 'new')"
            )
        decisions[entry["decision"]] += 1
        if not row["in_library"]:
            n_absent += 1
            right_absent += entry["decision"] == "new"
            continue
        outputs = entry["outputs"] if entry["decision"] != "new" else []
        right_present += bool(outputs) and outputs[0] == row["true_user"]
        right_any += row["true_user"] in outputs
        right_rank1 += entry["top"] == row["true_user"]
    n_queries = len(truth_rows)
    n_present = n_queries - n_absent
    acc_absent = _ratio(right_absent, n_absent)
    acc_present = _ratio(right_present, n_present)
    defined = [a for a in (acc_absent, acc_present) if a is not None]
    return {
        "acc_absent": acc_absent,
        "acc_present": acc_present,
        "acc_present_any": _ratio(right_any, n_present),
        "acc_overall": _ratio(right_absent + right_present, n_queries),
        "balanced_accuracy": sum(defined) / len(defined) if defined else None,
        "rank1_present": _ratio(right_rank1, n_present),
        "n_queries": n_queries,
        "n_present": n_present,
        "n_absent": n_absent,
        "decisions": decisions,
    }


def output_candidates(matches: pa.Table) -> pa.Table:
    """The verdicts' output sets as ``query_user, library_user`` pairs: what survives step 6
    (rows with ``answer`` 1 of queries not answered "new")."""
    import pyarrow.compute as pc

    keep = pc.and_(
        pc.equal(matches.column("answer"), 1), pc.not_equal(matches.column("decision"), "new")
    )
    return matches.filter(keep).select(["query_user", "library_user"])


def candidate_recall(candidates: pa.Table, truth: pa.Table) -> tuple[float, float | None]:
    """Mean candidates per query, and the share of present queries whose true user is still a
    candidate (``candidates``: ``query_user, library_user`` pairs)."""
    present = truth.filter(truth.column("in_library")).select(["query_user", "true_user"])
    pairs = pa.table(
        {  # plain strings: a method may hand over dictionary-encoded columns
            name: candidates.column(name).cast(pa.string())
            for name in ("query_user", "library_user")
        }
    )
    found = pairs.join(
        present.rename_columns(["query_user", "library_user"]),
        keys=["query_user", "library_user"],
        join_type="inner",
    )
    n_found = len(set(found.column("query_user").to_pylist()))
    mean = pairs.num_rows / truth.num_rows if truth.num_rows else 0.0
    return mean, _ratio(n_found, present.num_rows)
