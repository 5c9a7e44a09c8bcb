"""mapminmax-style scaling: fitted on training data, invertible, safe on constant columns."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from netpersona.nn import BPClassifier, MinMaxScaling

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 4)), elements=finite),
    st.sampled_from([(0.0, 1.0), (-1.0, 1.0)]),
)
def test_training_data_maps_into_the_range_and_back(data, feature_range):
    scaling = MinMaxScaling.fit(data, feature_range)
    scaled = scaling.transform(data)
    lo, hi = feature_range
    assert np.all(scaled >= lo - 1e-9) and np.all(scaled <= hi + 1e-9)
    np.testing.assert_allclose(scaling.inverse(scaled), data, rtol=1e-9, atol=1e-6)
    span = np.ptp(data, axis=0)
    with np.errstate(divide="ignore", over="ignore"):
        varying = np.isfinite((hi - lo) / span)  # a zero or denormal span counts as constant
    # each varying column reaches both ends; a constant column sits at the low end
    np.testing.assert_allclose(scaled.min(axis=0)[varying], lo, atol=1e-9)
    np.testing.assert_allclose(scaled.max(axis=0)[varying], hi, atol=1e-9)
    np.testing.assert_allclose(scaled[:, ~varying], lo, atol=1e-9)


def test_a_denormal_span_counts_as_constant():
    scaling = MinMaxScaling.fit(np.array([[5e-324], [0.0]]))
    np.testing.assert_array_equal(scaling.gain, [1.0])
    assert np.all(np.isfinite(scaling.transform(np.array([[1.0], [0.0]]))))


def test_new_values_outside_the_training_range_map_outside():
    scaling = MinMaxScaling.fit(np.array([[0.0], [10.0]]))
    np.testing.assert_allclose(scaling.transform(np.array([[20.0], [-5.0]])), [[2.0], [-0.5]])


def test_empty_range_is_refused():
    with pytest.raises(ValueError, match="low < high"):
        MinMaxScaling.fit(np.zeros((3, 1)), (1.0, 1.0))


@settings(max_examples=15, deadline=None)
@given(
    st.sampled_from(["logsig", "tansig", "purelin", "softmax"]),
    st.integers(0, 1000),
    arrays(np.float64, st.tuples(st.integers(1, 10), st.just(3)), elements=st.floats(-50, 50)),
)
def test_probabilities_are_rows_summing_to_one(output, seed, X_new):
    rng = np.random.default_rng(seed)
    X, y = rng.uniform(0, 1, (30, 3)), rng.integers(0, 3, 30)
    clf = BPClassifier(transfer=("tansig", output), epochs=3, random_state=seed).fit(X, y)
    proba = clf.predict_proba(X_new)  # includes inputs far outside the training range
    assert proba.shape == (len(X_new), len(clf.classes_))
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
