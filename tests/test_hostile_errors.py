"""Hostile input, part 2: every error ends in one message, a hint where one helps, and the exit
status of its kind (1 input, 2 usage, 3 busy, 4 environment, 70 internal) - never a traceback
unless --debug asks for it (issue #17)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from cli_run import run_raw as run
from netpersona._core import (
    ConfigError,
    InputError,
    OutputExistsError,
    ResourceError,
    UsageError,
    WorkspaceBusyError,
    WorkspaceIncompleteError,
)
from netpersona.cli._errors import render

LOG = "user_id,ts,url\n13800000001,2024-05-01 10:00:00,http://a.com/\n"


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (InputError("bad time", path="a.csv", line=3), 1),
        (ConfigError("weights do not sum to 1"), 1),
        (UsageError("give input files or --table, not both"), 2),
        (OutputExistsError("out.csv"), 2),
        (WorkspaceBusyError("w.duckdb", pid=7, since="2026-01-01T00:00:00"), 3),
        (WorkspaceIncompleteError("w.duckdb: its last build did not complete"), 3),
        (ResourceError("no room"), 4),
        (OSError(errno.ENOSPC, "No space left on device", "out.csv"), 4),
        (PermissionError(errno.EACCES, "Permission denied", "/root/x"), 4),
        (OSError(errno.EROFS, "Read-only file system", "/ro/x"), 4),
        (MemoryError(), 4),
        (FileNotFoundError(errno.ENOENT, "No such file", "gone.csv"), 1),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "logs/"), 1),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 1),
        (RuntimeError("something we did not foresee"), 70),
        (KeyError("x"), 70),
    ],
)
def test_each_kind_of_error_has_its_exit_status(exc, code):
    status, label, message = render(exc)
    assert status == code
    assert label == ("internal error" if code == 70 else "error")
    assert "Traceback" not in message
    if code == 70:
        assert "--debug" in message and "report it" in message
    if code == 4 and isinstance(exc, OSError):
        assert "hint:" in message and exc.filename in message


def test_the_force_message_names_the_flag_not_the_python_argument():
    text = str(OutputExistsError("tiers.csv"))
    assert "--force" in text and "force=True" not in text


def test_a_data_error_is_one_message_exit_1(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,ts,url\n" + "13800000001,not a time,http://a.com/\n" * 5)
    code, _, err = run(capsys, "logs", "summary", str(bad))
    assert code == 1
    assert err.strip().startswith("error: ") and "not a time" in err and "Traceback" not in err


def test_a_usage_error_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "logs", "summary", "--no-such-flag")
    assert code == 2 and "Traceback" not in err


def test_a_bug_exits_70_and_debug_shows_the_traceback(capsys, tmp_path, monkeypatch):
    import netpersona.io as io

    def broken(*args, **kwargs):
        raise RuntimeError("an unforeseen state")

    monkeypatch.setattr(io, "summarise_files", broken)
    log = tmp_path / "day.csv"
    log.write_text(LOG)
    code, _, err = run(capsys, "logs", "summary", str(log))
    assert code == 70
    assert "internal error" in err and "an unforeseen state" in err and "Traceback" not in err
    code, _, err = run(capsys, "--debug", "logs", "summary", str(log))
    assert code == 70 and "Traceback (most recent call last)" in err
    assert "RuntimeError: an unforeseen state" in err


def test_a_full_disk_while_writing_exits_4(capsys, tmp_path, monkeypatch):
    import netpersona._core._output as output

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "out"))

    monkeypatch.setattr(output.os, "replace", full)
    code, _, err = run(capsys, "synth", "access-logs", "--users", "5", "--days", "2", "--out",
                       str(tmp_path / "out.csv"))  # fmt: skip
    assert code == 4, err
    assert "disk is full" in err and "hint:" in err and "Traceback" not in err
    assert not (tmp_path / "out.csv").exists()


def test_a_locked_workspace_exits_3(capsys, tmp_path):
    import subprocess
    import sys

    log = tmp_path / "day.csv"
    log.write_text(LOG)
    workspace = tmp_path / "w.duckdb"
    hold = (
        "import sys, time; from netpersona.engine import Workspace\n"
        f"with Workspace({str(workspace)!r}):\n    print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, _, err = run(capsys, "logs", "ingest", str(log), "--workspace", str(workspace))
    finally:
        holder.kill()
        holder.wait()
    assert code == 3, err
    assert "busy" in err and "Traceback" not in err


def test_help_lists_the_exit_statuses(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for part in ("1 bad input", "2 usage", "3 workspace busy", "4 environment", "70 internal"):
        assert part in " ".join(out.split()), part


def test_the_readme_and_docs_list_the_exit_statuses():
    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "errors.md").read_text()
    for code in ("| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 70 |"):
        assert code in text
    assert "docs/errors.md" in (root / "README.md").read_text()
