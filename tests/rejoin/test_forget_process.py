"""`netpersona forget` among other processes: a kill -9 in the middle leaves the previous state
whole, a busy workspace or reports folder is a clear error, a write-ahead log left by a killed
writer is forgotten too, and the trained matcher goes (or is trained again)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _forget_data import MAPPING, SITE, byte_hits, cli, library_users, sql_hits, workspace_files
from _forget_data import write_logs as _write_logs

from netpersona._core import ConfigError, WorkspaceBusyError
from netpersona.engine import Workspace
from netpersona.rejoin import Library, forget

_KILLABLE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import netpersona.rejoin._forget as inner
    from netpersona.engine import Workspace
    from netpersona.rejoin import forget

    workspace, user, point, marker, tiers = sys.argv[1:6]

    def wait(*args, **kwargs):
        Path(marker).touch()
        time.sleep(600)

    if point == "swap":  # the new file is complete, the files are staged: next is the rename
        mark = Workspace.mark

        def marking(engine, version, complete, what):
            if complete and what == "forget":
                wait()
            return mark(engine, version, complete, what)

        Workspace.mark = staticmethod(marking)
    else:  # deriving the daily store and the library again without the id
        inner._forget_daily_beside = wait
    forget(workspace, user, raw=True, tiers=[tiers])
    """
)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forgetproc")
    _write_logs(folder)
    return folder


@pytest.fixture
def built(logs, tmp_path):
    workspace = tmp_path / "w.duckdb"
    done = cli("rejoin", "index", logs / "library.csv", *SITE, "--workspace", workspace)
    assert done.returncode == 0, done.stderr
    target = library_users(logs)[3]
    reports = tmp_path / "w.duckdb.reports"
    reports.mkdir()
    (reports / "2024-03-01.jsonl").write_text(
        f'{{"username": "{target}", "upflow": 1}}\n{{"username": "someone-else", "upflow": 2}}\n'
    )
    tiers = tmp_path / "tiers.csv"
    tiers.write_text(f"user,tier\n{target},vip\nsomeone-else,growth\n")
    return workspace, target, tiers


def _digests(*paths: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _matches(workspace, queries) -> list[tuple]:
    with Library.open(workspace) as library:
        rows = library.identify(queries, MAPPING).matches.to_pylist()
    return sorted((r["query_user"], r["decision"], r["library_user"] or "") for r in rows)


@pytest.mark.parametrize("point", ["profiles", "swap"])
def test_kill_9_in_the_middle_of_forget_leaves_the_previous_state_whole(built, logs, point):
    workspace, target, tiers = built
    report = workspace.with_name("w.duckdb.reports") / "2024-03-01.jsonl"
    before = _digests(workspace, report, tiers)
    matches = _matches(workspace, logs / "queries.csv")
    marker = workspace.with_name("reached")
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE, str(workspace), target, point, str(marker), str(tiers)]
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, "forget ended before the kill"
            assert time.monotonic() < deadline, "forget never reached the kill point"
            time.sleep(0.05)
        assert Workspace.building_path(workspace).exists()  # in the middle of the rebuild
        if point == "swap":  # the rewritten files wait beside their originals
            assert report.with_name(report.name + ".forget-tmp").exists()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert _digests(workspace, report, tiers) == before  # nothing of the old state changed
    assert _matches(workspace, logs / "queries.csv") == matches
    assert sql_hits(workspace, {target})["library_users.user_id"] == 1
    # forget again: it takes the lock the dead one held, clears its leftovers and finishes
    summary = forget(workspace, target, raw=True, tiers=[tiers])
    assert summary.tables["library_users"] == 1 and summary.leftovers == []
    assert sql_hits(workspace, {target}) == {}
    assert byte_hits(workspace_files(workspace, tiers), {target}) == []
    assert not [p for p in workspace.parent.rglob("*") if p.name.endswith(".forget-tmp")]
    assert not Workspace.building_path(workspace).exists()


def test_a_busy_workspace_is_a_clear_error_and_changes_nothing(built):
    workspace, target, tiers = built
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom netpersona.engine import Workspace\n"
         "w = Workspace(sys.argv[1])\nprint('ready', flush=True)\ntime.sleep(120)",
         str(workspace)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "ready"
        before = _digests(workspace, tiers)
        done = cli("forget", target, "--workspace", workspace, "--raw", "--tiers", tiers)
        assert done.returncode == 3 and "Traceback" not in done.stderr  # docs/errors.md
        assert f"workspace busy (held by pid {holder.pid} since " in done.stderr
        with pytest.raises(WorkspaceBusyError, match=f"held by pid {holder.pid}"):
            forget(workspace, target, raw=True)
        assert _digests(workspace, tiers) == before
    finally:
        holder.kill()
        holder.wait()


def test_a_running_serve_holding_the_reports_folder_is_a_clear_error(built):
    workspace, target, _ = built
    reports = workspace.with_name("w.duckdb.reports")
    with open(reports / ".lock", "w") as lock:  # as `netpersona serve` holds it
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ConfigError, match="held by a running `netpersona serve`"):
            forget(workspace, target, raw=True)
    assert sql_hits(workspace, {target})["library_users.user_id"] == 1


def test_rows_left_in_a_write_ahead_log_by_a_killed_writer_are_forgotten(built):
    workspace, target, _ = built
    writer = textwrap.dedent(
        """
        import os, signal, sys, duckdb
        con = duckdb.connect(sys.argv[1])
        con.execute("CREATE TABLE notes (user_id VARCHAR, note VARCHAR)")
        con.execute("INSERT INTO notes VALUES (?, 'called'), ('someone-else', 'x')", [sys.argv[2]])
        os.kill(os.getpid(), signal.SIGKILL)  # no checkpoint: the rows are in W.wal only
        """
    )
    subprocess.run([sys.executable, "-c", writer, str(workspace), target])
    wal = Path(f"{workspace}.wal")
    assert wal.exists() and byte_hits([wal], {target}), "the WAL should hold the new rows"
    summary = forget(workspace, target, raw=True)
    assert summary.tables["notes"] == 1 and summary.tables["library_users"] == 1
    assert not wal.exists()
    assert sql_hits(workspace, {target}) == {}
    assert byte_hits(workspace_files(workspace), {target}) == []
    with Workspace.reader(workspace) as ws:
        assert ws.fetch_arrow("SELECT * FROM notes").to_pylist() == [
            {"user_id": "someone-else", "note": "x"}
        ]


@pytest.mark.slow
def test_the_trained_matcher_is_trained_again_or_removed(built, logs):
    workspace, target, _ = built
    options = {"cuts": 1, "draws": 1, "models": ("hgb",), "query_days": 3}
    Library.train(workspace, **options)
    folder = Workspace.matcher_dir(workspace)
    params = json.loads((folder / "matcher.json").read_text())["params"]
    summary = forget(workspace, target, raw=True, retrain=True)
    assert summary.matcher == "trained again without the id"
    again = json.loads((folder / "matcher.json").read_text())
    assert again["params"] == params  # the same parameters, on the library without the id
    with Library.open(workspace) as library:
        result = library.identify(logs / "queries.csv", MAPPING, method="learned")
        assert target not in result.matches.column("library_user").to_pylist()
    other = library_users(logs)[5]
    summary = forget(workspace, other, raw=True)
    assert summary.matcher.startswith("removed") and not folder.exists()
    assert not [p for p in workspace.parent.iterdir() if p.name.endswith(".forget-old")]
    done = cli("rejoin", "identify", "--queries", logs / "queries.csv", *SITE, "--workspace",
               workspace, "--out", workspace.with_name("m.csv"), "--method", "learned")  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "rejoin train" in done.stderr
    record = [json.loads(x) for x in workspace.with_name("w.duckdb.audit.jsonl").open()]
    assert [r["matcher"][:7] for r in record] == ["trained", "removed"]
    assert os.stat(workspace.with_name("w.duckdb.audit.jsonl")).st_mode & 0o077 == 0
