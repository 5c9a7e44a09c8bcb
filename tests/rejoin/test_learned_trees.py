"""The compiled walk of the gradient-boosted trees gives scikit-learn's probabilities."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingClassifier

from netpersona.rejoin._learned import _models
from netpersona.rejoin._learned._models import fit_model, match_probability
from netpersona.rejoin._learned._trees import compile_trees


def _data(seed: int, n: int = 3_000, missing: float = 0.1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    y = (x[:, 0] + 0.5 * x[:, 1] * x[:, 2] + rng.normal(scale=0.5, size=n)) > 0
    x[rng.random(x.shape) < missing] = np.nan  # the trees learn where missing values go
    return x, y


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), missing=st.sampled_from([0.0, 0.1, 0.3]))
def test_compiled_trees_give_scikit_learns_probabilities(seed, missing):
    x, y = _data(seed, missing=missing)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=seed).fit(x, y)
    trees = compile_trees(model)
    assert trees is not None
    rows = _data(seed + 1, n=2_000, missing=missing)[0]
    got = model._loss.predict_proba(trees.raw(rows))[:, 1]
    np.testing.assert_array_equal(got, model.predict_proba(rows)[:, 1])


def test_match_probability_uses_checked_trees_and_matches_scikit_learn():
    x, y = _data(0)
    model = fit_model("hgb", 0, x, y)
    rows = _data(1, n=20_000)[0]
    want = model.predict_proba(np.asarray(rows, np.float32).astype(np.float64))[:, 1]
    np.testing.assert_array_equal(match_probability(model, rows), want)
    assert model.__dict__["_netpersona_trees"] is not False  # the compiled walk was used


def test_trees_that_disagree_with_scikit_learn_are_not_used(monkeypatch):
    x, y = _data(2)
    model = fit_model("hgb", 0, x, y)
    wrong = dataclasses.replace(compile_trees(model), baseline=5.0)
    monkeypatch.setattr(_models, "compile_trees", lambda m: wrong)
    rows = _data(3, n=5_000)[0]
    got = match_probability(model, rows)
    assert model.__dict__["_netpersona_trees"] is False
    want = model.predict_proba(np.asarray(rows, np.float32).astype(np.float64))[:, 1]
    np.testing.assert_array_equal(got, want)


def test_models_without_trees_predict_by_themselves():
    x, y = _data(4, missing=0.0)
    model = fit_model("bp", 0, x, y)
    assert compile_trees(model) is None
    rows = _data(5, n=500, missing=0.0)[0]
    want = model.predict_proba(np.asarray(rows, np.float32).astype(np.float64))[:, 1]
    np.testing.assert_allclose(match_probability(model, rows), want)


@pytest.mark.parametrize("rows", [0, 1])
def test_tiny_inputs(rows):
    x, y = _data(6)
    model = fit_model("hgb", 0, x, y)
    got = match_probability(model, x[:rows])
    assert got.shape == (rows,)
