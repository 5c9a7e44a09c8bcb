"""Step 2's exact similarity join equals the brute-force all-pairs join."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netpersona.rejoin._join import JaccardIndex, jaccard_join


def _csr(sets: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in sets], out=indptr[1:])
    sites = np.array([x for s in sets for x in sorted(s)], dtype=np.int64)
    return indptr, sites


def _brute_force(queries, library, threshold, weights):
    pairs = {}
    for q, x in enumerate(queries):
        for u, y in enumerate(library):
            overlap = len(x & y)
            if not x or not y:
                continue
            jaccard = overlap / (len(x) + len(y) - overlap)
            if jaccard > threshold:
                pairs[(q, u)] = (jaccard, sum(weights[d] for d in sorted(x & y)))
    return pairs


def _pairs(result):
    q = result.query_of_pairs()
    return {
        (int(a), int(b)): (j, w)
        for a, b, j, w in zip(
            q, result.library, result.jaccard, result.weighted_overlap, strict=True
        )
    }


sets_of = st.lists(st.sets(st.integers(0, 14), max_size=8), max_size=25)
thresholds = st.one_of(
    st.sampled_from([0.0, 0.2, 1 / 3, 0.5, 0.6, 2 / 3, 0.75, 0.99, 1.0]),
    st.floats(0.0, 1.0),
)


@settings(max_examples=300, deadline=None)
@given(queries=sets_of, library=sets_of, threshold=thresholds, chunk=st.integers(1, 9))
def test_prefix_filter_join_equals_brute_force(queries, library, threshold, chunk):
    weights = np.random.default_rng(len(queries)).random(15) + 0.01
    qi, qs = _csr(queries)
    li, ls = _csr(library)
    result = jaccard_join(qi, qs, li, ls, threshold, weights, chunk=chunk, threads=2)
    expected = _brute_force(queries, library, threshold, weights)
    got = _pairs(result)
    assert got.keys() == expected.keys()
    for key, (jaccard, weight) in expected.items():
        assert got[key][0] == jaccard  # the same division, so exactly equal
        assert got[key][1] == pytest.approx(weight, rel=1e-12)
    # pairs are grouped by query, library rows ascending within a query
    q = result.query_of_pairs()
    assert np.all(np.diff(q) >= 0)
    order = np.lexsort((result.library, q))
    assert np.array_equal(order, np.arange(len(q)))


def test_strictly_above_the_threshold():
    # J({1,2,3}, {1,2,3,4,5}) = 3/5 = 0.6 exactly: not kept at jaccard_min = 0.6
    qi, qs = _csr([{1, 2, 3}])
    li, ls = _csr([{1, 2, 3, 4, 5}, {1, 2, 3, 4}])
    result = jaccard_join(qi, qs, li, ls, 0.6)
    assert result.library.tolist() == [1]
    assert result.jaccard.tolist() == [0.75]
    assert result.weighted_overlap.tolist() == [3.0]


def test_empty_sets_match_nothing_even_at_zero():
    qi, qs = _csr([set(), {1}])
    li, ls = _csr([set(), {1}, {2}])
    result = jaccard_join(qi, qs, li, ls, 0.0)
    assert result.indptr.tolist() == [0, 0, 1]
    assert result.library.tolist() == [1]


def test_larger_random_library_matches_brute_force_with_zipf_sites():
    rng = np.random.default_rng(7)
    library = [set(rng.zipf(1.3, rng.integers(1, 12)) % 400) for _ in range(600)]
    queries = [set(s) for s in library[:150]]
    for s in queries[::3]:
        s.add(int(rng.integers(400)))
    weights = 1.0 / (1 + np.arange(400))
    qi, qs = _csr(queries)
    li, ls = _csr(library)
    for threshold in (0.3, 0.6):
        got = _pairs(jaccard_join(qi, qs, li, ls, threshold, weights, chunk=37))
        assert got.keys() == _brute_force(queries, library, threshold, weights).keys()


def test_index_refuses_bad_threshold_and_unknown_codes():
    li, ls = _csr([{1, 2}])
    with pytest.raises(ValueError, match="threshold"):
        JaccardIndex(li, ls, 1.5, 3)
    index = JaccardIndex(li, ls, 0.5, 3)
    qi, qs = _csr([{7}])
    with pytest.raises(ValueError, match="beyond the index"):
        index.probe(qi, qs, np.ones(8))


@settings(max_examples=100, deadline=None)
@given(left=sets_of, right=sets_of, threshold=thresholds)
def test_simi_one_is_symmetric_and_in_unit_interval(left, right, threshold):
    li, ls = _csr(left)
    ri, rs = _csr(right)
    forward = _pairs(jaccard_join(li, ls, ri, rs, threshold))
    backward = _pairs(jaccard_join(ri, rs, li, ls, threshold))
    assert {(b, a) for a, b in backward} == forward.keys()
    for (a, b), (jaccard, overlap) in forward.items():
        assert backward[(b, a)] == (jaccard, overlap)
        assert threshold < jaccard <= 1.0
