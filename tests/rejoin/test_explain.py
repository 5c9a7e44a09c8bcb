"""explain(): the evidence behind a verdict, with masked ids."""

from __future__ import annotations

import pytest
from _core_data import habitual_log, split_log
from test_identify import _profiles

from netpersona import InputError
from netpersona.rejoin import explain


@pytest.fixture(scope="module")
def profiles():
    library, queries, absent = split_log(habitual_log(12, 12, seed=5), query_days=3)
    _, lib, qry = _profiles(library, queries)
    return lib, qry, absent, sorted(set(queries["user_id"].to_pylist()))


def test_explains_a_match_with_shared_sites_hours_and_runs(profiles):
    lib, qry, absent, users = profiles
    user = next(u for u in users if u not in absent)
    why = explain(lib, qry, user, top_k=2)
    assert why.decision == "match" and why.query_user == user
    best = why.candidates[0]
    assert best.library_user == user[1:] and best.answer == 1 and best.rank == 1
    # shared sites: heaviest (rarest) first, weights are 1/V
    weights = [w for _, w, _ in best.shared_sites]
    assert weights == sorted(weights, reverse=True)
    assert all(w == pytest.approx(1 / v) for _, w, v in best.shared_sites)
    assert {s for s, _, _ in best.shared_sites} <= set(why.query_frequent_sites)
    assert len(why.query_hours) == 24 and len(best.library_hours) == 24
    lengths = [len(r) for r in best.runs]
    assert lengths == sorted(lengths, reverse=True) and lengths[0] >= 2
    text = why.to_text()
    assert user not in text and user[1:] not in text
    assert "W=" in text and "longest shared runs" in text


def test_explains_a_new_user(profiles):
    lib, qry, absent, _ = profiles
    user = sorted(absent)[0]
    why = explain(lib, qry, user, top_k=0)
    assert why.decision == "new" and why.candidates == []
    assert "no library user passed" in why.to_text()


def test_unknown_query_user_is_a_clear_error(profiles):
    lib, qry, _, _ = profiles
    with pytest.raises(InputError, match="not in the query logs"):
        explain(lib, qry, "nobody-at-all")
