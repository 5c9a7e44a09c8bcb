"""Hostile input, part 3: inputs are taken literally, URLs parsed as browsers parse them, and
broken files (gzip, folders, huge fields, odd years, non-UTF-8 or deep TOML, deep expressions)
end in a declared error - never a traceback (issue #17)."""

from __future__ import annotations

import gzip
import json

import pytest

from cli_run import run
from netpersona import ConfigError, InputError
from netpersona.io import LogMapping, read_access_log, site_of_url

ID = "13812345678"
HEAD = "user_id,ts,url\n"


def log_text(site: str, n: int = 3) -> str:
    return HEAD + "".join(f"{ID},2024-05-0{d} 10:00:00,http://{site}/\n" for d in range(1, n + 1))


# -- inputs taken literally ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x[12].csv", "s*.csv", "q?.csv", "[a].csv"])
def test_a_file_name_with_glob_characters_reads_that_file_only(tmp_path, name):
    for decoy in ("x1.csv", "x2.csv", "s1.csv", "qq.csv", "a.csv"):
        (tmp_path / decoy).write_text(log_text("decoy.com", 5))
    (tmp_path / name).write_text(log_text("real.com", 2))
    from netpersona.engine import DuckDBEngine

    with DuckDBEngine() as engine:
        summary = read_access_log(tmp_path / name, LogMapping(), engine)
        sites = engine.fetch_arrow("SELECT DISTINCT site FROM access_log").column(0).to_pylist()
    assert summary.rows == 2 and sites == ["real.com"]


def test_device_reports_are_literal_unless_glob_is_asked_for(tmp_path):
    from netpersona.devices._reports import expand_paths

    (tmp_path / "r1.jsonl").write_text("{}\n")
    (tmp_path / "r2.jsonl").write_text("{}\n")
    with pytest.raises(InputError, match="no such file"):
        expand_paths([str(tmp_path / "r*.jsonl")])
    assert len(expand_paths([str(tmp_path / "r*.jsonl")], patterns=True)) == 2


# -- URLs as browsers read them, one site per IDN ----------------------------------------------


@pytest.mark.parametrize(
    ("url", "site"),
    [
        ("http://evil.com\\@good.com/", "evil.com"),
        ("https://evil.com\\x@good.com", "evil.com"),
        ("http://user:pw@good.com:8080/a", "good.com"),
        ("http://xn--bcher-kva.de/x", "bücher.de"),
        ("http://bücher.de/x", "bücher.de"),
        ("http://BÜCHER.DE", "bücher.de"),
        ("http://xn--fsqu00a.xn--fiqs8s/", "例子.中国"),
        ("http://www.例子.中国/", "例子.中国"),
    ],
)
def test_hosts_are_parsed_the_whatwg_way_and_idna_normalised(url, site):
    assert site_of_url(url) == site


def test_the_sql_reader_agrees_with_python_on_backslashes_and_idns(tmp_path):
    urls = ["http://evil.com\\@good.com/", "http://xn--bcher-kva.de/", "http://bücher.de/"]
    path = tmp_path / "log.csv"
    path.write_text(HEAD + "".join(f"{ID},2024-05-01 10:00:0{i},{u}\n" for i, u in
                                   enumerate(urls)), encoding="utf-8")  # fmt: skip
    from netpersona.engine import DuckDBEngine

    with DuckDBEngine() as engine:
        read_access_log(path, LogMapping(), engine)
        sites = engine.fetch_arrow("SELECT site FROM access_log ORDER BY ts").column(0).to_pylist()
    assert sites == ["evil.com", "bücher.de", "bücher.de"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_utf8_bom_is_accepted(tmp_path, suffix):
    path = tmp_path / f"bom{suffix}"
    if suffix == ".csv":
        text = log_text("a.com")
    else:
        text = json.dumps({"user_id": ID, "ts": "2024-05-01 10:00:00", "url": "a.com"}) + "\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert read_access_log(path, LogMapping()).rows == (3 if suffix == ".csv" else 1)


# -- broken files: declared errors -------------------------------------------------------------


def _gz(tmp_path, kind: str):
    path = tmp_path / "log.csv.gz"
    data = gzip.compress(log_text("a.com", 9).encode())
    path.write_bytes(data[:30] if kind == "truncated" else b"not gzip at all\n" * 3)
    return path


@pytest.mark.parametrize("kind", ["truncated", "not gzip"])
def test_a_bad_gzip_is_a_declared_error(capsys, tmp_path, kind):
    code, _, err = run(capsys, "logs", "summary", str(_gz(tmp_path, kind)))
    assert code == 1 and "log.csv.gz" in err


def test_a_folder_given_as_a_file_is_a_declared_error(capsys, tmp_path):
    code, _, err = run(capsys, "logs", "summary", str(tmp_path))
    assert code == 2 and "directory" in err  # Click's own check of the argument
    with pytest.raises(InputError, match="no such file"):
        read_access_log(tmp_path, LogMapping())
    from netpersona.customers import load_system

    with pytest.raises(ConfigError, match="a folder"):
        load_system(tmp_path)


def test_a_2mb_field_is_a_declared_error_not_a_csv_crash(capsys, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(HEAD + f"{ID},2024-05-01 10:00:00,http://{'a' * 2_100_000}.com/\n"
                    + log_text("a.com", 9)[len(HEAD):])  # fmt: skip
    code, _, err = run(capsys, "logs", "summary", str(path))
    assert code == 1 and len(err) < 3000 and "line 2" in err


@pytest.mark.parametrize("when", ["9999-12-31 23:59:59", "10000-01-01 00:00:00", "99999-01-01"])
def test_extreme_years_are_quarantined(capsys, tmp_path, when):
    path = tmp_path / "log.csv"
    path.write_text(log_text("a.com", 9) + f"{ID},{when},http://a.com/\n")
    code, out, err = run(capsys, "logs", "summary", str(path), "--max-bad-fraction", "0.2",
                         "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["rejected"] == 1


def test_a_non_utf8_toml_is_a_config_error(capsys, tmp_path):
    from netpersona.customers import load_system

    path = tmp_path / "system.toml"
    path.write_bytes(b'[system]\nname = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_system(path)
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError, match=r"deep|not valid TOML"):
        load_system(deep)


@pytest.mark.parametrize(
    "text", ["(" * 5000 + "1" + ")" * 5000, "(" * 60 + "1" + ")" * 60, "NOT " * 400 + "true"]
)
def test_deeply_nested_expressions_are_config_errors(text):
    from netpersona.customers._expr import check_expression

    with pytest.raises(ConfigError, match=r"nest|deeper"):
        check_expression(text)
