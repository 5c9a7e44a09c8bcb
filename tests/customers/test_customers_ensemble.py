"""Tiers that hold across seeds: the network ensemble and the seed-agreement measure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from customers_helpers import MARKETING_SYSTEM, shared_file
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from netpersona import ConfigError
from netpersona.cli import app
from netpersona.customers import (
    CustomerSettings,
    NetworkEnsemble,
    load_run,
    paper_c_network,
    save_run,
    score_table,
    seed_agreement,
    stratified_sample,
    train_test_split,
)
from netpersona.customers._ensemble import member_seed
from netpersona.customers._pipeline import train_on
from netpersona.synth.customers import synth_customers

runner = CliRunner()


@pytest.fixture(scope="module")
def table():
    return score_table(synth_customers(400, seed=2))


def _paper_network_k(table, settings: CustomerSettings, seed: int) -> np.ndarray:
    """K of one network trained by hand the paper's way (sample, split, 14-29-1, fit)."""
    sample = stratified_sample(table.pre_class, settings.sample_share, seed)
    train_pos, _ = train_test_split(len(sample), settings.train_share, settings.split, seed)
    x = table.scored.scores.to_numpy(dtype=float)
    net = paper_c_network(x.shape[1], settings.network, seed)
    net.fit(x[sample[train_pos]], table.target[sample[train_pos]])
    return np.clip(net.predict(x), 0.0, 1.0)


def test_one_network_is_the_papers_method(table):
    settings = CustomerSettings(seed=5, ensemble=1)
    run = train_on(table, settings)
    assert not isinstance(run.model, NetworkEnsemble)
    np.testing.assert_allclose(run.k, _paper_network_k(table, settings, 5))


def test_the_default_averages_320_networks_whose_first_is_the_papers():
    """The default is the ensemble that steadied the real table's tiers; member 0 stays the
    paper's network (the same K as ``ensemble=1``)."""
    assert CustomerSettings().ensemble == 320
    small = score_table(synth_customers(120, seed=3))
    run = train_on(small, CustomerSettings(seed=2))
    assert isinstance(run.model, NetworkEnsemble) and len(run.model) == 320
    one = train_on(small, CustomerSettings(seed=2, ensemble=1))
    x = small.scored.scores.to_numpy(dtype=float)
    np.testing.assert_allclose(np.clip(run.model.members[0].predict(x), 0, 1), one.k)


def test_an_ensemble_is_the_mean_of_its_members(table):
    settings = CustomerSettings(seed=5, ensemble=3)
    run = train_on(table, settings)
    assert isinstance(run.model, NetworkEnsemble) and len(run.model) == 3
    members = [_paper_network_k(table, settings, member_seed(5, i)) for i in range(3)]
    np.testing.assert_allclose(run.k, np.mean(members, axis=0))
    np.testing.assert_allclose(members[0], train_on(table, CustomerSettings(seed=5, ensemble=1)).k)
    summary = run.summary()
    assert summary["network"]["members"] == 3
    assert summary["network"]["epochs"] == run.model.members[0].n_epochs_


def test_a_saved_ensemble_predicts_the_same_k(table, tmp_path):
    run = train_on(table, CustomerSettings(seed=1, ensemble=4))
    folder = save_run(run, tmp_path / "model")
    assert sorted(p.name for p in (folder / "network").iterdir()) == [
        "ensemble.json", "member_000", "member_001", "member_002", "member_003",
    ]  # fmt: skip
    model = load_run(folder)
    data = synth_customers(400, seed=2)
    out = model.predict(data)
    np.testing.assert_allclose(out["K"].to_numpy(), np.round(run.k, 6), atol=1e-6)
    assert (out["tier"].to_numpy() == run.tiers).all()


def test_a_damaged_ensemble_file_is_a_clear_error(table, tmp_path):
    from netpersona import ModelFormatError

    folder = save_run(train_on(table, CustomerSettings(ensemble=2)), tmp_path / "model")
    (folder / "network" / "ensemble.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match=r"ensemble\.json is damaged"):
        load_run(folder)


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_the_ensemble_size_is_checked(bad):
    with pytest.raises(ConfigError, match="ensemble"):
        CustomerSettings(ensemble=bad)


@given(seed=st.integers(0, 2**31), n=st.integers(2, 60))
def test_member_seeds_are_distinct_and_member_zero_is_the_runs_seed(seed, n):
    seeds = [member_seed(seed, i) for i in range(n)]
    assert seeds[0] == seed
    assert len(set(seeds)) == n


def test_an_ensemble_steadies_the_tiers_of_the_real_file():
    """marketing_campaign.tsv (2,240 real customers): one network per run puts a customer in
    the same tier under two seeds about 60% of the time; 30 networks per run, far more."""
    table = score_table(shared_file("customers/marketing_campaign.tsv"), MARKETING_SYSTEM)
    single = seed_agreement(table, CustomerSettings(ensemble=1), seeds=[0, 1, 2])
    steady = seed_agreement(table, CustomerSettings(ensemble=30), seeds=[0, 1, 2])
    assert single.pairwise_min < 0.75
    assert steady.pairwise_min > 0.8
    assert steady.all_agree > single.all_agree + 0.2
    assert steady.ensemble == 30 and len(steady.tier_shares) == 3
    assert "30 network(s) per run" in steady.lines()[0]


def test_seed_agreement_needs_two_seeds(table):
    with pytest.raises(ConfigError, match="two different seeds"):
        seed_agreement(table, CustomerSettings(), seeds=[3, 3])


def test_the_cli_trains_an_ensemble_and_measures_stability(tmp_path):
    data = tmp_path / "q.csv"
    synth_customers(300, seed=4).to_csv(data, index=False)
    model, tiers = tmp_path / "model", tmp_path / "tiers.csv"
    args = ["customers", "run", "--data", data, "--out", tiers, "--model", model, "--ensemble", 3]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    assert "mean of 3" in " ".join(result.output.split())
    assert len(list((model / "network").glob("member_*"))) == 3
    assert len(pd.read_csv(tiers)) == 300
    args = ["customers", "stability", "--data", data, "--seeds", 2, "--ensemble", 2]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "seeds 0, 1, 2 network(s) per run" in text and "seed 1: A" in text
