"""Every supported layout and option reads into the same canonical table."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_logs import rows, write_log

import netpersona
from netpersona.io import LogMapping, read_access_log

EXPECTED = [
    ("u1", "2013-11-04 08:15:00", "sina.com.cn"),
    ("u1", "2013-11-04 09:00:30", "example.co.uk"),
    ("u2", "2013-11-05 23:59:59", "10.0.0.1"),
]
CSV = (
    "user_id,ts,url\n"
    "u1,2013-11-04 08:15:00,http://m.news.sina.com.cn/x?y\n"
    "u1,2013-11-04T09:00:30,https://a.b.example.co.uk\n"
    "u2,2013-11-05 23:59:59,10.0.0.1:8080\n"
)


@pytest.mark.parametrize("name", ["log.csv", "log.csv.gz"])
def test_csv_with_header(tmp_path, engine, name):
    summary = read_access_log(write_log(tmp_path / name, CSV), engine=engine)
    assert (summary.rows, summary.rejected, summary.quarantine) == (3, 0, None)
    assert rows(engine) == EXPECTED


def test_canonical_table_has_exactly_the_three_typed_columns(tmp_path, engine):
    read_access_log(write_log(tmp_path / "log.csv", CSV), engine=engine, table="lib")
    schema = engine.fetch_arrow("DESCRIBE lib").to_pylist()
    assert [(c["column_name"], c["column_type"]) for c in schema] == [
        ("user_id", "VARCHAR"),
        ("ts", "TIMESTAMP"),
        ("site", "VARCHAR"),
    ]


@pytest.mark.parametrize("name", ["log.tsv", "log.tsv.gz"])
def test_tsv(tmp_path, engine, name):
    read_access_log(write_log(tmp_path / name, CSV.replace(",", "\t")), engine=engine)
    assert rows(engine) == EXPECTED


@pytest.mark.parametrize("name", ["log.txt", "log.txt.gz"])
def test_space_separated_without_header(tmp_path, engine, name):
    text = "\n".join(" ".join(line.split(",")[::-1]) for line in CSV.splitlines()[1:]) + "\n"
    text = text.replace("2013-11-04 08:15:00", "2013-11-04T08:15:00").replace(
        "2013-11-05 23:59:59", "2013-11-05T23:59:59"
    )
    mapping = LogMapping(no_header=True, columns=("url", "ts", "user_id"))
    read_access_log(write_log(tmp_path / name, text), mapping, engine)
    assert rows(engine) == EXPECTED


def test_explicit_separator(tmp_path, engine):
    read_access_log(
        write_log(tmp_path / "log.dat", CSV.replace(",", ";")), LogMapping(sep=";"), engine
    )
    assert rows(engine) == EXPECTED


@pytest.mark.parametrize("name", ["log.jsonl", "log.ndjson.gz"])
def test_json_lines(tmp_path, engine, name):
    records = [
        dict(zip(("user_id", "ts", "url"), line.split(","), strict=True))
        for line in CSV.splitlines()[1:]
    ]
    records[2]["extra"] = {"nested": [1, 2]}
    text = "\n".join(json.dumps(r) for r in records) + "\n"
    read_access_log(write_log(tmp_path / name, text), engine=engine)
    assert rows(engine) == EXPECTED


def _parquet(path, **columns):
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_with_string_times(tmp_path, engine):
    users, times, urls = zip(*(line.split(",") for line in CSV.splitlines()[1:]), strict=True)
    path = _parquet(tmp_path / "log.parquet", user_id=list(users), ts=list(times), url=list(urls))
    read_access_log(path, engine=engine)
    assert rows(engine) == EXPECTED


def test_parquet_with_native_timestamps_and_integer_users(tmp_path, engine):
    import datetime as dt

    path = _parquet(
        tmp_path / "log.parquet",
        user=[17712343461, 17712343461],
        t=pa.array([dt.datetime(2013, 11, 4, 8, 15), dt.datetime(2013, 11, 4, 23, 0)]),
        host=["a.example.com", "b.example.com"],
    )
    mapping = LogMapping(user_col="user", time_col="t", url_col="host")
    read_access_log(path, mapping, engine)
    assert rows(engine) == [
        ("17712343461", "2013-11-04 08:15:00", "example.com"),
        ("17712343461", "2013-11-04 23:00:00", "example.com"),
    ]


def test_parquet_epoch_numbers_need_a_time_unit(tmp_path, engine):
    path = _parquet(tmp_path / "log.parquet", user_id=["a"], ts=[1383552900], url=["x.com"])
    with pytest.raises(netpersona.InputError, match="--time-unit"):
        read_access_log(path, engine=engine)
    read_access_log(path, LogMapping(time_unit="s"), engine)
    assert rows(engine) == [("a", "2013-11-04 08:15:00", "x.com")]


@pytest.mark.parametrize(
    ("unit", "value"), [("s", "1383552900"), ("s", "1383552900.5"), ("ms", "1383552900000")]
)
def test_epoch_times(tmp_path, engine, unit, value):
    path = write_log(tmp_path / "log.csv", f"user_id,ts,url\na,{value},x.com\n")
    read_access_log(path, LogMapping(time_unit=unit), engine)
    expected = "2013-11-04 08:15:00.500000" if value.endswith(".5") else "2013-11-04 08:15:00"
    assert rows(engine) == [("a", expected, "x.com")]


def test_timezone_converts_instants_and_keeps_local_wall_times(tmp_path, engine):
    # epoch numbers and ISO times with an offset are instants: shown in the subscriber's zone;
    # an ISO time without an offset is already the local wall-clock time
    text = (
        "user_id,ts,url\n"
        "a,2013-11-04T00:30:00Z,x.com\n"
        "b,2013-11-04T08:30:00+08:00,x.com\n"
        "c,2013-11-04 08:30:00,x.com\n"
    )
    read_access_log(
        write_log(tmp_path / "log.csv", text), LogMapping(timezone="Asia/Shanghai"), engine
    )
    assert rows(engine) == [
        ("a", "2013-11-04 08:30:00", "x.com"),
        ("b", "2013-11-04 08:30:00", "x.com"),
        ("c", "2013-11-04 08:30:00", "x.com"),
    ]
    epoch = write_log(tmp_path / "epoch.csv", "user_id,ts,url\na,1383525000,x.com\n")
    read_access_log(epoch, LogMapping(time_unit="s", timezone="America/Los_Angeles"), engine)
    assert rows(engine) == [("a", "2013-11-03 16:30:00", "x.com")]  # 00:30 UTC = 16:30 PST
    read_access_log(write_log(tmp_path / "log.csv", text), engine=engine)  # UTC
    assert [r[1] for r in rows(engine)] == [
        "2013-11-04 00:30:00",
        "2013-11-04 00:30:00",
        "2013-11-04 08:30:00",
    ]
    # the session's own time zone setting is left as it was
    assert engine.fetch_scalar("SELECT current_setting('TimeZone')") != "Asia/Shanghai"


def test_time_origin_for_seconds_from_the_start(tmp_path, engine):
    path = write_log(tmp_path / "log.txt", "1 8228 0\n2 8229 86400\n")
    mapping = LogMapping(
        no_header=True,
        columns=("user", "page", "t"),
        user_col="user",
        time_col="t",
        url_col=None,
        site_col="page",
        time_unit="s",
        time_origin="2004-04-15",
    )
    read_access_log(path, mapping, engine)
    assert rows(engine) == [
        ("1", "2004-04-15 00:00:00", "8228"),
        ("2", "2004-04-16 00:00:00", "8229"),
    ]


def test_site_column_is_taken_as_is(tmp_path, engine):
    path = write_log(
        tmp_path / "log.csv", "uid,when,domain,url\nu,2013-11-04 08:00:00,Abc123,http://q.com\n"
    )
    read_access_log(path, LogMapping(user_col="uid", time_col="when", site_col="domain"), engine)
    assert rows(engine) == [("u", "2013-11-04 08:00:00", "Abc123")]


def test_several_files_make_one_table_and_replace_it(tmp_path, engine):
    one = write_log(tmp_path / "one.csv", CSV)
    two = write_log(tmp_path / "two.csv.gz", "user_id,ts,url\nu3,2013-11-06 10:00:00,qq.com\n")
    summary = read_access_log([one, two], engine=engine)
    assert summary.rows == 4 and summary.files == (one, two)
    assert summary.by_file == {one: (3, 0), two: (1, 0)}
    read_access_log(two, engine=engine)  # CREATE OR REPLACE
    assert rows(engine) == [("u3", "2013-11-06 10:00:00", "qq.com")]


def test_missing_column_lists_the_columns_that_exist(tmp_path, engine):
    path = write_log(tmp_path / "log.csv", CSV)
    with pytest.raises(netpersona.ColumnNotFoundError) as error:
        read_access_log(path, LogMapping(user_col="msisdn"), engine)
    message = str(error.value)
    assert "'msisdn'" in message and "'user_id', 'ts', 'url'" in message and str(path) in message
    assert "--user-col" in message
    assert not engine.has_table("access_log")


def test_missing_json_key_lists_the_keys(tmp_path, engine):
    path = write_log(tmp_path / "log.jsonl", '{"uid": "a", "ts": "2013-11-04", "url": "x.com"}\n')
    with pytest.raises(netpersona.ColumnNotFoundError, match="'uid', 'ts', 'url'"):
        read_access_log(path, engine=engine)


def test_a_file_that_does_not_exist(tmp_path, engine):
    with pytest.raises(netpersona.InputError, match="no such file"):
        read_access_log(tmp_path / "absent.csv", engine=engine)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"no_header": True},
        {"time_unit": "h"},
        {"timezone": "Mars/Olympus"},
        {"max_bad_fraction": 2.0},
        {"url_col": None},
        {"sep": "::"},
        {"time_origin": "yesterday"},
    ],
)
def test_invalid_mappings_are_config_errors(kwargs):
    with pytest.raises(netpersona.ConfigError):
        LogMapping(**kwargs)


def test_windows_line_endings(tmp_path, engine):
    path = write_log(tmp_path / "log.csv", CSV.replace("\n", "\r\n") + "u9,never,x.com\r\n")
    summary = read_access_log(path, LogMapping(max_bad_fraction=0.5), engine)
    assert rows(engine) == EXPECTED
    lines = summary.quarantine.read_text().splitlines()
    assert lines[1].startswith("# run ") and lines[2] == f'{path},5,bad time,"u9,never,x.com"'


def test_other_engines_are_refused_clearly(tmp_path):
    class OtherEngine:
        dialect = "spark"

    with pytest.raises(netpersona.ConfigError, match="needs the DuckDB engine"):
        read_access_log(write_log(tmp_path / "log.csv", CSV), engine=OtherEngine())


@pytest.mark.parametrize(("zone", "local"), [("UTC", "00:30:00"), ("Asia/Shanghai", "08:30:00")])
def test_parquet_instants_are_shown_in_the_local_zone(tmp_path, engine, zone, local):
    import datetime as dt

    instant = dt.datetime(2013, 11, 4, 0, 30, tzinfo=dt.UTC)
    path = _parquet(tmp_path / "log.parquet", user_id=["a"], ts=pa.array([instant]), url=["x.com"])
    read_access_log(path, LogMapping(timezone=zone), engine)
    assert rows(engine) == [("a", f"2013-11-04 {local}", "x.com")]


# -- many files at once ---------------------------------------------------------------------------
def _daily_files(folder, n_files: int, kind: str) -> tuple[list, int]:
    """``n_files`` days of a log with 5,000 hosts, as CSV or Parquet files; (files, rows)."""
    import random

    rng, files, per_file = random.Random(0), [], 200
    for day in range(n_files):
        table = pa.table({
            "user_id": [f"u{rng.randrange(50)}" for _ in range(per_file)],
            "ts": [f"2024-01-{1 + day % 28:02d} 08:{j % 60:02d}:00" for j in range(per_file)],
            "url": [f"http://h{rng.randrange(5000)}.example.com/x" for _ in range(per_file)],
        })  # fmt: skip
        path = folder / f"day{day:03d}.{kind}"
        if kind == "parquet":
            table = table.set_column(1, "ts", table.column("ts").cast(pa.timestamp("us")))
            pq.write_table(table, path)
        else:
            path.write_text("user_id,ts,url\n" + "".join(
                f"{u},{t},{h}\n" for u, t, h in zip(*table.to_pydict().values(), strict=True)
            ))  # fmt: skip
        files.append(path)
    return files, n_files * per_file


@pytest.mark.parametrize("kind, in_place", [("csv", False), ("parquet", True)])
def test_a_hundred_files_at_once_fit_a_small_memory_limit(tmp_path, kind, in_place):
    """The files' rows meet the site map in one join, not one per file: with a hash table per
    file, 100 days of 5,000 hosts outgrew a 100MB limit (an `add-day` of 120 days' files
    did the same under 3.2 GiB)."""
    from netpersona.engine import DuckDBEngine

    files, n_rows = _daily_files(tmp_path, 100, kind)
    with DuckDBEngine(threads=2, memory_limit="100MB", temp_directory=tmp_path / "t") as engine:
        summary = read_access_log(files, engine=engine, table="log", in_place=in_place)
        assert (summary.rows, summary.rejected) == (n_rows, 0)
        assert engine.fetch_scalar("SELECT count(*) FROM log") == n_rows
        days = engine.fetch_scalar("SELECT count(DISTINCT CAST(ts AS DATE)) FROM log")
        assert days == 28
