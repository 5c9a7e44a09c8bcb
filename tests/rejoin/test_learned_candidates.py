"""Candidates of the learned matcher: exact top-k cosine, quiet users, the union."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import normalize

from netpersona.rejoin._learned._candidates import quiet_candidates, top_k_cosine


def _random_rows(rng: np.random.Generator, n: int, width: int, density: float) -> sp.csr_matrix:
    dense = rng.random((n, width)) * (rng.random((n, width)) < density)
    # a few duplicated rows make exact ties in the cosine
    if n > 3:
        dense[1] = dense[0]
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return sp.csr_matrix(dense / np.where(norms > 0, norms, 1.0))


def _brute_force(q: sp.csr_matrix, lib: sp.csr_matrix, k: int):
    scores = (q @ lib.T).toarray()
    rows = []
    for i, row in enumerate(scores):
        order = sorted(range(len(row)), key=lambda j: (-row[j], j))
        kept = [j for j in order[:k] if row[j] > 0]
        rows += [(i, j, rank + 1) for rank, j in enumerate(kept)]
    return rows


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_q=st.integers(0, 12),
    n_l=st.integers(0, 15),
    k=st.integers(1, 8),
    block=st.integers(1, 60),
)
# the duplicated library row's BLAS cosine differed from its twin's in the last bit: a tie
@example(seed=5, n_q=10, n_l=5, k=1, block=1)
def test_top_k_equals_brute_force(seed, n_q, n_l, k, block):
    rng = np.random.default_rng(seed)
    q = _random_rows(rng, n_q, 9, 0.3)
    lib = _random_rows(rng, n_l, 9, 0.3)
    # duplicate a library row so ties at the k-th place must go to the lower row
    if n_l > 4:
        lib = sp.vstack([lib[:4], lib[2:3], lib[5:]]).tocsr()
    top = top_k_cosine(q, lib, k, block_cells=block)
    got = list(zip(top.query.tolist(), top.library.tolist(), top.rank.tolist(), strict=True))
    assert got == _brute_force(q, lib, k)
    expected = (q @ lib.T).toarray()[top.query, top.library] if len(top.query) else []
    np.testing.assert_allclose(top.cosine, expected, atol=1e-12)


def test_top_k_ties_go_to_lower_column_and_zeros_are_left_out():
    # query 0 scores 0.9 with library row 1 and 0.5 with rows 0, 2 and 3; query 1 meets nobody
    library = sp.csr_matrix(np.array([[0.5, 0.0], [0.9, 0.0], [0.5, 0.0], [0.5, 0.0], [0.0, 1.0]]))
    queries = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0]]))
    top = top_k_cosine(queries, library, 3)
    assert top.query.tolist() == [0, 0, 0]
    assert top.library.tolist() == [1, 0, 2]
    assert top.rank.tolist() == [1, 2, 3]
    np.testing.assert_allclose(top.cosine, [0.9, 0.5, 0.5])


def test_quiet_candidates_are_the_latest_before_the_query():
    library_last = np.array([10.0, 50.0, 30.0, 40.0, 99.0, 40.0])
    query_first = np.array([45.0, 5.0, 100.0])
    q, lib = quiet_candidates(query_first, library_last, 2)
    pairs = sorted(zip(q.tolist(), lib.tolist(), strict=True))
    # query 0 starts at 45: library users last seen at 40 (rows 3 and 5) went quiet just before
    # query 1 starts before anyone went quiet; query 2 after everyone: 99 then 50
    assert pairs == [(0, 3), (0, 5), (2, 1), (2, 4)]


@pytest.mark.parametrize("k", [1, 7, 600])
def test_blocked_top_k_is_the_exact_top_k_with_ties_to_the_lower_row(k):
    rng = np.random.default_rng(k)

    def users(n: int, seed: int) -> sp.csr_matrix:
        m = sp.random(n, 400, density=0.03, random_state=seed, format="lil")
        m[:, :10] = rng.random((n, 10))  # sites nearly everyone visits: the dense part
        return normalize(m.tocsr())

    library = users(500, 2)
    library = sp.vstack([library, library[:20]]).tocsr()  # identical users tie exactly
    queries = sp.vstack([users(200, 1), library[:30], sp.csr_matrix((3, 400))]).tocsr()
    top = top_k_cosine(queries, library, k, block_cells=20_000)
    full = (queries @ library.T).toarray()
    for q in range(queries.shape[0]):
        ranked = np.lexsort((np.arange(full.shape[1]), -full[q]))
        expected = ranked[full[q][ranked] > 0][:k]
        mine = top.query == q
        assert np.array_equal(top.library[mine], expected)
        assert np.array_equal(top.rank[mine], np.arange(1, len(expected) + 1))
