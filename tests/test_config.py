"""``netpersona.toml`` / ``--config FILE``: named log mappings and settings by name.

Precedence is flag > file > built-in default; ``./netpersona.toml`` is found without
``--config``; a mapping from the file reads a real log exactly as the same flags do; a wrong key
or type is a ConfigError naming the file, the key and the accepted keys; and settings written
as a configuration file read back the same (hypothesis).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_run import run
from netpersona._core import ConfigError, setting_specs
from netpersona.cli._config import load
from netpersona.cli._config_cmd import render, template
from netpersona.io import ConfigFile, LogMapping
from netpersona.rejoin import RejoinSettings
from shared_data import shared_file

GESIS_TABLE = (
    '[mappings.default]\nuser_col = "panelist_id"\ntime_col = "used_at"\nsite_col = "domain"\n'
)
COLLEGE_FLAGS = ["--no-header", "--columns", "sender,recipient,ts", "--user-col", "sender",
                 "--site-col", "recipient", "--time-unit", "s", "--sep", "space"]  # fmt: skip
COLLEGE_TABLE = """[mappings.college]
columns = ["sender", "recipient", "ts"]
user_col = "sender"
site_col = "recipient"
time_col = "ts"
time_unit = "s"
sep = "space"
"""


def _json(capsys, *args) -> dict:
    code, out, err = run(capsys, *map(str, args), "--json", "-")
    assert code == 0, err
    return json.loads(out)


def _write(folder: Path, text: str, name: str = "netpersona.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_precedence_flag_over_file_over_builtin(capsys, tmp_path):
    gesis = shared_file("access_logs/gesis_web_tracking_urls.csv")
    config = _write(tmp_path, GESIS_TABLE + "[rejoin]\nfrequent_ratio = 0.4\njaccard_min = 0.3\n")
    doc = _json(capsys, "--config", config, "rejoin", "index", gesis, "--workspace",
                tmp_path / "a.duckdb", "--frequent-ratio", "0.5")  # fmt: skip
    assert doc["settings"]["frequent_ratio"] == 0.5  # the flag
    assert doc["settings"]["jaccard_min"] == 0.3  # the file
    assert doc["settings"]["hour_cosine_min"] == 0.69  # built in: the paper's
    assert (doc["users"], doc["sites"], doc["rows"]) == (10, 579, 18_878)  # the file's mapping
    calibrated = _write(tmp_path, "[rejoin]\njaccard_min = 0.2\n", "cal.toml")
    doc = _json(capsys, "--config", config, "rejoin", "index", gesis, "--workspace",
                tmp_path / "b.duckdb", "--settings", calibrated)  # fmt: skip
    assert doc["settings"]["jaccard_min"] == 0.2  # --settings FILE is a flag too
    # a mapping flag wins over the file's mapping: the hashed URLs are more sites than domains
    summary = _json(capsys, "--config", config, "logs", "summary", gesis, "--site-col", "url")
    assert summary["rows"] == 18_878 and summary["sites"] > 579


def test_per_command_defaults_and_their_flag(capsys, tmp_path):
    config = _write(
        tmp_path, '[commands.synth.access-logs]\nusers = 12\ndays = 3\npreset = "sparse"\n'
    )
    doc = _json(capsys, "--config", config, "synth", "access-logs", "--out", tmp_path / "a.csv")
    assert (doc["users"], doc["days"], doc["preset"]) == (12, 3, "sparse")
    doc = _json(capsys, "--config", config, "synth", "access-logs", "--out", tmp_path / "b.csv",
                "--users", "15")  # fmt: skip
    assert (doc["users"], doc["days"]) == (15, 3)


def test_discovery_of_netpersona_toml_and_config_over_it(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc = _json(capsys, "config", "show")
    assert doc["file"] is None and doc["rejoin"]["jaccard_min"] == {
        "value": 0.6,
        "source": "built-in",
    }
    _write(tmp_path, "[rejoin]\njaccard_min = 0.3\n")
    doc = _json(capsys, "config", "show")
    assert doc["file"] == "netpersona.toml"
    assert doc["rejoin"]["jaccard_min"] == {"value": 0.3, "source": "file"}
    assert doc["rejoin"]["min_run"] == {"value": 2, "source": "built-in"}
    other = _write(tmp_path, "[rejoin]\njaccard_min = 0.1\n", "other.toml")
    doc = _json(capsys, "--config", other, "config", "show")
    assert doc["rejoin"]["jaccard_min"]["value"] == 0.1
    code, _, err = run(capsys, "--config", str(tmp_path / "missing.toml"), "config", "show")
    assert code == 1 and "missing.toml: no such file" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[rejoinn]\n", ["unknown table [rejoinn]", "[commands], [customers], [devices]"]),
        ("[rejoin]\njacard_min = 0.3\n", ["[rejoin]", "'jacard_min'", "jaccard_min, min_run"]),
        ("[rejoin]\njaccard_min = 'high'\n", ["[rejoin]", "jaccard_min must be a number"]),
        ("[mappings.x]\nusr_col = 'a'\n", ["[mappings.x]", "'usr_col'", "time_col, time_origin"]),
        ("[mappings.x]\nuser_col = 3\n", ["[mappings.x]", "user_col must be text, got 3"]),
        ("[mappings.x]\ntimezone = 'Mars/Base'\n", ["[mappings.x]", "unknown time zone"]),
        ("[devices]\nlr = 'fast'\n", ["[devices]", "lr must be a number"]),
        ("[customers]\nsplit = 'odd'\n", ["[customers]", "split must be 'order' or 'random'"]),
        ("[customers]\ntiers = [0.2, 0.5, 0.7]\n", ["[customers]", "0 <= C < B < A <= 1"]),
        ("[commands.rejoin.idenify]\n", ["unknown command 'idenify'", "identify, index"]),
        ("[commands.rejoin.identify]\ntopk = 3\n", ["'topk'", "top_k"]),
        ("[commands.rejoin.identify]\ntop_k = 'x'\n", ["top_k = 'x'"]),
        ("[commands.rejoin.identify]\nuser_col = 'u'\n", ["log-mapping key", "[mappings.NAME]"]),
    ],
)
def test_a_wrong_key_or_type_names_the_file_the_key_and_the_accepted_keys(
    capsys, tmp_path, text, expected
):
    config = _write(tmp_path, text, "mine.toml")
    code, out, err = run(capsys, "--config", str(config), "config", "show")
    assert code == 1 and out == "" and f"{config}" in err
    for part in expected:
        assert part in err, (part, err)


def test_an_unknown_mapping_name_lists_the_file_s_mappings(capsys, tmp_path):
    config = _write(tmp_path, COLLEGE_TABLE)
    log = tmp_path / "log.csv"
    log.write_text("user_id,ts,url\na,2024-05-01 10:00:00,http://a.com/\n")
    code, _, err = run(
        capsys, "--config", str(config), "logs", "summary", str(log), "--mapping", "colege"
    )
    assert code == 1 and "no [mappings.colege] table (its mappings: college)" in err


def test_a_mapping_from_the_file_reads_a_real_log_as_its_flags_do(capsys, tmp_path):
    college = shared_file("access_logs/collegemsg.txt")
    config = _write(tmp_path, COLLEGE_TABLE)
    by_flags = _json(
        capsys, "rejoin", "index", college, *COLLEGE_FLAGS, "--workspace", tmp_path / "f.duckdb"
    )
    by_file = _json(capsys, "--config", config, "rejoin", "index", college, "--mapping", "college",
                    "--workspace", tmp_path / "c.duckdb")  # fmt: skip
    keys = ("users", "sites", "rows", "rows_read", "rejected")
    assert [by_file[k] for k in keys] == [by_flags[k] for k in keys]
    assert (by_flags["rows_read"], by_flags["users"]) == (59_835, 1_350)  # docs: 1,350 senders
    ingested = [
        _json(
            capsys,
            *pre,
            "logs",
            "ingest",
            college,
            *extra,
            "--workspace",
            tmp_path / f"i{n}.duckdb",
        )
        for n, (pre, extra) in enumerate(
            [((), COLLEGE_FLAGS), (("--config", config), ("--mapping", "college"))]
        )
    ]
    assert ingested[0]["rows_added"] == ingested[1]["rows_added"] == 59_835
    # the per-command default names the mapping: no flag at all
    named = _write(
        tmp_path, COLLEGE_TABLE + '[commands.logs.summary]\nmapping = "college"\n', "n.toml"
    )
    summary = _json(capsys, "--config", named, "logs", "summary", college)
    assert (summary["rows"], summary["users"]) == (59_835, 1_350)


def test_the_template_reads_back_as_the_built_in_defaults(tmp_path, capsys):
    code, _, err = run(capsys, "config", "init", str(tmp_path / "netpersona.toml"))
    assert code == 0, err
    config = load(tmp_path / "netpersona.toml")
    assert config.mappings == {"default": {}} and all(config.tables[t] == {} for t in config.tables)
    assert "# jaccard_min = 0.6" in template() and "# lr = 0.9" in template()
    code, _, err = run(capsys, "config", "init", str(tmp_path / "netpersona.toml"))
    assert code != 0 and "--force" in err


def _setting_values(spec):
    m = spec.meta
    if spec.kind is int:
        return st.integers(
            int(m.low if m.low is not None else 0), int(m.high if m.high is not None else 1000)
        )
    low, high = (m.low if m.low is not None else -1e6), (m.high if m.high is not None else 1e6)
    return st.floats(low, high, exclude_min=m.low_open, exclude_max=m.high_open, allow_nan=False)


REJOIN = st.fixed_dictionaries({s.name: _setting_values(s) for s in setting_specs(RejoinSettings)})
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
MAPPINGS = st.fixed_dictionaries(
    {"user_col": NAMES, "time_col": NAMES, "site_col": NAMES},
    optional={"sep": st.sampled_from([",", "\t", ";", "|", " "]),
              "timezone": st.sampled_from(["UTC", "Asia/Shanghai", "America/Los_Angeles"]),
              "max_bad_fraction": st.floats(0.0, 1.0), "time_unit": st.sampled_from(["s", "ms"])},
)  # fmt: skip
DEVICES = st.fixed_dictionaries(
    {"hidden": st.lists(st.integers(1, 64), min_size=1, max_size=3), "lr": st.floats(1e-4, 10.0),
     "epochs": st.integers(1, 100_000), "shuffle": st.booleans(),
     "input_range": st.sampled_from([[0.0, 1.0], [-1.0, 1.0]])}
)  # fmt: skip
CUSTOMERS = st.fixed_dictionaries(
    {"seed": st.integers(0, 2**31), "sample_share": st.floats(0.05, 1.0),
     "split": st.sampled_from(["order", "random"]), "ensemble": st.integers(1, 9),
     "tiers": st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3, unique=True).map(
         lambda t: sorted(t, reverse=True))}
)  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rejoin=REJOIN, mapping=MAPPINGS, devices=DEVICES, customers=CUSTOMERS)
def test_settings_written_then_read_are_the_same(tmp_path, rejoin, mapping, devices, customers):
    tables = [("mapping", "mappings.x", mapping), ("rejoin", "rejoin", rejoin),
              ("devices", "devices", devices), ("customers", "customers", customers)]  # fmt: skip
    text = "\n".join(render(kind, name, values, False) for kind, name, values in tables)
    config = load(_write(tmp_path, text))
    assert config.tables["rejoin"] == rejoin
    assert RejoinSettings.from_mapping(config.tables["rejoin"]) == RejoinSettings(**rejoin)
    assert config.tables["devices"] == devices and config.tables["customers"] == customers
    assert config.mapping("x") == LogMapping(**{**mapping, "url_col": None})
    assert all(not isinstance(v, float) or math.isfinite(v) for v in rejoin.values())


def test_config_file_read_alone_checks_mappings_and_knows_no_settings_tables(tmp_path):
    path = _write(tmp_path, COLLEGE_TABLE)
    config = ConfigFile.read(path)
    assert config.mapping("college").columns == ("sender", "recipient", "ts")
    assert config.mapping("college").sep == " " and config.mapping("college").no_header
    with pytest.raises(ConfigError, match=r"unknown table \[rejoin\]; the accepted tables are"):
        ConfigFile.read(_write(tmp_path, "[rejoin]\n", "r.toml"))
