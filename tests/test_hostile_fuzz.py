"""Hostile input, part 5: fuzzing (hypothesis) each reader and the TOML and expression parsers.
Whatever the bytes, the outcome is a result or one of netpersona's declared errors - never
another exception (issue #17)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona import NetpersonaError
from netpersona.cli._errors import declared

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ID = "13812345678"

# text that looks like a log line, often broken: ids, times, URLs, separators, quotes, junk
_pieces = st.sampled_from(
    [ID, "u1", "", "2024-05-01 10:00:00", "9999-12-31", "10000-01-01", "not a time", "1714557600",
     "http://a.com/x", "http://evil.com\\@good.com", "xn--bcher-kva.de", "bücher.de", "[", "*",
     '"', '""', ",", "\t", " ", "\x00", "\ufeff", "{", "}", "null", "-1", "1e400", "日本"]
)  # fmt: skip
_line = st.lists(_pieces, min_size=0, max_size=6).map(",".join)
_text = st.lists(_line, min_size=0, max_size=8).map("\n".join)


def _ok_or_declared(call) -> None:
    """Run ``call``; a result or a declared error passes, anything else fails the test."""
    try:
        call()
    except NetpersonaError:
        pass
    except Exception as exc:
        if declared(exc) is None:
            raise


@FUZZ
@given(body=_text, header=st.booleans(), suffix=st.sampled_from([".csv", ".tsv", ".csv.gz"]))
def test_the_log_reader_never_crashes(body, header, suffix):
    import gzip

    from netpersona.io import LogMapping, read_access_log

    folder = Path(tempfile.mkdtemp())
    path = folder / f"log{suffix}"
    text = ("user_id,ts,url\n" if header else "") + body
    data = text.encode("utf-8", errors="surrogatepass")
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    _ok_or_declared(lambda: read_access_log(path, LogMapping(max_bad_fraction=0.5)))


@FUZZ
@given(records=st.lists(st.dictionaries(st.sampled_from(["user_id", "ts", "url", "x"]),
                                        _pieces | st.integers() | st.none()), max_size=6),
       junk=st.sampled_from(["", "{", "[1,2]", "\"text\"", "\x00"]))  # fmt: skip
def test_the_jsonl_reader_never_crashes(records, junk):
    from netpersona.io import LogMapping, read_access_log

    path = Path(tempfile.mkdtemp()) / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + junk, encoding="utf-8")
    _ok_or_declared(lambda: read_access_log(path, LogMapping(max_bad_fraction=0.5)))


@FUZZ
@given(records=st.lists(st.dictionaries(
    st.sampled_from(["username", "logontime", "logofftime", "upflow", "downflow"]),
    _pieces | st.integers(min_value=-10, max_value=10**12) | st.none()), max_size=5))  # fmt: skip
def test_the_device_report_reader_never_crashes(records):
    from netpersona.devices import read_sessions

    path = Path(tempfile.mkdtemp()) / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    _ok_or_declared(lambda: read_sessions(path))


@FUZZ
@given(body=_text)
def test_the_customer_table_reader_never_crashes(body):
    from netpersona.customers._source import read_customers

    path = Path(tempfile.mkdtemp()) / "c.csv"
    path.write_text(body, encoding="utf-8")
    _ok_or_declared(lambda: read_customers(path))


_toml_piece = st.sampled_from(
    ["[system]", "[[indicators]]", "[[dimensions]]", "[current_value]", 'name = "x"',
     'name = "a\\"b"', "dimension = 1", 'expr = "days + 1"', 'column = "days"', "x = [[[[1]]]]",
     "= =", '"\\xff"', "[indicators.score]", 'method = "quantile"', "thresholds = [1, 2]"]
)  # fmt: skip


@FUZZ
@given(lines=st.lists(_toml_piece, max_size=12), raw=st.binary(max_size=8))
def test_the_indicator_system_parser_never_crashes(lines, raw):
    from netpersona.customers import load_system

    path = _toml_file("s.toml", lines, raw)
    _ok_or_declared(lambda: load_system(path))


def _toml_file(name: str, lines: list[str], raw: bytes) -> Path:
    """A fresh file ``name`` holding ``lines``, then ``raw`` bytes."""
    path = Path(tempfile.mkdtemp()) / name
    path.write_bytes("\n".join(lines).encode() + b"\n" + raw)
    return path


_expr_piece = st.sampled_from(
    ["days", "+", "-", "*", "/", "(", ")", "1", "'x'", "CASE", "WHEN", "THEN", "END", "NOT",
     "max(days) OVER ()", "read_csv('x')", "getenv('HOME')", ";", "SELECT", "::INT", ",", "AND"]
)  # fmt: skip


@FUZZ
@given(parts=st.lists(_expr_piece, min_size=1, max_size=14), depth=st.integers(0, 80))
def test_the_expression_checker_never_crashes(parts, depth):
    from netpersona.customers._expr import check_expression

    text = "(" * depth + " ".join(parts) + ")" * depth
    _ok_or_declared(lambda: check_expression(text))


@settings(max_examples=300, deadline=None)
@given(url=st.text(max_size=40) | _line)
def test_site_of_url_never_raises(url):
    from netpersona.io import site_of_url

    site = site_of_url(url)
    assert site is None or (isinstance(site, str) and site == site.strip())


@pytest.mark.parametrize("bound", ["", "2024-13-01", "99999-01-01", "now", "2024-05-01T25:00"])
def test_a_bad_time_bound_is_a_config_error(bound):
    from netpersona import ConfigError
    from netpersona.io import LogMapping

    with pytest.raises(ConfigError, match="--max-time"):
        LogMapping(max_time=bound)


_config_piece = st.sampled_from(
    ["[mappings.default]", "[mappings.x]", "[mappings]", "[rejoin]", "[devices]", "[customers]",
     "[commands.rejoin.index]", "[other]", 'user_col = "msisdn"', "user_col = 3",
     'sep = "tab"', 'sep = "ab"', 'time_unit = "ms"', 'time_unit = "days"', "columns = [1, 2]",
     'columns = ["a", "b"]', 'timezone = "Nowhere/City"', "jaccard_min = 0.5",
     "jaccard_min = -7", 'jaccard_min = "x"', "ensemble = 0", "mappings = 1", "= =", "x = {",
     '"\\xff"', "a.b.c = 1"]
)  # fmt: skip


@FUZZ
@given(lines=st.lists(_config_piece, max_size=12), raw=st.binary(max_size=8))
def test_the_configuration_file_reader_never_crashes(lines, raw):
    """netpersona.toml as the command line reads it: its mappings made into LogMappings."""
    from netpersona.cli._config import TABLES
    from netpersona.io import ConfigFile

    path = _toml_file("netpersona.toml", lines, raw)

    def read() -> None:
        config = ConfigFile.read(path, TABLES)
        for name in config.mappings:
            config.mapping(name)

    _ok_or_declared(read)
