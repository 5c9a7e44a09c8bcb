"""Memory and temporary-disk limits: validated, honoured by every DuckDB the process opens, and
a run too big for them stops with netpersona's clear error (never a DuckDB traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netpersona._core import (
    ConfigError,
    ResourceLimitError,
    TempSpaceError,
    memory_limit_sql,
    parse_size,
    resource_error,
    resource_limits,
    set_resource_limits,
    temp_budget,
)
from netpersona.engine import DuckDBEngine, Workspace

#: a sort far bigger than a 20 MB memory limit: it must spill
_BIG_SORT = (
    "SELECT count(*) FROM (SELECT i, hash(i) AS h FROM range(6000000) AS t(i) ORDER BY h) AS s"
)


@pytest.fixture(autouse=True)
def _fresh_limits(monkeypatch):
    for variable in ("NETPERSONA_MEMORY_LIMIT", "NETPERSONA_TEMP_DIR", "NETPERSONA_MAX_TEMP_SIZE"):
        monkeypatch.delenv(variable, raising=False)
    set_resource_limits()
    yield
    set_resource_limits()


def _setting(engine, name: str) -> str:
    return engine.fetch_scalar(f"SELECT current_setting('{name}')")


# -- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3GB", 3 * 10**9), ("3 gb", 3 * 10**9), ("2GiB", 2 * 2**30), ("1.5MB", 1_500_000),
     ("512KiB", 512 * 1024), ("7G", 7 * 10**9), ("100bytes", 100)],
)  # fmt: skip
def test_sizes_are_read_as_duckdb_reads_them(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["", "3", "GB", "3XB", "1GB'; DROP TABLE t; --", "-1GB", "3 G B"])
def test_a_bad_memory_limit_is_refused_naming_the_flag(bad):
    with pytest.raises(ConfigError, match="--memory-limit") as caught:
        memory_limit_sql(bad)
    assert "e.g. 3GB" in str(caught.value) or "percentage" in str(caught.value)


def test_percentages_and_the_minimum():
    assert memory_limit_sql("75%") == "75%"
    with pytest.raises(ConfigError, match="between 0 and 100"):
        memory_limit_sql("120%")
    with pytest.raises(ConfigError, match="too small"):
        memory_limit_sql("1MB")


@given(st.integers(min_value=16, max_value=10**6), st.sampled_from(["MB", "MiB", "GB", "GiB"]))
def test_any_valid_limit_becomes_digits_and_a_unit(number, unit):
    sql = memory_limit_sql(f"{number}{unit}")
    assert sql.endswith("B") and sql[:-1].isdigit()
    assert int(sql[:-1]) == parse_size(f"{number}{unit}")


def test_an_injected_limit_never_reaches_duckdb():
    with pytest.raises(ConfigError):
        DuckDBEngine(memory_limit="1GB'; CREATE TABLE pwned AS SELECT 1; --")


# -- honoured everywhere --------------------------------------------------------------------


def test_process_limits_reach_engines_workspaces_and_readers(tmp_path):
    set_resource_limits(memory_limit="300MB", temp_dir=tmp_path / "spill", max_temp_size="2GB")
    path = tmp_path / "w.duckdb"
    with Workspace.rebuild(path) as ws:
        ws.execute("CREATE TABLE t AS SELECT 1 AS x")
        assert _setting(ws, "memory_limit") == "286.1 MiB"  # 300 MB, as DuckDB shows it
        assert Path(ws.temp_directory).parent == tmp_path / "spill"
    for engine in (DuckDBEngine(), Workspace.reader(path)):
        with engine:
            assert _setting(engine, "memory_limit") == "286.1 MiB"
            assert _setting(engine, "temp_directory") == engine.temp_directory
            assert Path(engine.temp_directory).parent == tmp_path / "spill"
            assert engine.temp_limit <= 2 * 10**9
            assert _setting(engine, "max_temp_directory_size") != "90% of available disk space"
    assert list((tmp_path / "spill").iterdir()) == []  # private folders removed on close


def test_explicit_arguments_win_over_the_process_limits():
    set_resource_limits(memory_limit="300MB")
    with DuckDBEngine(memory_limit="500MB") as engine:
        assert _setting(engine, "memory_limit") == "476.8 MiB"


def test_the_environment_gives_the_limits(monkeypatch, tmp_path):
    monkeypatch.setenv("NETPERSONA_MEMORY_LIMIT", "400MB")
    monkeypatch.setenv("NETPERSONA_TEMP_DIR", str(tmp_path))
    assert resource_limits().memory_limit == "400000000B"
    with DuckDBEngine() as engine:
        assert _setting(engine, "memory_limit") == "381.4 MiB"
        assert Path(engine.temp_directory).parent == tmp_path
    monkeypatch.setenv("NETPERSONA_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match="NETPERSONA_MEMORY_LIMIT='lots'"):
        resource_limits()
    monkeypatch.delenv("NETPERSONA_MEMORY_LIMIT")


def test_a_workspace_spills_beside_its_file_by_default(tmp_path):
    with Workspace(tmp_path / "w.duckdb") as ws:
        assert ws.temp_directory == str(tmp_path / "w.duckdb.tmp")


def test_the_spill_never_exceeds_the_free_disk(tmp_path):
    import shutil

    free = shutil.disk_usage(tmp_path).free
    assert 0 < temp_budget(tmp_path) < free
    assert temp_budget(tmp_path, cap=1000) == 1000
    assert temp_budget(tmp_path / "not" / "yet") == temp_budget(tmp_path)


# -- a run too big stops with a clear error -------------------------------------------------


def test_a_tiny_temp_limit_stops_the_run_naming_the_folder_and_the_space(tmp_path):
    set_resource_limits(temp_dir=tmp_path, max_temp_size="4MB")
    with DuckDBEngine(threads=1, memory_limit="24MB") as engine:
        with pytest.raises(ResourceLimitError) as caught:
            engine.fetch_scalar(_BIG_SORT)
        folder = engine.temp_directory
    message = str(caught.value)
    assert folder in message and "hint:" in message
    assert "Traceback" not in message and "Out of Memory Error:" not in message
    if isinstance(caught.value, TempSpaceError):
        assert caught.value.folder == folder
        assert caught.value.needed > caught.value.limit
        assert "and needed" in message


def test_duckdbs_temp_size_message_is_read_for_the_space_needed():
    duck = Exception(
        "Out of Memory Error: failed to offload data block of size 256.0 KiB "
        "(18.8 MiB/19.0 MiB used).\nThis limit was set by the 'max_temp_directory_size' setting."
    )
    clear = resource_error(duck, temp_dir="/big/tmp", memory_limit="20000000B", temp_limit=None)
    assert isinstance(clear, TempSpaceError)
    assert clear.folder == "/big/tmp"
    assert clear.limit == int(19.0 * 2**20)
    assert clear.needed == int(18.8 * 2**20) + 256 * 1024
    assert "/big/tmp" in str(clear) and "limited to 19.0 MiB" in str(clear)
    assert "had spilled 18.8 MiB and needed 256.0 KiB more" in str(clear)


def test_a_full_disk_and_other_errors():
    full = resource_error(OSError("IO Error: No space left on device"), temp_dir="/t",
                          memory_limit=None, temp_limit=5)  # fmt: skip
    assert isinstance(full, TempSpaceError) and "disk is full" in str(full)
    other = resource_error(Exception("Binder Error: no column x"), temp_dir="/t",
                           memory_limit=None, temp_limit=5)  # fmt: skip
    assert other is None


def test_the_cli_stops_with_the_clear_error_and_no_traceback(tmp_path):
    from netpersona.synth import write_access_logs

    access_log_path = tmp_path / "log.parquet"
    write_access_logs(access_log_path, 200, 10, seed=0)
    env = {**os.environ, "NETPERSONA_TEMP_DIR": str(tmp_path / "spill")}
    done = subprocess.run(
        [sys.executable, "-m", "netpersona", "--memory-limit", "20MB", "--max-temp-size",
         "1MB", "rejoin", "index", str(access_log_path), "--workspace", str(tmp_path / "w.duckdb")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "error:" in done.stderr and str(tmp_path / "spill") in done.stderr.replace("\n", "")
    assert not (tmp_path / "w.duckdb").exists()  # nothing half-built left as the workspace


def test_the_flags_set_the_process_limits(tmp_path):
    from typer.testing import CliRunner

    from netpersona.cli import app

    result = CliRunner().invoke(app, ["--memory-limit", "2GB", "--max-temp-size", "5GB",
                                      "logs", "--help"])  # fmt: skip
    assert result.exit_code == 0
    limits = resource_limits()
    assert limits.memory_limit == "2000000000B" and limits.max_temp_size == 5 * 10**9
    result = CliRunner().invoke(app, ["--memory-limit", "2 bananas", "logs", "--help"])
    assert result.exit_code != 0


def test_an_engine_commands_own_flags_set_the_limits_too(tmp_path):
    from typer.testing import CliRunner

    from netpersona.cli import app

    log, ws = str(tmp_path / "missing.parquet"), str(tmp_path / "w.duckdb")
    flags = ["--memory-limit", "1GB", "--temp-dir", str(tmp_path)]
    result = CliRunner().invoke(app, ["rejoin", "index", log, "--workspace", ws, *flags])
    assert result.exit_code != 0  # the file is missing; the flags were read before that
    limits = resource_limits()
    assert limits.memory_limit == "1000000000B" and limits.temp_dir == str(tmp_path)


# -- lending the engine's memory while arrays are held -------------------------------------------
def _duckdb_bytes(engine) -> int:
    return int(engine.fetch_scalar("SELECT sum(memory_usage_bytes) FROM duckdb_memory()"))


def test_lend_memory_gives_duckdbs_memory_back_and_restores_its_limit(tmp_path):
    """Inside ``lend_memory`` DuckDB holds at most the share kept (its in-memory tables go to
    the temporary folder), the data stays whole, and the limit it was given comes back."""
    from netpersona.engine import DuckDBEngine

    with DuckDBEngine(threads=1, memory_limit="1GB", temp_directory=tmp_path / "t") as engine:
        engine.create_table("t", "SELECT range AS a, [range, range + 1] AS l FROM range(6000000)")
        held = _duckdb_bytes(engine)
        total = engine.fetch_scalar("SELECT sum(a + l[2]) FROM t")
        assert held > 150_000_000
        with engine.lend_memory(0.1):
            assert _duckdb_bytes(engine) <= 100_000_000
            assert engine.fetch_scalar("SELECT current_setting('memory_limit')") == "95.3 MiB"
            assert engine.fetch_scalar("SELECT sum(a + l[2]) FROM t") == total  # still readable
        assert engine.fetch_scalar("SELECT current_setting('memory_limit')") == "953.6 MiB"
        assert engine.memory_limit_bytes() == 10**9  # the limit given, not DuckDB's rounding
        assert engine.fetch_scalar("SELECT sum(a + l[2]) FROM t") == total
        with pytest.raises(ValueError, match="share"), engine.lend_memory(1.5):
            pass


def test_lend_memory_without_a_limit_given_restores_duckdbs_default(tmp_path, monkeypatch):
    monkeypatch.delenv("NETPERSONA_MEMORY_LIMIT", raising=False)
    with DuckDBEngine(threads=1, temp_directory=tmp_path / "t") as engine:
        default = engine.fetch_scalar("SELECT current_setting('memory_limit')")
        with engine.lend_memory(0.5):
            assert engine.fetch_scalar("SELECT current_setting('memory_limit')") != default
        assert engine.fetch_scalar("SELECT current_setting('memory_limit')") == default
