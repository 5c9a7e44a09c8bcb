"""Profile arrays with the item sequences left in the engine: fetched on demand, equal to
loading them all."""

from __future__ import annotations

import numpy as np
import pytest
from _core_data import habitual_log
from hypothesis import given, settings
from hypothesis import strategies as st

from netpersona.engine import DuckDBEngine
from netpersona.rejoin import RejoinSettings, build_profiles
from netpersona.rejoin._profiles import ProfileArrays, Profiles


@pytest.fixture(scope="module")
def profiles() -> Profiles:
    engine = DuckDBEngine(threads=1)
    engine.register_arrow("src", habitual_log(30, 6, seed=3))
    engine.create_table("log", "SELECT * FROM src")
    return build_profiles(engine, "log", "lib", RejoinSettings())


def _fresh(profiles: Profiles) -> Profiles:
    return Profiles.open(profiles.engine, profiles.name)


def test_lazy_arrays_hold_no_sequences_but_know_their_lengths(profiles):
    eager = _fresh(profiles).arrays()
    lazy = _fresh(profiles).arrays(sequences=False)
    assert lazy.sequence_items is None and lazy.sequence_indptr is None
    assert np.array_equal(lazy.sequence_lengths, np.diff(eager.sequence_indptr))
    assert eager.sequence_lengths.sum() == len(eager.sequence_items) > 0


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.integers(0, 29), max_size=40))
def test_sequences_of_some_users_equal_their_slices_of_all(profiles, rows):
    eager = _fresh(profiles).arrays()
    lazy = _fresh(profiles).arrays(sequences=False)
    users = np.array(rows, dtype=np.int64)
    for arrays in (eager, lazy):
        indptr, items = arrays.sequences_of(users)
        assert len(indptr) == len(users) + 1
        for k, u in enumerate(users):
            expected = eager.sequence_items[eager.sequence_indptr[u] : eager.sequence_indptr[u + 1]]
            assert np.array_equal(items[indptr[k] : indptr[k + 1]], expected)
            assert np.array_equal(arrays.sequence_of(u), expected)


def test_asking_for_sequences_later_loads_them_into_the_cached_arrays(profiles):
    p = _fresh(profiles)
    lazy = p.arrays(sequences=False)
    assert p.arrays() is lazy and lazy.sequence_items is not None
    eager = _fresh(profiles).arrays()
    assert np.array_equal(lazy.sequence_items, eager.sequence_items)
    assert np.array_equal(lazy.sequence_indptr, eager.sequence_indptr)


def test_arrays_without_sequences_need_a_loader(profiles):
    eager = _fresh(profiles).arrays()
    fields = {
        name: getattr(eager, name)
        for name in ProfileArrays.__dataclass_fields__
        if name != "sequence_loader"
    }
    fields["sequence_indptr"] = fields["sequence_items"] = None
    with pytest.raises(ValueError, match="sequence_loader"):
        ProfileArrays(**fields)
    fields["sequence_lengths"] = None
    with pytest.raises(ValueError, match="sequence_lengths"):
        ProfileArrays(**fields)


def test_replacing_the_sequences_replaces_their_lengths(profiles):
    import dataclasses

    eager = _fresh(profiles).arrays()
    indptr = np.minimum(eager.sequence_indptr, 5)  # every sequence cut to its first items
    shorter = dataclasses.replace(eager, sequence_indptr=indptr)
    assert np.array_equal(shorter.sequence_lengths, np.diff(indptr))
