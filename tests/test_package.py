"""The package's public surface, CLI wiring and the safety helpers everything else uses."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import netpersona
from netpersona.cli import app
from netpersona.io import atomic_output, mask_id, pseudonymize, write_text_atomic

runner = CliRunner()


def test_public_api_is_listed():
    assert sorted(netpersona.__all__) == netpersona.__all__
    for name in netpersona.__all__:
        assert hasattr(netpersona, name)


def test_version_flag():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"netpersona {netpersona.__version__}"


@pytest.mark.parametrize(
    ("group", "commands"),
    [
        ("logs", {"summary", "ingest"}),
        ("synth", {"access-logs", "device-reports", "customers"}),
        ("rejoin", {"index", "identify", "explain", "evaluate", "calibrate", "train"}),
        ("devices", {"features", "train", "predict", "report"}),
        ("customers", {"score", "train", "predict", "report", "run"}),
    ],
)
def test_every_group_lists_its_commands(group, commands):
    result = runner.invoke(app, [group, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    listed = {
        line.split()[1]
        for line in result.output.splitlines()
        if line.startswith("│ ") and len(line.split()) > 1
    }
    assert commands <= listed, f"{group} lacks {commands - listed}"
    for command in commands:
        sub = runner.invoke(app, [group, command, "--help"])
        assert sub.exit_code == 0 and "Usage" in sub.output, (group, command, sub.output)


def test_mask_id_keeps_first_three_and_last_four():
    assert mask_id("17712343461") == "177****3461"
    assert mask_id("abc") == "a****"
    assert mask_id(None) == ""


@given(st.text(min_size=8))
def test_mask_never_shows_the_middle(user_id):
    masked = mask_id(user_id)
    assert masked.startswith(user_id[:3]) and masked.endswith(user_id[-4:])
    assert "****" in masked and len(masked) == 11


@given(st.text(), st.binary(min_size=16, max_size=64), st.binary(min_size=16, max_size=64))
def test_pseudonyms_are_stable_per_key_and_differ_across_keys(user_id, key1, key2):
    one = pseudonymize(user_id, key1)
    assert one == pseudonymize(user_id, key1)
    assert re.fullmatch(r"[0-9a-f]{64}", one)
    if key1 != key2:
        assert one != pseudonymize(user_id, key2)


def test_atomic_output_leaves_nothing_when_the_writer_crashes(tmp_path):
    target = tmp_path / "result.csv"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half a fi")
        raise RuntimeError("crash mid-write")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_atomic_output_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "result.csv"
    write_text_atomic(target, "first")
    with pytest.raises(netpersona.OutputExistsError, match="--force"):
        write_text_atomic(target, "second")
    write_text_atomic(target, "second", force=True)
    assert target.read_text() == "second"


def test_atomic_output_gives_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "matches.csv", "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_engine_table_check_leaves_no_result_open():
    from netpersona.engine import DuckDBEngine

    with DuckDBEngine() as engine:
        engine.execute("CREATE TABLE t AS SELECT 1 AS x")
        assert engine.has_table("t") and not engine.has_table("u")
        assert engine.fetch_arrow("SELECT x FROM t").to_pylist() == [{"x": 1}]


def test_in_memory_engine_spills_to_a_private_temp_folder_removed_on_close():
    from pathlib import Path

    from netpersona.engine import DuckDBEngine

    engine = DuckDBEngine()
    temp = Path(engine.fetch_scalar("SELECT current_setting('temp_directory')"))
    assert temp.name.startswith("netpersona-duckdb-") and temp.is_dir()
    engine.close()
    assert not temp.exists()


def test_python_dash_m_runs_the_same_tool():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "netpersona", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"netpersona {netpersona.__version__}"
