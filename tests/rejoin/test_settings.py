"""RejoinSettings: the paper's defaults, TOML round trip, and clear errors."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netpersona import ConfigError
from netpersona.rejoin import RejoinSettings


def test_defaults_are_the_papers_values():
    s = RejoinSettings()
    assert dataclasses.asdict(s) == {
        "frequent_ratio": 0.8,
        "active_minutes": 20,
        "jaccard_min": 0.6,
        "simitwo_keep": 0.05,
        "hour_cosine_min": 0.69,
        "site_hour_cosine_min": 0.53,
        "simifour_keep": 0.143,
        "min_run": 2,
        "tie_ratio": 0.05,
    }


@given(
    frequent_ratio=st.floats(0.01, 1.0),
    active_minutes=st.integers(1, 60),
    jaccard_min=st.floats(0.0, 1.0),
    simitwo_keep=st.floats(0.001, 1.0),
    min_run=st.integers(1, 50),
    tie_ratio=st.floats(0.0, 1.0),
)
def test_toml_round_trip(tmp_path_factory, **values):
    s = RejoinSettings(**values)
    path = tmp_path_factory.mktemp("s") / "settings.toml"
    path.write_text(s.to_toml())
    assert RejoinSettings.from_toml(path) == s


def test_partial_file_keeps_defaults(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[rejoin]\njaccard_min = 0.3\n")
    assert RejoinSettings.from_toml(path) == RejoinSettings(jaccard_min=0.3)


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[rejoin]\njacard_min = 0.3\n")
    with pytest.raises(ConfigError, match="jacard_min"):
        RejoinSettings.from_toml(path)


def test_unknown_table_is_named(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[rejion]\njaccard_min = 0.3\n")
    with pytest.raises(ConfigError, match="rejion"):
        RejoinSettings.from_toml(path)


def test_bad_toml_and_missing_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[rejoin\n")
    with pytest.raises(ConfigError, match="TOML"):
        RejoinSettings.from_toml(path)
    with pytest.raises(ConfigError, match="cannot read"):
        RejoinSettings.from_toml(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    "change",
    [
        {"frequent_ratio": 0.0},
        {"frequent_ratio": 1.5},
        {"active_minutes": 0},
        {"active_minutes": 61},
        {"active_minutes": 2.5},
        {"jaccard_min": -0.1},
        {"simitwo_keep": 0.0},
        {"min_run": 0},
        {"tie_ratio": float("nan")},
        {"jaccard_min": "high"},
    ],
)
def test_out_of_range_values_are_refused(change):
    with pytest.raises(ConfigError, match=next(iter(change))):
        RejoinSettings(**change)


def test_replace_ignores_none_and_profile_key():
    s = RejoinSettings().replace(jaccard_min=None, min_run=3)
    assert s.min_run == 3 and s.jaccard_min == 0.6
    assert s.profile_key() == (0.8, 20)
    assert RejoinSettings(active_minutes=1).profile_key() != s.profile_key()
