"""``--out`` as a database table (issue #17): ``duckdb:///f.db?table=t``, ``sqlite:///f.db?table=t``
and ``postgresql://...?table=t`` hold what the CSV would, column types and all; an existing
table is refused without ``--force``; the table is replaced in one transaction, so a failure
or a kill leaves the old table whole; names are checked and quoted; passwords never shown."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_run import run
from netpersona._core import (
    OutputExistsError,
    ResourceError,
    UsageError,
    _table_db,
    table_format,
    write_table_file,
)
from shared_data import postgres_or_skip, shared_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKETING_SYSTEM = os.path.join(ROOT, "examples", "customers", "marketing_campaign.toml")
KINDS = ["duckdb", "sqlite"]


def url(kind: str, db, table: str = "t") -> str:
    """``duckdb:////abs/f.db?table=t`` (four slashes: an absolute path)."""
    return f"{kind}:///{db}?table={table}"


def read(kind: str, db, table: str = "t") -> pd.DataFrame:
    if kind == "duckdb":
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(f'SELECT * FROM "{table}"').df()
    with sqlite3.connect(db) as con:
        return pd.read_sql_query(f'SELECT * FROM "{table}"', con)


def tables(kind: str, db) -> list[str]:
    if kind == "duckdb":
        with duckdb.connect(str(db), read_only=True) as con:
            return sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())
    with sqlite3.connect(db) as con:
        return sorted(r[0] for r in con.execute("SELECT name FROM sqlite_master").fetchall())


def column_types(kind: str, db, table: str = "t") -> dict[str, str]:
    if kind == "duckdb":
        with duckdb.connect(str(db), read_only=True) as con:
            return {r[0]: r[1] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
    with sqlite3.connect(db) as con:
        return {r[1]: r[2] for r in con.execute(f'PRAGMA table_info("{table}")').fetchall()}


def same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """The table read back equals the CSV the same command writes (NULL where CSV is empty)."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for column in want.columns:
        a, b = got[column], want[column]
        if pd.api.types.is_float_dtype(b):
            assert a.astype(float).round(6).tolist() == pytest.approx(
                b.round(6).tolist(), nan_ok=True
            )
        else:
            assert (
                a.astype(str).where(a.notna(), "").tolist()
                == b.astype(str).where(b.notna(), "").tolist()
            ), column


# -- customers ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def customers(tmp_path_factory):
    """Synthetic questionnaires, a model trained on them and its tiers as CSV."""
    work = tmp_path_factory.mktemp("customers")
    answers = work / "answers.csv"
    assert run_ok("synth", "customers", "--out", answers, "--n", "200", "--seed", "4")
    assert run_ok("customers", "run", "--data", answers, "--model", work / "model",
                  "--out", work / "tiers.csv")  # fmt: skip
    return work, answers, work / "model"


def run_ok(*args) -> str:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from netpersona.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as done:
            assert done.code in (0, None), err.getvalue()
    return out.getvalue() + err.getvalue() or "ok"


@pytest.mark.parametrize("kind", KINDS)
def test_customer_tiers_round_trip_through_a_database(capsys, customers, tmp_path, kind):
    work, answers, model = customers
    db = tmp_path / "out.db"
    target = url(kind, db, "tiers")
    code, out, err = run(capsys, "customers", "predict", "--model", str(model), "--data",
                         str(answers), "--out", target)  # fmt: skip
    assert code == 0 and f"wrote{target}" in "".join((out + err).split())
    want = pd.read_csv(work / "tiers.csv")[["customer", "K", "tier"]]
    got = read(kind, db, "tiers")
    assert len(got) == 200 and sorted(set(got["tier"])) == sorted(set(want["tier"]))
    same_rows(got[["customer", "K", "tier"]].astype({"customer": str}),
              want.astype({"customer": str}))  # fmt: skip
    types = column_types(kind, db, "tiers")
    assert types["K"] == ("DOUBLE" if kind == "duckdb" else "REAL")
    assert types["tier"] == ("VARCHAR" if kind == "duckdb" else "TEXT")
    assert tables(kind, db) == ["tiers"]  # no temporary table left behind


def test_customers_run_writes_its_tiers_to_a_table_and_refuses_it_before_training(
    capsys, customers, tmp_path
):
    work, answers, _ = customers
    db = tmp_path / "out.duckdb"
    target = url("duckdb", db, "tiers")
    code, _, err = run(capsys, "customers", "run", "--data", str(answers), "--out", target)
    assert code == 0, err
    same_rows(read("duckdb", db, "tiers"), pd.read_csv(work / "tiers.csv"))
    assert column_types("duckdb", db, "tiers")["pre_class"] == "BIGINT"
    # again without --force: refused at once (exit 2), before the network is trained
    code, _, err = run(capsys, "customers", "run", "--data", str(answers), "--out", target,
                       "--model", str(tmp_path / "m2"))  # fmt: skip
    assert code == 2 and "--force" in err and 'table "tiers"' in " ".join(err.split())
    assert not (tmp_path / "m2").exists()


def test_real_customer_scores_into_duckdb_equal_the_csv(capsys, tmp_path):
    data = shared_file("customers/marketing_campaign.tsv")
    csv, db = tmp_path / "scores.csv", tmp_path / "scores.duckdb"
    for out in (str(csv), url("duckdb", db, "scores")):
        code, _, err = run(capsys, "customers", "score", "--data", str(data), "--system",
                           MARKETING_SYSTEM, "--out", out)  # fmt: skip
        assert code == 0, err
    got, want = read("duckdb", db, "scores"), pd.read_csv(csv)
    assert len(got) == 2240
    same_rows(got.astype({"customer": str}), want.astype({"customer": str}))


# -- devices predict ------------------------------------------------------------------------
def test_device_tiers_round_trip_through_duckdb(capsys, tmp_path):
    d, f, m = tmp_path / "d", tmp_path / "f.parquet", tmp_path / "m"
    run_ok("synth", "device-reports", "--users", "60", "--month", "2024-05", "--seed", "2",
           "--out", d)  # fmt: skip
    run_ok("devices", "features", "--reports", d / "reports.jsonl.gz", "--purchases",
           d / "purchases.csv", "--month", "2024-05", "--out", f)  # fmt: skip
    run_ok("devices", "train", "--features", f, "--labels", d / "labels.csv", "--model", m,
           "--epochs", "200")  # fmt: skip
    db = tmp_path / "tiers.duckdb"
    for out in (tmp_path / "tiers.csv", url("duckdb", db, "tiers")):
        code, _, err = run(capsys, "devices", "predict", "--model", str(m), "--features", str(f),
                           "--out", str(out))  # fmt: skip
        assert code == 0, err
    want = pd.read_csv(tmp_path / "tiers.csv", dtype={"user": str})
    got = read("duckdb", db, "tiers")
    same_rows(got, want)
    types = column_types("duckdb", db, "tiers")
    assert types["out_of_range"] == "VARCHAR" and types["p_vip"] == "DOUBLE"


@pytest.mark.parametrize("kind", KINDS)
def test_column_types_and_values_survive(tmp_path, kind):
    import datetime as dt

    table = pa.table({
        "user": pa.array(["177****3461", None]).dictionary_encode(), "n": pa.array([3, None]),
        "ok": [True, False], "at": [dt.datetime(2024, 5, 1, 10, 30), None],
        "day": [dt.date(2024, 5, 1), dt.date(2024, 5, 31)], "x": [0.25, float("nan")],
    })  # fmt: skip
    db = tmp_path / "o.db"
    write_table_file(table, url(kind, db))
    types = column_types(kind, db)
    if kind == "duckdb":
        assert types == {"user": "VARCHAR", "n": "BIGINT", "ok": "BOOLEAN", "at": "TIMESTAMP",
                         "day": "DATE", "x": "DOUBLE"}  # fmt: skip
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute('SELECT * FROM "t"').fetchall()
        assert rows[0] == ("177****3461", 3, True, dt.datetime(2024, 5, 1, 10, 30),
                           dt.date(2024, 5, 1), 0.25)  # fmt: skip
        assert rows[1][:5] == (None, None, False, None, dt.date(2024, 5, 31))
    else:
        assert types == {"user": "TEXT", "n": "INTEGER", "ok": "INTEGER", "at": "TEXT",
                         "day": "TEXT", "x": "REAL"}  # fmt: skip
        with sqlite3.connect(db) as con:
            rows = con.execute('SELECT * FROM "t"').fetchall()
        assert rows == [("177****3461", 3, 1, "2024-05-01 10:30:00", "2024-05-01", 0.25),
                        (None, None, 0, None, "2024-05-31", None)]  # fmt: skip


# -- rejoin identify ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def access_logs(tmp_path_factory):
    """A synthetic log split in time: library (first half) and queries (second half), and the
    MATCHES the identification writes as CSV."""
    work = tmp_path_factory.mktemp("logs")
    log = work / "log.parquet"
    run_ok("synth", "access-logs", "--users", "12", "--days", "8", "--seed", "2", "--out", log)
    table = pq.read_table(log).to_pandas()
    middle = table["ts"].min() + (table["ts"].max() - table["ts"].min()) / 2
    table[table["ts"] < middle].to_csv(work / "library.csv", index=False)
    queries = table[table["ts"] >= middle]
    stranger = queries[queries["user_id"] == queries["user_id"].iloc[0]].assign(
        user_id="19900000000", url="http://nowhere.example/a"
    )  # a query user with no candidate: its rank-0 row has NULLs
    pd.concat([queries, stranger]).to_csv(work / "queries.csv", index=False)
    run_ok(*identify_args(work, work / "matches.csv"))
    return work


def identify_args(work, out) -> list[str]:
    return ["rejoin", "identify", "--queries", str(work / "queries.csv"), "--library",
            str(work / "library.csv"), "--top-k", "2", "--out", str(out)]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_identify_matches_round_trip_through_a_database(capsys, access_logs, tmp_path, kind):
    db = tmp_path / "m.db"
    code, _, err = run(capsys, *identify_args(access_logs, url(kind, db, "matches")))
    assert code == 0, err
    want = pd.read_csv(access_logs / "matches.csv", dtype={"query_user": str, "library_user": str})
    got = read(kind, db, "matches")
    assert len(want) >= 13 and set(want["decision"]) >= {"match", "new"}
    assert want["library_user"].isna().any() and got["library_user"].isna().any()
    same_rows(got, want)
    types = column_types(kind, db, "matches")
    assert types["rank"] == ("BIGINT" if kind == "duckdb" else "INTEGER")
    assert types["score"] == ("DOUBLE" if kind == "duckdb" else "REAL")
    code, _, err = run(capsys, *identify_args(access_logs, url(kind, db, "matches")))
    assert code == 2 and "--force" in err  # refused before reading the logs


def test_a_spark_run_writes_a_database_url_like_duckdb_does(tmp_path):
    """On an engine that writes paths itself, a database URL still goes to the table writer
    (the matches are in memory already), not to a Parquet directory named like the URL."""
    from netpersona.rejoin._identify import write_matches_csv
    from netpersona.rejoin._library_build import write_table

    class Distributed:
        distributed = True

        def register_arrow(self, *_):
            raise AssertionError("a database URL was handed to the engine's path writer")

    from netpersona.rejoin import MATCH_SCHEMA

    db = tmp_path / "m.db"
    full = pa.Table.from_pylist([{"query_user": "q1", "decision": "new", "rank": 0}], MATCH_SCHEMA)
    out = write_table(Distributed(), full, url("sqlite", db), False, write_matches_csv)
    assert out == url("sqlite", db)
    assert read("sqlite", db)[["query_user", "decision", "rank"]].values.tolist() == [
        ["q1", "new", 0]
    ]
    assert not (tmp_path / "sqlite:").exists()


# -- replacing: --force, failures, kills ----------------------------------------------------
OLD = pa.table({"user": ["177****3461", "135****0001"], "K": [0.82, 0.11]})
NEW = pa.table({"user": ["188****2222"], "K": [0.5], "tier": ["B"]})


@pytest.mark.parametrize("kind", KINDS)
def test_force_replaces_the_table_and_nothing_else(tmp_path, kind):
    db = tmp_path / "o.db"
    write_table_file(OLD, url(kind, db, "keep"))
    write_table_file(OLD, url(kind, db))
    with pytest.raises(OutputExistsError, match="--force"):
        write_table_file(NEW, url(kind, db))
    assert read(kind, db)["user"].tolist() == ["177****3461", "135****0001"]
    write_table_file(NEW, url(kind, db), force=True)
    assert read(kind, db).values.tolist() == [["188****2222", 0.5, "B"]]
    assert tables(kind, db) == ["keep", "t"]
    assert len(read(kind, db, "keep")) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_failure_after_the_new_table_is_filled_leaves_the_old_one_whole(
    tmp_path, monkeypatch, kind
):
    db = tmp_path / "o.db"
    write_table_file(OLD, url(kind, db))
    filled = []

    def swap_then_fail(con, target, new, exists):
        filled.append(con.execute(f'SELECT count(*) FROM "{new}"').fetchone()[0])
        con.execute(f'DROP TABLE "{target.table}"')  # halfway through the swap
        raise RuntimeError("killed midway")

    monkeypatch.setattr(_table_db, "_swap", swap_then_fail)
    with pytest.raises(RuntimeError, match="killed midway"):
        write_table_file(NEW, url(kind, db), force=True)
    assert filled == [1]
    assert read(kind, db).values.tolist() == OLD.to_pandas().values.tolist()
    assert tables(kind, db) == ["t"]  # the temporary table went with the rollback


@pytest.mark.parametrize("kind", KINDS)
def test_a_kill_after_the_swap_but_before_the_commit_leaves_the_old_table(tmp_path, kind):
    """A real SIGKILL once the old table is dropped and the new one renamed into its place,
    before the commit: the database, opened again, has the old table and nothing else."""
    db = tmp_path / "o.db"
    write_table_file(OLD, url(kind, db))
    script = textwrap.dedent(f"""
        import os, signal, pyarrow as pa
        from netpersona._core import _table_db, write_table_file
        swap = _table_db._swap
        def swap_then_die(*args):
            swap(*args)
            os.kill(os.getpid(), signal.SIGKILL)
        _table_db._swap = swap_then_die
        write_table_file(pa.table({{"user": ["x"]}}), {url(kind, db)!r}, force=True)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert read(kind, db).values.tolist() == OLD.to_pandas().values.tolist()
    assert tables(kind, db) == ["t"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_first_write_that_fails_leaves_no_table(tmp_path, monkeypatch, kind):
    db = tmp_path / "o.db"

    def fail(*_):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(_table_db, "_swap", fail)
    with pytest.raises(RuntimeError):
        write_table_file(NEW, url(kind, db))
    assert tables(kind, db) == []


# -- names, forms and passwords -------------------------------------------------------------
@pytest.mark.parametrize(
    "table",
    ['t"; DROP TABLE keep; --', "t%22%3B%20DROP%20TABLE%20keep", "t;x", "1t", "", "a.b", "x" * 64,
     "t&table=u", "t'", "ünï"],
)  # fmt: skip
def test_a_table_name_that_is_not_a_plain_name_is_refused_before_any_work(
    capsys, customers, tmp_path, table
):
    db = tmp_path / "o.db"
    write_table_file(OLD, url("sqlite", db, "keep"))
    target = url("sqlite", db, table)
    with pytest.raises(UsageError, match="--out"):
        table_format(target)
    _, answers, _ = customers
    code, _, err = run(capsys, "customers", "score", "--data", str(answers), "--out", target)
    assert code == 2 and "--out" in err
    assert tables("sqlite", db) == ["keep"] and len(read("sqlite", db, "keep")) == 2


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("duckdb://f.db?table=t", "duckdb:///relative/file.db"),
        ("sqlite:///f.db?table=t&mode=rw", "nothing else"),
        ("sqlite:///?table=t", "name the sqlite database file"),
        ("postgresql://u:s3cret@h/db", "?table=NAME"),
        ("mysql://u:s3cret@h/db?table=t", "duckdb:///f.db?table=t"),
    ],
)
def test_a_malformed_url_is_a_usage_error_that_says_the_form(monkeypatch, tmp_path, target, says):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as err:
        table_format(target)
    assert says in str(err.value) and "s3cret" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_server_is_an_environment_error_with_the_password_masked(capsys, customers):
    _, answers, _ = customers
    target = "postgresql://ana:s3cret%21@127.0.0.1:1/crm?table=tiers"
    code, out, err = run(capsys, "customers", "score", "--data", str(answers), "--out", target)
    assert code == 4
    assert "s3cret" not in out + err
    assert "postgresql://ana:***@127.0.0.1:1/crm?table=tiers" in " ".join(err.split())


def test_a_duckdb_file_held_by_another_process_is_an_environment_error_with_a_hint(
    customers, tmp_path
):
    _, answers, _ = customers
    db = tmp_path / "held.duckdb"
    holder = duckdb.connect(str(db))
    holder.execute("CREATE TABLE keep AS SELECT 1 AS a")
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        done = subprocess.run(
            [sys.executable, "-m", "netpersona", "customers", "score", "--data", str(answers),
             "--out", url("duckdb", db, "scores")],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
    finally:
        holder.close()
    assert done.returncode == 4, done.stderr
    assert "another connection holds this DuckDB file" in " ".join(done.stderr.split())
    assert tables("duckdb", db) == ["keep"]


def test_the_help_lists_every_output_form(capsys):
    for command in (["customers", "run"], ["devices", "predict"], ["rejoin", "identify"]):
        code, out, _ = run(capsys, *command, "--help")
        flat = "".join(out.replace("│", " ").split())
        assert code == 0 and "sqlite:///f.db?table=t" in flat and "postgresql://" in flat


# -- PostgreSQL -----------------------------------------------------------------------------
@pytest.fixture
def postgres():
    address, con = postgres_or_skip()
    schema = f"np_test_{uuid.uuid4().hex[:8]}"
    con.execute(f"CREATE SCHEMA {schema}")
    try:
        yield address, con, schema
    finally:
        con.execute(f"DROP SCHEMA {schema} CASCADE")
        con.close()


def pg_url(address: str, table: str) -> str:
    return f"{address}{'&' if '?' in address else '?'}table={table}"


@pytest.mark.postgres
def test_postgresql_round_trip_refusal_force_and_failure(
    postgres, capsys, access_logs, monkeypatch
):
    address, con, schema = postgres
    target = pg_url(address, f"{schema}.matches")
    code, out, err = run(capsys, *identify_args(access_logs, target))
    assert code == 0, err
    password = address.split("://", 1)[1].split("@")[0].partition(":")[2]
    if password:  # the URL is shown, its password never (the CI's equals its user name)
        shown = "".join((out + err).split())
        assert f":{password}@" not in shown and ":***@" in shown
    want = pd.read_csv(access_logs / "matches.csv", dtype={"query_user": str, "library_user": str})
    rows = con.execute(f"SELECT * FROM {schema}.matches").fetchall()
    columns = [c.name for c in con.execute(f"SELECT * FROM {schema}.matches LIMIT 0").description]
    same_rows(pd.DataFrame(rows, columns=columns), want)
    types = dict(con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = 'matches'", [schema]).fetchall())  # fmt: skip
    assert types["rank"] == "bigint" and types["score"] == "double precision"
    assert types["decision"] == "text"
    code, _, err = run(capsys, *identify_args(access_logs, target))
    assert code == 2 and "--force" in err
    # a failure after the new table is filled leaves the old one whole, and no stray table
    monkeypatch.setattr(_table_db, "_swap", lambda *_: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(RuntimeError):
        write_table_file(NEW, target, force=True)
    assert con.execute(f"SELECT count(*) FROM {schema}.matches").fetchone()[0] == len(want)
    monkeypatch.undo()
    write_table_file(NEW, target, force=True)
    assert con.execute(f"SELECT * FROM {schema}.matches").fetchall() == [("188****2222", 0.5, "B")]
    listed = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
    ).fetchall()
    assert listed == [("matches",)]


@pytest.mark.postgres
def test_postgresql_wrong_password_is_masked(postgres):
    address, _, schema = postgres
    head, _, tail = address.partition("://")
    user = tail.split("@")[0].split(":")[0]
    wrong = f"{head}://{user}:n0t-the-pw@{tail.split('@', 1)[1]}"
    with pytest.raises(ResourceError) as err:
        write_table_file(OLD, pg_url(wrong, f"{schema}.t"))
    assert "n0t-the-pw" not in str(err.value) and f"{user}:***@" in str(err.value)
