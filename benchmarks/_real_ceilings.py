"""DIAGNOSTIC ceilings of the real-data benchmark (docs/real-data.md): these USE THE TRUTH.

Nothing here chooses a threshold or a method for a figure of the benchmark; it only says how far
each ranking could go if the truth were known:

- **oracle threshold**: the best balanced accuracy any single threshold on a method's rank-1
  score reaches on the real queries (the threshold chosen on their truth). A query is answered
  with its rank-1 user when that score reaches the threshold, else "new";
- **rank ceiling**: ``(1 + rank-1) / 2``, the balanced accuracy of a perfect "new" decision on
  top of the ranking (every absent query answered "new", every present one matched exactly when
  its true user is ranked first);
- **data**: the share of returning queries that share no site at all with their true library
  identity (nothing a site-based ranker can go on), and the returning pairs' median gap (days
  from the library identity's last event to the query's first) and active days on each side.

This module imports only numpy at the top, so tests load it without the benchmark's setup.
"""

from __future__ import annotations

import copy
import math

import numpy as np

#: the rankers whose rank-1 score the oracle thresholds (paper's verdict is a cascade of four
#: thresholds over its steps, not one score, so it gets only the rank ceiling)
RANKERS = ("tfidf", "tfidf_one_to_one", "learned", "learned_one_to_one")


def balanced_at(
    score: np.ndarray, correct: np.ndarray, present: np.ndarray, threshold: float
) -> float:
    """Balanced accuracy when each query's rank-1 user is output iff its score >= threshold
    (``correct``: the rank-1 user is the true one; a query without candidate, score -inf or
    nan, is never answered)."""
    score, correct, present = _arrays(score, correct, present)
    answered = np.isfinite(score) & (score >= threshold)
    parts = []
    if (~present).any():
        parts.append(float(np.mean(~answered[~present])))
    if present.any():
        parts.append(float(np.mean((answered & correct)[present])))
    return sum(parts) / len(parts) if parts else math.nan


def oracle_threshold(score: np.ndarray, correct: np.ndarray, present: np.ndarray) -> dict:
    """The best balanced accuracy over every threshold on ``score`` (one pass over the sorted
    scores; ``threshold`` +inf answers every query "new"), with its absent and present
    accuracy. USES THE TRUTH (``correct``, ``present``): a diagnostic, never a choice."""
    score, correct, present = _arrays(score, correct, present)
    n_present, n_absent = int(present.sum()), int((~present).sum())
    finite = np.isfinite(score)
    s = score[finite]
    order = np.argsort(-s, kind="stable")
    s = s[order]
    hit = (correct & present)[finite][order].astype(np.int64)
    wrong_absent = (~present)[finite][order].astype(np.int64)
    # thresholds at each distinct score: everything with score >= it answered
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True]) if len(s) else np.zeros(0, np.int64)
    cum_hit = np.r_[0, np.cumsum(hit)[ends]]
    cum_wrong = np.r_[0, np.cumsum(wrong_absent)[ends]]
    thresholds = np.r_[np.inf, s[ends]]
    acc_present = cum_hit / n_present if n_present else np.full(len(cum_hit), np.nan)
    acc_absent = 1 - cum_wrong / n_absent if n_absent else np.full(len(cum_hit), np.nan)
    if not (n_present or n_absent):
        return {"balanced": None, "threshold": None, "acc_absent": None, "acc_present": None}
    balanced = np.nanmean(np.vstack([acc_absent, acc_present]), axis=0)
    best = int(np.argmax(balanced))  # first best: the highest threshold reaching it
    return {
        "balanced": float(balanced[best]),
        "threshold": float(thresholds[best]),
        "acc_absent": None if not n_absent else float(acc_absent[best]),
        "acc_present": None if not n_present else float(acc_present[best]),
    }


def _arrays(score, correct, present):
    score = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=-np.inf)
    return score, np.asarray(correct, dtype=bool), np.asarray(present, dtype=bool)


def rank1_table(matches, truth) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per truth row: the rank-1 score (-inf when the query has no rank-1 candidate or that
    candidate is not an output, as for a query left without a user by one-to-one assignment in
    a run that accepts every answer it can give), whether that rank-1 user is output and the
    true one, and whether the query is present."""
    rows = matches.select(["query_user", "decision", "rank", "library_user", "score", "answer"])
    top: dict = {}
    columns = (c.to_pylist() for c in rows.columns)
    for q, decision, rank, lib, sc, answer in zip(*columns, strict=True):
        if rank == 1 and lib is not None:
            output = decision != "new" and answer == 1 and sc is not None
            top[q] = (lib, float(sc) if output else -math.inf)
    t = truth.select(["query_user", "true_user", "in_library"]).to_pylist()
    score = np.array([top.get(r["query_user"], (None, -math.inf))[1] for r in t], dtype=float)
    correct = np.isfinite(score) & np.array(
        [r["in_library"] and top.get(r["query_user"], (None,))[0] == r["true_user"] for r in t],
        dtype=bool,
    )
    present = np.array([bool(r["in_library"]) for r in t], dtype=bool)
    return score, correct, present


def accept_all(method: str, matcher, lib, qry):
    """MATCHES of ``method`` with every threshold at -inf: each query's rank-1 user is output
    whenever the method can give one (one-to-one: the user assigned to it), with its score."""
    from netpersona.rejoin._learned._identify import identify_learned
    from netpersona.rejoin._learned._tfidf import TfidfMatcher

    if method.startswith("tfidf"):
        tfidf = TfidfMatcher(threshold_=-np.inf, one_to_one_threshold_=-np.inf, k=matcher.k)
        return tfidf.identify(lib, qry, top_k=1, one_to_one=method == "tfidf_one_to_one").matches
    open_matcher = copy.copy(matcher)
    open_matcher.threshold_ = -np.inf
    open_matcher.one_to_one_threshold_ = -np.inf
    one = method == "learned_one_to_one"
    return identify_learned(open_matcher, lib, qry, top_k=1, one_to_one=one).matches


def method_ceilings(matcher, lib, qry, truth, rows: dict) -> dict:
    """Per ranker: oracle threshold (its balanced accuracy, threshold and accuracies) and rank
    ceiling; the paper calibrated's rank ceiling from its row's rank-1."""
    out: dict[str, dict] = {}
    for method in RANKERS:
        score, correct, present = rank1_table(accept_all(method, matcher, lib, qry), truth)
        entry = oracle_threshold(score, correct, present)
        entry["rank1"] = float(correct[present].mean()) if present.any() else None
        own = _own_threshold(method, matcher)
        # a check, printed by the benchmark: the method's own threshold on the same scores
        # gives its real figure again (learned: when it decides on the probability itself)
        entry["at_own_threshold"] = (
            None if own is None else balanced_at(score, correct, present, own)
        )
        out[method] = entry
    for method in ("paper calibrated", *RANKERS):
        rank1 = ((rows.get(method) or {}).get("real") or {}).get("rank1_present")
        if method in out and out[method]["rank1"] is not None:
            rank1 = out[method]["rank1"]
        if rank1 is not None:
            out.setdefault(method, {})["rank_ceiling"] = (1 + rank1) / 2
    return out


def _own_threshold(method: str, matcher) -> float | None:
    one_to_one = float(matcher.one_to_one_threshold_)
    if method == "tfidf":
        return float(matcher.tfidf_threshold_)
    if method == "tfidf_one_to_one":
        return float(matcher.tfidf_one_to_one_threshold_)
    if method == "learned_one_to_one":
        return float(matcher.threshold_) if math.isnan(one_to_one) else one_to_one
    return float(matcher.threshold_) if matcher.decision_score_ == "probability" else None


def data_ceiling(engine, split) -> dict:
    """The returning queries' shared sites with their true library identity, gap and active
    days (medians), from the split's tables and truth."""
    sql = f"""
    WITH p AS (SELECT query_user, true_user FROM {split.truth_table} WHERE in_library),
    qs AS (SELECT DISTINCT user_id, site FROM {split.query_table}),
    ls AS (SELECT DISTINCT user_id, site FROM {split.library_table}),
    shared AS (
        SELECT p.query_user, count(ls.site) AS n
        FROM p LEFT JOIN qs ON qs.user_id = p.query_user
        LEFT JOIN ls ON ls.user_id = p.true_user AND ls.site = qs.site
        GROUP BY p.query_user),
    q AS (SELECT user_id, min(ts) AS first_ts, count(DISTINCT CAST(ts AS DATE)) AS days
          FROM {split.query_table} GROUP BY user_id),
    l AS (SELECT user_id, max(ts) AS last_ts, count(DISTINCT CAST(ts AS DATE)) AS days
          FROM {split.library_table} GROUP BY user_id),
    pairs AS (
        SELECT date_diff('day', CAST(l.last_ts AS DATE), CAST(q.first_ts AS DATE)) AS gap,
               l.days AS old_days, q.days AS new_days
        FROM p JOIN q ON q.user_id = p.query_user JOIN l ON l.user_id = p.true_user)
    SELECT (SELECT count(*) FROM shared), (SELECT count(*) FROM shared WHERE n = 0),
           (SELECT median(gap) FROM pairs), (SELECT median(old_days) FROM pairs),
           (SELECT median(new_days) FROM pairs)
    """
    n, none, gap, old_days, new_days = engine.fetch_arrow(sql).to_pylist()[0].values()
    return {
        "n_present": n,
        "no_shared_site": none / n if n else None,
        "median_gap_days": None if gap is None else float(gap),
        "median_active_days_library": None if old_days is None else float(old_days),
        "median_active_days_query": None if new_days is None else float(new_days),
    }


def pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _num(value) -> str:
    return "–" if value is None else f"{value:g}"


def render_ceilings(results: dict) -> list[str]:
    """The summary table of the diagnostic ceilings, one row per log that has them."""
    lines = [
        "## Diagnostic ceilings (these USE THE TRUTH; nothing is chosen with them)",
        "",
        "How far each ranking could go if the truth chose for it, to tell a threshold problem "
        "from a ranking or a data problem. *Oracle threshold*: the best balanced accuracy any "
        "single threshold on the method's rank-1 score reaches on the real queries (threshold "
        "chosen on their truth; paper: none, its verdict is a cascade of thresholds). *Rank "
        "ceiling*: (100 + rank-1) / 2, a perfect 'new' decision on top of the ranking. *No "
        "shared site*: returning queries without one site in common with their true library "
        "identity. *Gap*: median days from the library identity's last event to the query's "
        "first; *active days*: medians, library / query side of the returning pairs.",
        "",
        "| log | auto | oracle threshold (best method) | rank ceiling (best method) "
        "| no shared site | gap days | active days |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for r in results.values():
        ceil = r.get("ceilings")
        if not ceil:
            continue
        auto = ((r["rows"].get("auto") or {}).get("real") or {}).get("balanced_accuracy")
        methods = ceil["methods"]
        oracle = [(m, v["balanced"]) for m, v in methods.items() if v.get("balanced") is not None]
        rank = [(m, v["rank_ceiling"]) for m, v in methods.items() if "rank_ceiling" in v]
        best_o = max(oracle, key=lambda x: x[1]) if oracle else None
        best_r = max(rank, key=lambda x: x[1]) if rank else None
        d = ceil["data"]
        lines.append(
            f"| {r['title']} | {pct(auto)} | "
            + (f"{pct(best_o[1])} ({best_o[0]})" if best_o else "–")
            + " | "
            + (f"{pct(best_r[1])} ({best_r[0]})" if best_r else "–")
            + f" | {pct(d['no_shared_site'])} | {_num(d['median_gap_days'])} | "
            f"{_num(d['median_active_days_library'])} / {_num(d['median_active_days_query'])} |"
        )
    lines += [
        "",
        "Per method, oracle threshold / rank ceiling (balanced accuracy, %):",
        "",
        "| log | " + " | ".join(("paper calibrated", *RANKERS)) + " |",
        "|---|" + "---:|" * (1 + len(RANKERS)),
    ]
    for r in results.values():
        methods = (r.get("ceilings") or {}).get("methods")
        if not methods:
            continue
        cells = [
            f"{pct(methods.get(m, {}).get('balanced'))} / "
            f"{pct(methods.get(m, {}).get('rank_ceiling'))}"
            for m in ("paper calibrated", *RANKERS)
        ]
        lines.append(f"| {r['title']} | " + " | ".join(cells) + " |")
    return [*lines, ""]
