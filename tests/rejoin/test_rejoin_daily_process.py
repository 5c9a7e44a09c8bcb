"""``rejoin add-day`` among other processes: readers answer from the previous state while it
runs, a second writer is told who holds the workspace, and a kill -9 in the middle leaves the
previous state whole and usable (the real command line in subprocesses)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _core_data import habitual_log, split_log
from _daily_data import MAPPING, canonical, write_log

from netpersona.engine import Workspace
from netpersona.rejoin import Library

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
SITE = ["--site-col", "site"]


def _rows(table) -> list[tuple]:
    return list(zip(*(table[c].to_pylist() for c in ("user_id", "ts", "site")), strict=True))


@pytest.fixture
def built(tmp_path):
    library, queries, _ = split_log(habitual_log(30, 15, seed=3), query_days=4)
    rows = _rows(library)
    last = max(r[1].date() for r in rows)
    write_log([r for r in rows if r[1].date() < last], tmp_path / "early.csv")
    write_log([r for r in rows if r[1].date() == last], tmp_path / "last.csv")
    write_log(_rows(queries), tmp_path / "queries.csv")
    workspace = tmp_path / "ws.duckdb"
    Library.add_day(workspace, tmp_path / "early.csv", MAPPING)
    return workspace, _state(workspace, tmp_path / "queries.csv")


def _state(workspace: Path, queries: Path) -> tuple:
    with Library.open(workspace) as library:
        result = library.identify(queries, MAPPING)
        profiles = canonical(library.engine, "library")
    verdicts = sorted((r["query_user"], r["decision"], r["library_user"])
                      for r in result.matches.to_pylist())  # fmt: skip
    return verdicts, profiles


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "netpersona", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netpersona", *args], capture_output=True,
                          text=True)  # fmt: skip


def _blocked_add_day(workspace: Path, tmp_path: Path) -> subprocess.Popen:
    """``rejoin add-day`` reading a named pipe nobody writes: it waits inside its build."""
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    build = _start("rejoin", "add-day", str(fifo), *SITE, "--workspace", str(workspace))
    building = Workspace.building_path(workspace)
    deadline = time.monotonic() + 60
    while not building.exists():
        assert build.poll() is None, build.communicate()
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.05)
    time.sleep(0.3)
    assert build.poll() is None  # in the middle of its build
    return build


def test_readers_answer_and_a_second_writer_is_told_while_add_day_runs(built, tmp_path):
    workspace, before = built
    build = _blocked_add_day(workspace, tmp_path)
    try:
        # a reader answers from the previous state, exactly as before
        assert _state(workspace, tmp_path / "queries.csv") == before
        shown = _cli("rejoin", "status", "--workspace", str(workspace))
        assert shown.returncode == 0 and "version 1" in shown.stdout
        second = _cli("rejoin", "add-day", str(tmp_path / "last.csv"), *SITE, "--workspace",
                      str(workspace))  # fmt: skip
        assert second.returncode != 0 and "Traceback" not in second.stderr
        message = " ".join(second.stderr.split())
        assert f"workspace busy (held by pid {build.pid} since " in message
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()


def test_kill_9_in_the_middle_of_add_day_leaves_the_previous_state_whole(built, tmp_path):
    workspace, before = built
    build = _blocked_add_day(workspace, tmp_path)
    build.send_signal(signal.SIGKILL)
    build.wait()
    assert build.returncode == -signal.SIGKILL
    assert _state(workspace, tmp_path / "queries.csv") == before
    with Workspace.reader(workspace) as ws:
        assert Workspace.state_of(ws).version == 1
    # the next add-day takes the dead build's lock, clears its copy and adds the day
    again = _cli("rejoin", "add-day", str(tmp_path / "last.csv"), *SITE, "--workspace",
                 str(workspace))  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert not Workspace.building_path(workspace).exists()
    _, profiles = _state(workspace, tmp_path / "queries.csv")
    assert profiles != before[1]  # the last day is in
    assert Library.status(workspace).version == 2


_AFTER_COMMIT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import netpersona.rejoin._daily_run as run
    from netpersona.io import LogMapping
    from netpersona.rejoin import Library

    workspace, log, marker = sys.argv[1:4]

    def wait(*args, **kwargs):  # the store has committed the day; the library file is next
        Path(marker).touch()
        time.sleep(600)

    run.write_library = wait
    Library.add_day(workspace, log, LogMapping(site_col="site", url_col=None))
    """
)


def test_kill_9_after_the_store_committed_leaves_the_previous_library_and_the_next_build_catches_up(
    built, tmp_path
):
    workspace, before = built
    marker = tmp_path / "reached"
    build = subprocess.Popen([sys.executable, "-c", _AFTER_COMMIT, str(workspace),
                              str(tmp_path / "last.csv"), str(marker)])  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert build.poll() is None, "add-day ended before the kill point"
            assert time.monotonic() < deadline, "add-day never reached the kill point"
            time.sleep(0.05)
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()
    # readers: the previous library, whole (the store is a batch ahead of it)
    assert _state(workspace, tmp_path / "queries.csv") == before
    assert Library.status(workspace).version == 1
    # the next build sees the tokens differ and writes the library from the store; the day's
    # file is recorded as read, so giving it again changes nothing more
    again = _cli("rejoin", "add-day", str(tmp_path / "last.csv"), *SITE, "--workspace",
                 str(workspace))  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "already" in " ".join((again.stdout + again.stderr).split())
    _, profiles = _state(workspace, tmp_path / "queries.csv")
    assert profiles != before[1]  # the last day is in
    fresh = tmp_path / "fresh.duckdb"
    Library.add_day(fresh, [tmp_path / "early.csv", tmp_path / "last.csv"], MAPPING)
    assert _state(fresh, tmp_path / "queries.csv")[1] == profiles
