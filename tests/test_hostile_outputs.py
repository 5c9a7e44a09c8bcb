"""Every file the command line writes, read back (issue #17): quarantine files are private
(0600), and with a pseudonymisation key no raw subscriber id is in any of them - the
workspace, the matches, the reports, the quarantine - nor in anything printed."""

from __future__ import annotations

import stat

import pyarrow.parquet as pq
import pytest

from netpersona.cli import main

KEY = "an operator secret of 32 bytes.."


def run(*args: str) -> str:
    """``netpersona ARGS`` in this process; what it printed (stdout and stderr)."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as done:
            assert done.code in (0, None), err.getvalue()
    assert "Traceback" not in err.getvalue()
    return out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A small synthetic log with one broken row, read through the CLI with a key: the folder
    of everything written, the raw ids, and all that was printed."""
    work = tmp_path_factory.mktemp("outputs")
    key = work / "operator.key"
    key.write_text(KEY)
    key.chmod(0o600)
    source = work / "source"
    source.mkdir()
    log = source / "log.parquet"
    printed = run("synth", "access-logs", "--users", "12", "--days", "8", "--seed", "2",
                  "--out", str(log))  # fmt: skip
    table = pq.read_table(log).to_pandas()
    ids = sorted(set(table["user_id"].astype(str)))
    library = table[table["ts"] < table["ts"].min() + (table["ts"].max() - table["ts"].min()) / 2]
    queries = table.drop(library.index)
    out = work / "out"
    out.mkdir()
    lib_csv, query_csv = out / "library.csv", out / "queries.csv"
    library.to_csv(lib_csv, index=False)
    with open(lib_csv, "a") as f:  # one broken row, raw id and all
        f.write(f"{ids[0]},not a time,http://a.com/\n")
    queries.to_csv(query_csv, index=False)
    flags = ("--pseudonymize-key-file", str(key), "--max-bad-fraction", "0.5")
    ws = out / "w.duckdb"
    printed += run("logs", "summary", str(lib_csv), *flags,
                   "--quarantine", str(out / "summary.rejected.csv"))  # fmt: skip
    printed += run("rejoin", "index", str(lib_csv), "--workspace", str(ws), *flags)
    printed += run("rejoin", "identify", "--queries", str(query_csv), "--workspace",
                   str(ws), "--out", str(out / "matches.csv"), "--report",
                   str(out / "matches.html"), *flags)  # fmt: skip
    lib_csv.unlink()  # the inputs hold raw ids by nature; what netpersona wrote must not
    query_csv.unlink()
    return out, ids, printed


def test_quarantine_files_are_private(written):
    out, _, _ = written
    quarantines = sorted(out.rglob("*.rejected.csv"))
    assert quarantines, "the broken row was quarantined somewhere"
    for path in quarantines:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_no_raw_id_in_any_file_written_with_a_key(written):
    out, ids, _ = written
    files = [p for p in out.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"w.duckdb", "matches.csv", "matches.html", "summary.rejected.csv"} <= names
    for path in files:
        data = path.read_bytes()
        leaked = [i for i in ids if i.encode() in data]
        assert not leaked, f"{path.name} holds raw ids {leaked[:3]}"


def test_nothing_printed_shows_a_raw_id(written):
    _, ids, printed = written
    assert not [i for i in ids if i in printed]


def test_outputs_that_hold_ids_are_not_world_writable(written):
    out, _, _ = written
    for path in (p for p in out.rglob("*") if p.is_file()):
        assert not stat.S_IMODE(path.stat().st_mode) & stat.S_IWOTH, path
