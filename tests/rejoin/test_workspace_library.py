"""The workspace a library lives in: one writer, readers beside it, builds swapped in whole.

Each test runs the real command line in a subprocess where processes matter (a second writer,
a kill -9 in the middle of a rebuild), and checks the old library answers exactly as before.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from _core_data import habitual_log, split_log

from netpersona._core import WorkspaceBusyError, WorkspaceIncompleteError
from netpersona.engine import Workspace
from netpersona.rejoin import Library

SITE = ["--site-col", "site"]
TEXT = pacsv.ConvertOptions(strings_can_be_null=False)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wslogs")
    library, queries, _ = split_log(habitual_log(30, 15, seed=3), query_days=4)
    pacsv.write_csv(library, folder / "library.csv")
    pacsv.write_csv(queries, folder / "queries.csv")
    return folder


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "netpersona", *args], capture_output=True, text=True, **kwargs
    )


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "netpersona", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _matches(workspace: Path, queries: Path) -> list[tuple]:
    with Library.open(workspace) as library:
        result = library.identify(queries, _mapping())
    return sorted(
        (r["query_user"], r["decision"], r["library_user"]) for r in result.matches.to_pylist()
    )


def _mapping():
    from netpersona.io import LogMapping

    return LogMapping(site_col="site", url_col=None)


@pytest.fixture
def built(logs, tmp_path):
    workspace = tmp_path / "ws.duckdb"
    done = _cli("rejoin", "index", str(logs / "library.csv"), *SITE, "--workspace", str(workspace))
    assert done.returncode == 0, done.stderr
    return workspace, _matches(workspace, logs / "queries.csv")


def test_a_build_records_its_version_and_completes(logs, built):
    workspace, matches = built
    with Workspace.reader(workspace) as ws:
        state = Workspace.state_of(ws)
    assert (state.version, state.complete, state.what) == (1, True, "rejoin index")
    # 24 of the 30 users returned under new ids; the paper's steps find them by name
    assert sum(1 for _, decision, _ in matches if decision == "match") >= 20
    again = _cli("rejoin", "index", str(logs / "library.csv"), *SITE, "--workspace", str(workspace))
    assert again.returncode == 0 and "1 file(s) already there" in again.stdout
    with Workspace.reader(workspace) as ws:
        assert Workspace.state_of(ws).version == 2
    assert not Workspace.building_path(workspace).exists()


def test_index_force_with_a_bad_file_leaves_the_old_library_whole(logs, built, tmp_path):
    workspace, matches = built
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,ts,site\n" + "u1,not a time,x.com\n" * 50)
    done = _cli("rejoin", "index", str(bad), *SITE, "--workspace", str(workspace), "--force")
    assert done.returncode == 1 and "Traceback" not in done.stderr  # bad input
    assert "cannot be read" in done.stderr + done.stdout
    assert _matches(workspace, logs / "queries.csv") == matches
    assert not Workspace.building_path(workspace).exists()


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading it blocks until a writer comes: the build waits there
    return fifo


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_kill_9_in_the_middle_of_a_rebuild_leaves_the_old_library_intact(logs, built, tmp_path):
    workspace, matches = built
    build = _start("rejoin", "index", str(_fifo(tmp_path)), *SITE, "--workspace",
                   str(workspace), "--force")  # fmt: skip
    try:
        _wait_for(Workspace.building_path(workspace), build)
        time.sleep(0.3)
        assert build.poll() is None  # still in the middle of the rebuild
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()
    assert build.returncode == -signal.SIGKILL
    assert _matches(workspace, logs / "queries.csv") == matches  # old library, whole
    with Workspace.reader(workspace) as ws:
        assert Workspace.state_of(ws).version == 1
    # the next build takes the lock the dead one held, and clears its half-written copy
    again = _cli("rejoin", "index", str(logs / "library.csv"), *SITE, "--workspace",
                 str(workspace), "--force")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert not Workspace.building_path(workspace).exists()
    assert _matches(workspace, logs / "queries.csv") == matches


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_second_writer_is_told_who_holds_the_workspace_while_readers_answer(
    logs, built, tmp_path
):
    workspace, matches = built
    build = _start("rejoin", "index", str(_fifo(tmp_path)), *SITE, "--workspace",
                   str(workspace), "--force")  # fmt: skip
    try:
        _wait_for(Workspace.building_path(workspace), build)
        second = _cli("rejoin", "index", str(logs / "library.csv"), *SITE, "--workspace",
                      str(workspace))  # fmt: skip
        assert second.returncode == 3  # busy
        assert f"workspace busy (held by pid {build.pid} since " in second.stderr
        assert "Traceback" not in second.stderr
        with pytest.raises(WorkspaceBusyError, match=f"held by pid {build.pid}"):
            Library.index(workspace, logs / "library.csv", _mapping())
        # a reader answers from the last complete state while the build runs
        out = tmp_path / "m.csv"
        reader = _cli("rejoin", "identify", "--queries", str(logs / "queries.csv"), *SITE,
                      "--workspace", str(workspace), "--out", str(out))  # fmt: skip
        assert reader.returncode == 0, reader.stderr
        rows = pacsv.read_csv(out, convert_options=TEXT).to_pylist()
        assert sorted((r["query_user"], r["decision"], r["library_user"]) for r in rows) == [
            (q, d, lib or "") for q, d, lib in matches
        ]
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()


def test_a_workspace_whose_build_did_not_complete_is_refused(built):
    workspace, _ = built
    with Workspace(workspace) as ws:  # as a build cut short in place would leave it
        Workspace.mark(ws, 2, False, "rejoin index")
    with pytest.raises(WorkspaceIncompleteError, match="did not complete"):
        Library.open(workspace)
    done = _cli("rejoin", "explain", "x", "--queries", str(workspace), "--workspace",
                str(workspace))  # fmt: skip
    assert done.returncode == 3 and "did not complete" in done.stderr
    assert "Traceback" not in done.stderr


def test_rebuild_that_fails_removes_its_copy_and_keeps_the_live_file(tmp_path):
    path = tmp_path / "w.duckdb"
    with Workspace.rebuild(path) as ws:
        ws.execute("CREATE TABLE t AS SELECT 1 AS v")
    with pytest.raises(RuntimeError), Workspace.rebuild(path) as ws:
        ws.execute("DROP TABLE t")
        raise RuntimeError("disk on fire")
    assert not Workspace.building_path(path).exists()
    with Workspace.reader(path) as ws:
        assert ws.fetch_scalar("SELECT v FROM t") == 1
        assert Workspace.state_of(ws).version == 1
