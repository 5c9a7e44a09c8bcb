"""Why a query user was matched: the evidence behind each candidate, for a person to check.

For every candidate in the query's MATCHES rows: the shared frequent sites with their weights
W(d) = 1/V(d) (rare sites weigh most), the two 24-hour vectors side by side, and the longest
common runs step 5 removed. Subscriber ids are always masked in the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from netpersona._core import InputError, Progress
from netpersona.io import mask_id
from netpersona.rejoin._identify import identify_arrays
from netpersona.rejoin._profiles import ProfileArrays, Profiles
from netpersona.rejoin._runs import greedy_common_runs
from netpersona.rejoin._settings import RejoinSettings
from netpersona.rejoin._steps import join_weights

MAX_RUNS = 5


@dataclass
class CandidateEvidence:
    """One library candidate of a query and the evidence for it."""

    library_user: str
    rank: int
    answer: int
    score: float
    simi_one: float
    simi_two: float
    simi_three: float
    simi_four: float
    #: (site, W(d), V(d)) for each frequent site both users share, heaviest first
    shared_sites: list[tuple[str, float, int]]
    library_hours: list[int]
    #: the longest common runs of the item sequences, as site names, longest first
    runs: list[list[str]]


@dataclass
class Explanation:
    """The verdict on one query user and the evidence for each of its candidates.

    >>> from netpersona.rejoin import build_profiles, explain
    >>> from netpersona.rejoin._examples import example_engine
    >>> engine = example_engine()
    >>> library = build_profiles(engine, "library_log", "library")
    >>> queries = build_profiles(engine, "query_log", "queries", reference=library)
    >>> explain(library, queries, "new_z").decision
    'new'
    """

    query_user: str
    decision: str
    query_hours: list[int]
    query_frequent_sites: list[str]
    query_sequence_length: int
    candidates: list[CandidateEvidence] = field(default_factory=list)

    def to_text(self) -> str:
        """A plain-text account, ids masked."""
        lines = [
            f"query {mask_id(self.query_user)}: {self.decision}",
            f"  frequent sites: {len(self.query_frequent_sites)}, "
            f"item sequence: {self.query_sequence_length} items",
        ]
        if not self.candidates:
            lines.append(
                "  no library user passed the steps (--top-k shows the nearest ones anyway)"
            )
        for c in self.candidates:
            verdict = "output" if c.answer else "not output"
            lines.append(
                f"  #{c.rank} {mask_id(c.library_user)} ({verdict}): S={c.score:.4f} "
                f"SimiOne={c.simi_one:.3f} SimiTwo={c.simi_two:.4f} "
                f"SimiThree={c.simi_three:.3f} SimiFour={c.simi_four:.3f}"
            )
            lines.append("    shared frequent sites (W = 1/V, users who visited):")
            for site, w, v in c.shared_sites:
                lines.append(f"      {site:<30} W={w:.4f} V={v}")
            lines.append("    hour   query  library")
            for h in range(24):
                q, u = self.query_hours[h], c.library_hours[h]
                if q or u:
                    lines.append(f"    {h:02d}h  {q:6d}  {u:7d}")
            if c.runs:
                lines.append("    longest shared runs:")
                for run in c.runs:
                    lines.append(f"      ({len(run)}) " + " -> ".join(run))
            else:
                lines.append("    no shared run of visits")
        return "\n".join(lines)


def explain(
    library: Profiles,
    queries: Profiles,
    query_user: str,
    settings: RejoinSettings = RejoinSettings(),
    top_k: int = 3,
    progress: Progress = Progress(),
) -> Explanation:
    """Explain the verdict on ``query_user`` (an id in the query profiles).

    >>> from netpersona.rejoin import build_profiles
    >>> from netpersona.rejoin._examples import example_engine
    >>> engine = example_engine()
    >>> library = build_profiles(engine, "library_log", "library")
    >>> queries = build_profiles(engine, "query_log", "queries", reference=library)
    >>> print(explain(library, queries, "new_a").to_text().splitlines()[0])
    query n****: match
    """
    lib, qry = library.arrays(sequences=False), queries.arrays(sequences=False)
    row = qry.user_index.get(str(query_user))
    if row is None:
        raise InputError(
            f"query user {mask_id(query_user)} is not in the query logs",
            hint="give a user id exactly as it appears in the query logs' user column",
        )
    return explain_row(lib, qry, row, settings, top_k, progress)


def explain_row(
    lib: ProfileArrays,
    qry: ProfileArrays,
    row: int,
    settings: RejoinSettings,
    top_k: int = 3,
    progress: Progress = Progress(),
) -> Explanation:
    """Explain query row ``row`` (identifies just that query)."""
    result = identify_arrays(lib, qry, settings, top_k=top_k, rows=np.array([row]), threads=1)
    return explain_matches(lib, qry, row, result.matches.to_pylist(), settings)


def explain_matches(
    lib: ProfileArrays,
    qry: ProfileArrays,
    row: int,
    matches: list[dict],
    settings: RejoinSettings,
) -> Explanation:
    """Explain query row ``row`` from its MATCHES rows (as dicts) of an identification."""
    weights = join_weights(qry, lib)
    q_sites = qry.frequent_of(row)
    q_seq = qry.sequence_of(row)
    explanation = Explanation(
        query_user=qry.user_ids[row].as_py(),
        decision=matches[0]["decision"],
        query_hours=[int(x) for x in qry.hours[row]],
        query_frequent_sites=[_site(qry, lib, s) for s in q_sites],
        query_sequence_length=len(q_seq),
    )
    for m in matches:
        if m["library_user"] is None:
            continue
        u = lib.user_index[m["library_user"]]
        shared = np.intersect1d(q_sites, lib.frequent_of(u))
        shared = shared[np.argsort(-weights[shared], kind="stable")]
        l_seq = lib.sequence_of(u)
        runs = greedy_common_runs(q_seq.astype(np.int64), l_seq.astype(np.int64), settings.min_run)
        runs = runs[np.argsort(-runs[:, 2], kind="stable")][:MAX_RUNS] if len(runs) else runs
        explanation.candidates.append(
            CandidateEvidence(
                library_user=m["library_user"],
                rank=m["rank"],
                answer=m["answer"],
                score=m["score"],
                simi_one=m["simi_one"],
                simi_two=m["simi_two"],
                simi_three=m["simi_three"],
                simi_four=m["simi_four"],
                shared_sites=[
                    (_site(qry, lib, s), float(weights[s]), round(1 / weights[s])) for s in shared
                ],
                library_hours=[int(x) for x in lib.hours[u]],
                runs=[[_site(qry, lib, s) for s in q_seq[i : i + length]] for i, _, length in runs],
            )
        )
    return explanation


def _site(qry: ProfileArrays, lib: ProfileArrays, code: int) -> str:
    names = lib.site_names if code < len(lib.site_names) else qry.site_names
    return str(names[int(code)].as_py())
