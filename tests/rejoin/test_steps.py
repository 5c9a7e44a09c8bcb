"""Steps 3-6 on hand-made users: the paper's examples, ties, empty vectors, the decision."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona.rejoin._profiles import ProfileArrays
from netpersona.rejoin._runs import common_run_score, greedy_common_runs, pair_run_scores
from netpersona.rejoin._steps import (
    TIE_TOLERANCE,
    Candidates,
    cosine_rows,
    decide,
    pair_chunks,
    simi_four_scores,
    simi_four_trim,
    simi_three_trim,
    simi_two_trim,
    top_share_mask,
)

# the paper, section 2 step 5: u1 and u3 share the run w4 w5 w3 w6 w2; u1 and u2 share none
U1 = np.array([1, 4, 5, 3, 6, 2])
U2 = np.array([2, 5, 4, 6, 5])
U3 = np.array([4, 5, 3, 6, 2])


def test_papers_item_sequence_example():
    assert common_run_score(U1, U3, 2) == 5
    assert common_run_score(U1, U2, 2) == 0
    assert greedy_common_runs(U1, U3, 2).tolist() == [[1, 0, 5]]


def test_removed_runs_are_barriers_and_min_run_counts():
    a = np.array([1, 2, 3, 9, 1, 2, 3, 4])
    b = np.array([1, 2, 3, 4, 7, 1, 2, 3])
    # longest first: 1 2 3 4 (a[4:8], b[0:4]), then 1 2 3 (a[0:3], b[5:8])
    assert greedy_common_runs(a, b, 2).tolist() == [[4, 0, 4], [0, 5, 3]]
    assert common_run_score(a, b, 4) == 4
    assert common_run_score(a, b, 5) == 0
    # runs of one item count only with min_run = 1
    assert common_run_score(np.array([1, 5]), np.array([5, 1]), 1) == 2
    assert common_run_score(np.array([1, 5]), np.array([5, 1]), 2) == 0


def _naive_greedy(a: list[int], b: list[int], min_run: int) -> int:
    """Reference: search the longest common run over free positions again after each removal."""
    free_a, free_b = [True] * len(a), [True] * len(b)
    total = 0
    while True:
        best = (0, 0, 0)
        for i in range(len(a)):
            for j in range(len(b)):
                n = 0
                while (
                    i + n < len(a)
                    and j + n < len(b)
                    and free_a[i + n]
                    and free_b[j + n]
                    and a[i + n] == b[j + n]
                ):
                    n += 1
                if n > best[0]:
                    best = (n, i, j)
        n, i, j = best
        if n < min_run or n == 0:
            return total
        total += n
        for k in range(n):
            free_a[i + k] = free_b[j + k] = False


sequences = st.lists(st.integers(0, 3), max_size=25)


@settings(max_examples=400, deadline=None)
@given(
    a=sequences,
    b=sequences,
    min_run=st.integers(1, 4),
    offset=st.sampled_from([0, 1 << 22]),  # large site codes take the general path
)
def test_greedy_runs_equal_the_naive_procedure(a, b, min_run, offset):
    x, y = np.array(a, np.int64) + offset, np.array(b, np.int64) + offset
    runs = greedy_common_runs(x, y, min_run)
    score = common_run_score(x, y, min_run)
    assert score == _naive_greedy(a, b, min_run) == runs[:, 2].sum()
    assert 0 <= score <= min(len(a), len(b))
    for i, j, length in runs:  # each removed run is common, and no item is removed twice
        assert length >= min_run and a[i : i + length] == b[j : j + length]
    used_a = [k for i, _, n in runs for k in range(i, i + n)]
    used_b = [k for _, j, n in runs for k in range(j, j + n)]
    assert len(used_a) == len(set(used_a)) and len(used_b) == len(set(used_b))


@settings(max_examples=100, deadline=None)
@given(
    a=st.lists(st.integers(0, 2), max_size=50),
    b=st.lists(st.integers(0, 2), max_size=50),
    min_run=st.integers(2, 3),
)
def test_long_repetitive_sequences_equal_the_naive_procedure(a, b, min_run):
    # few distinct items, long sequences: many overlapping runs of 4+ items (the 4-gram index)
    score = common_run_score(np.array(a, np.int64), np.array(b, np.int64), min_run)
    assert score == _naive_greedy(a, b, min_run)


@pytest.mark.parametrize("offset", [0, 1 << 22])
def test_a_level_with_fewer_free_items_than_its_length_still_passes_on_its_pieces(offset):
    # after [0, 1, 1] is removed one item of a is free: the length-2 run [1, 0] at (0, 0)
    # cannot be taken, but its free piece [1] must still be served at length 1
    a, b = [1, 0, 1, 1], [1, 0, 0, 1, 1]
    x, y = np.array(a) + offset, np.array(b) + offset
    assert common_run_score(x, y, 1) == _naive_greedy(a, b, 1) == 4


@given(a=st.lists(st.integers(0, 50), min_size=2, max_size=30))
def test_a_sequence_shares_all_of_itself(a):
    a = np.array(a, np.int64)
    assert common_run_score(a, a, 2) == len(a)


def test_pair_run_scores_over_csr_matches_single_calls():
    q_items = np.concatenate([U1, U2])
    q_indptr = np.array([0, len(U1), len(U1) + len(U2)])
    l_items = np.concatenate([U3, U1])
    l_indptr = np.array([0, len(U3), len(U3) + len(U1)])
    got = pair_run_scores(
        q_indptr, q_items, l_indptr, l_items, np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), 2
    )
    assert got.tolist() == [5, 6, 0, 0]


# -- top-share cuts --------------------------------------------------------------------------
def test_top_share_keeps_ties_with_the_last_kept_and_at_least_one():
    query = np.zeros(5, np.int32)
    scores = np.array([5.0, 4.0, 4.0, 4.0, 1.0])
    assert top_share_mask(query, scores, 0.2).tolist() == [1, 0, 0, 0, 0]
    assert top_share_mask(query, scores, 0.4).tolist() == [1, 1, 1, 1, 0]
    assert top_share_mask(query, scores, 0.01).tolist() == [1, 0, 0, 0, 0]
    tied = np.array([2.0, 2.0, 2.0, 2.0, 2.0])
    assert top_share_mask(query, tied, 0.05).all()  # never an arbitrary tie-break


@given(
    groups=st.lists(
        st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=30), min_size=1
    ),
    keep=st.floats(0.001, 1.0),
)
def test_top_share_properties(groups, keep):
    query = np.repeat(np.arange(len(groups)), [len(g) for g in groups]).astype(np.int32)
    scores = np.concatenate([np.array(g) for g in groups])
    mask = top_share_mask(query, scores, keep)
    for q, g in enumerate(groups):
        kept, dropped = scores[(query == q) & mask], scores[(query == q) & ~mask]
        assert len(kept) >= max(1, int(np.floor(keep * len(g) + 1e-9)))
        if len(dropped):
            assert dropped.max() < kept.min()
        # without ties (scores within TIE_TOLERANCE of each other count as tied), exactly the
        # share is kept
        ordered = sorted(g)
        if all(b - a > TIE_TOLERANCE * abs(b) for a, b in itertools.pairwise(ordered)):
            assert len(kept) == max(1, int(np.floor(keep * len(g) + 1e-9)))


def test_cosine_of_zero_vectors_is_zero_and_bounded():
    x = np.array([[0.0] * 24, [1.0] * 24, [3.0] + [0.0] * 23])
    y = np.array([[1.0] * 24, [0.0] * 24, [2.0] + [0.0] * 23])
    assert cosine_rows(x, y).tolist() == [0.0, 0.0, 1.0]


@given(st.lists(st.lists(st.integers(0, 30), min_size=24, max_size=24), min_size=2, max_size=2))
def test_cosine_is_symmetric_and_in_unit_interval(rows):
    x, y = np.array(rows[:1], float), np.array(rows[1:], float)
    c = cosine_rows(x, y)
    assert c == pytest.approx(cosine_rows(y, x)) and 0 <= c[0] <= 1


# -- hand-made profile arrays -----------------------------------------------------------------
def _arrays(users: list[dict], v: list[int]) -> ProfileArrays:
    """ProfileArrays from dicts with 'frequent' (site -> 24 hours), 'hours', 'sequence'."""
    frequent = [sorted(u["frequent"]) for u in users]
    indptr = np.zeros(len(users) + 1, np.int64)
    np.cumsum([len(f) for f in frequent], out=indptr[1:])
    seq_indptr = np.zeros(len(users) + 1, np.int64)
    np.cumsum([len(u["sequence"]) for u in users], out=seq_indptr[1:])
    site_hours = [u["frequent"][s] for u, f in zip(users, frequent, strict=True) for s in f]
    return ProfileArrays(
        user_ids=pa.array([u["id"] for u in users]),
        online_days=np.full(len(users), 5),
        first_ts=pa.nulls(len(users), pa.timestamp("us")),
        last_ts=pa.nulls(len(users), pa.timestamp("us")),
        frequent_indptr=indptr,
        frequent_sites=np.array([s for f in frequent for s in f], np.int32),
        site_hours=np.array(site_hours, float).reshape(-1, 24),
        hours=np.array([u["hours"] for u in users], float),
        sequence_indptr=seq_indptr,
        sequence_items=np.array([x for u in users for x in u["sequence"]], np.int32),
        site_names=pa.array([f"s{i}" for i in range(len(v))]),
        site_weight=1.0 / np.maximum(np.array(v, float), 1),
    )


def _hours(*active: int) -> list[int]:
    return [3 if h in active else 0 for h in range(24)]


QUERY = _arrays(
    [
        {
            "id": "q",
            "frequent": {0: _hours(9), 1: _hours(20), 2: _hours(9)},
            "hours": _hours(9, 20),
            "sequence": [0, 1, 2, 0, 1, 2],
        }
    ],
    v=[10, 2, 1, 5],
)
LIBRARY = _arrays(
    [
        # a: same sites and hours and order -> the match
        {
            "id": "a",
            "frequent": {0: _hours(9), 1: _hours(20), 2: _hours(9)},
            "hours": _hours(9, 20),
            "sequence": [0, 1, 2, 0, 1, 2],
        },
        # b: same sites, other hours
        {
            "id": "b",
            "frequent": {0: _hours(3), 1: _hours(4), 2: _hours(5)},
            "hours": _hours(3, 4, 5),
            "sequence": [2, 1, 0, 2, 1, 0],
        },
        # c: same sites and day hours but per-site hours differ
        {
            "id": "c",
            "frequent": {0: _hours(20), 1: _hours(9), 2: _hours(20)},
            "hours": _hours(9, 20),
            "sequence": [0, 2, 1, 0, 2, 1],
        },
        # d: no hour with 20 active minutes at all
        {
            "id": "d",
            "frequent": {0: _hours(9), 1: _hours(20), 2: _hours(9)},
            "hours": _hours(),
            "sequence": [0, 1, 2],
        },
    ],
    v=[10, 2, 1, 5],
)


def _all_pairs() -> Candidates:
    c = Candidates.from_arrays(np.zeros(4), np.arange(4), np.ones(4), np.full(4, 1.6))
    return c


def test_simi_three_drops_other_hours_other_site_hours_and_zero_vectors():
    kept = simi_three_trim(_all_pairs(), QUERY, LIBRARY, 0.69, 0.53)
    assert kept.library.tolist() == [0]
    c = _all_pairs()
    kept = simi_three_trim(c, QUERY, LIBRARY, 0.69, -1.0)
    assert kept.library.tolist() == [0, 2]
    assert c.simi_three[3] == 0.0  # all-zero hour vector: cosine 0


def test_simi_two_uses_rare_site_weights_and_keeps_ties():
    c = Candidates.from_arrays(
        np.zeros(4), np.arange(4), np.ones(4), np.array([1.1, 1.6, 1.6, 0.2])
    )
    assert simi_two_trim(c, 0.05).library.tolist() == [1, 2]


def test_simi_four_ranks_by_shared_order_and_normalises_by_the_shorter():
    c = _all_pairs()
    kept = simi_four_trim(c, QUERY, LIBRARY, 2, 0.143)
    assert kept.library.tolist() == [0]
    assert c.simi_four_raw.tolist() == [6, 0, 0, 3]
    assert c.simi_four.tolist() == [1.0, 0.0, 0.0, 1.0]  # d: 3 shared of its 3 items


def test_decision_outputs_within_tie_ratio_and_orders_by_score():
    c = _all_pairs()
    c.simi_three = np.array([1.0, 0.9, 0.5, 1.0])
    c.simi_four = np.array([1.0, 0.9, 0.5, 1.0])
    c.simi_two = np.full(4, 1.6)  # shared {0,1,2}: W sum 0.1 + 0.5 + 1
    d = decide(c, QUERY, LIBRARY, tie_ratio=0.05)
    assert d.candidates.library.tolist() == [0, 3, 1, 2]  # a, d tie on S: by library order
    assert d.output.tolist() == [True, True, False, False]
    assert d.score[0] == pytest.approx(1.0)
    # tie_ratio 0: the next is output only if its S exceeds the previous one's, never when sorted
    d0 = decide(c, QUERY, LIBRARY, tie_ratio=0.0)
    assert d0.output.tolist() == [True, False, False, False]


def test_decision_with_no_candidates_is_empty():
    d = decide(Candidates.empty(), QUERY, LIBRARY, 0.05)
    assert len(d.candidates) == 0 and d.output.tolist() == []


@settings(max_examples=60, deadline=None)
@given(
    users=st.lists(st.integers(0, 5), max_size=30),
    lengths=st.lists(st.integers(0, 9), min_size=6, max_size=6),
    items=st.integers(1, 30),
)
def test_pair_chunks_cover_every_pair_once_and_keep_a_users_pairs_together(users, lengths, items):
    chunks = pair_chunks(np.array(users, np.int64), np.array(lengths), items)
    positions = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
    assert sorted(positions.tolist()) == list(range(len(users)))
    seen: dict[int, int] = {}
    for number, chunk in enumerate(chunks):
        distinct = {users[i] for i in chunk.tolist()}
        for user in distinct:
            assert seen.setdefault(user, number) == number  # never split over two chunks
        if len(distinct) > 1:
            assert sum(lengths[u] for u in distinct) <= items


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    library=st.lists(st.lists(st.integers(0, 3), max_size=12), min_size=1, max_size=6),
    queries=st.lists(st.lists(st.integers(0, 3), max_size=12), min_size=1, max_size=3),
    data=st.data(),
)
def test_step_five_in_chunks_scores_as_in_one_pass(library, queries, data, monkeypatch_items):
    def side(sequences: list[list[int]], prefix: str) -> ProfileArrays:
        users = [{"id": f"{prefix}{i}", "frequent": {0: _hours(9)}, "hours": _hours(9),
                  "sequence": s} for i, s in enumerate(sequences)]  # fmt: skip
        return _arrays(users, v=[1, 1, 1, 1])

    q, lib = side(queries, "q"), side(library, "l")
    n = data.draw(st.integers(1, 12), label="pairs")
    qs = data.draw(st.lists(st.integers(0, len(queries) - 1), min_size=n, max_size=n))
    ls = data.draw(st.lists(st.integers(0, len(library) - 1), min_size=n, max_size=n))

    def scores(items: int) -> tuple[list, list]:
        monkeypatch_items(items)
        c = Candidates.from_arrays(np.array(qs), np.array(ls), np.ones(n), np.ones(n))
        c = simi_four_scores(c, q, lib, 2)
        return c.simi_four_raw.tolist(), c.simi_four.tolist()

    assert scores(1) == scores(10**9)


@pytest.fixture
def monkeypatch_items():
    from netpersona.rejoin import _steps

    saved = _steps.STEP5_ITEMS

    def set_items(items: int) -> None:
        _steps.STEP5_ITEMS = items

    yield set_items
    _steps.STEP5_ITEMS = saved
