"""RejoinSettings: the paper's defaults, TOML round trip, and clear errors."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netpersona import ConfigError
from netpersona._core import Settings, setting
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


# -- the settings-field mechanism (netpersona._core): one declaration, everything generated -----


def test_search_space_is_declared_with_each_setting_and_starts_at_the_papers_value():
    from netpersona._core import search_space, setting_specs
    from netpersona.rejoin._calibrate import SEARCH_SPACE

    space = search_space(RejoinSettings)
    assert space == SEARCH_SPACE
    assert list(space) == [s.name for s in setting_specs(RejoinSettings)]
    assert space["jaccard_min"] == (0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0)
    for name, values in space.items():
        assert values[0] == getattr(RejoinSettings(), name)
        for value in values:  # every value tried is a valid setting
            RejoinSettings(**{name: value})


def test_range_error_names_range_and_help():
    with pytest.raises(
        ConfigError, match=r"simitwo_keep = 0.0 is out of range \(0.0, 1.0\]: step 3"
    ):
        RejoinSettings(simitwo_keep=0.0)


def test_non_utf8_toml_is_a_clear_error(tmp_path):
    path = tmp_path / "s.toml"
    path.write_bytes(b"[rejoin]\n# \xff\xfe\njaccard_min = 0.3\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        RejoinSettings.from_toml(path)


def test_load_layers_defaults_file_and_flags(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[rejoin]\njaccard_min = 0.3\nmin_run = 4\n")
    s = RejoinSettings.load(path, min_run=3, tie_ratio=None)
    assert (s.jaccard_min, s.min_run, s.tie_ratio) == (0.3, 3, 0.05)


@dataclasses.dataclass(frozen=True)
class _Toy(Settings):
    toml_table = "toy"
    name: str = setting("a", "which toy", choices=("a", "b"))
    on: bool = setting(False, "whether on")
    rate: float = setting(0.9, "rate", low=0.0, high=1.0, high_open=True)


def test_text_and_boolean_settings_round_trip(tmp_path):
    toy = _Toy(name="b", on=True, rate=0.5)
    path = tmp_path / "toy.toml"
    path.write_text(toy.to_toml())
    assert _Toy.from_toml(path) == toy
    assert 'name = "b"' in toy.to_toml() and "on = true" in toy.to_toml()
    with pytest.raises(ConfigError, match="choose one of a, b"):
        _Toy(name="c")
    with pytest.raises(ConfigError, match="true or false"):
        _Toy(on=1)
    with pytest.raises(ConfigError, match=r"out of range \[0.0, 1.0\)"):
        _Toy(rate=1.0)


def test_cli_flags_are_generated_from_the_settings(tmp_path):
    from typer.testing import CliRunner

    from netpersona._core import setting_specs
    from netpersona.cli import app

    runner = CliRunner()
    text = runner.invoke(app, ["rejoin", "identify", "--help"], terminal_width=200).output
    for spec in setting_specs(RejoinSettings):
        assert spec.flag in text
    index_help = runner.invoke(app, ["rejoin", "index", "--help"], terminal_width=200).output
    assert "--frequent-ratio" in index_help and "--jaccard-min" not in index_help
    # a flag's value reaches validation: the range error, not a traceback
    log = tmp_path / "q.csv"
    log.write_text("user_id,ts,url\nu1,2024-01-01T00:00:00,a.com\n")
    result = runner.invoke(
        app,
        ["rejoin", "identify", "--queries", str(log), "--library", str(log), "--out",
         str(tmp_path / "m.csv"), "--jaccard-min", "2"],
    )  # fmt: skip
    assert result.exit_code != 0 and "jaccard_min = 2.0 is out of range [0.0, 1.0]" in str(
        result.output
    ) + str(result.exception)
