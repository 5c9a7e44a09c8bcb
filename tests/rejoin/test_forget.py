"""`netpersona forget`: every trace of a subscriber leaves the workspace, its bytes included.

The workspace is built from a synthetic habitual log whose ids DuckDB stores findably, so the
byte scans are shown to find an id before forget (and after a plain DELETE, which leaves it in
free blocks) and not after.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from _forget_data import (
    MAPPING,
    SITE,
    byte_hits,
    cli,
    library_users,
    sql_hits,
    workspace_files,
    write_logs,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netpersona._core import ConfigError
from netpersona.engine import Workspace
from netpersona.io import mask_id, pseudonymize
from netpersona.rejoin import LINKS_SCHEMA, Library, add_links, forget, links, record_links

KEY = b"an operator key of 32 bytes ...."


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forgetlogs")
    write_logs(folder)
    return folder


def _index(logs, workspace, *extra):
    done = cli("rejoin", "index", logs / "library.csv", *SITE, "--workspace", workspace, *extra)
    assert done.returncode == 0, done.stderr


def _identify(workspace, queries) -> dict[str, tuple[str, str | None]]:
    with Library.open(workspace) as library:
        result = library.identify(queries, MAPPING)
    rows = result.matches.to_pylist()
    return {r["query_user"]: (r["decision"], r["library_user"]) for r in rows}


@pytest.fixture
def built(logs, tmp_path):
    """A workspace with links recorded, reports beside it and a tiers file; the target is a
    library user whose returning number identify matches (so a link leads to it)."""
    workspace = tmp_path / "w.duckdb"
    _index(logs, workspace)
    with Library.open(workspace) as library:
        result = library.identify(logs / "queries.csv", MAPPING)
        assert record_links(library, result) > 0
    matched = {r["new_user"]: r["old_user"] for r in links(workspace).to_pylist()}
    new, target = sorted(matched.items())[0]
    reports = tmp_path / "w.duckdb.reports"
    reports.mkdir()
    others = [u for u in library_users(logs) if u != target][:3]
    lines = [{"username": u, "upflow": i, "report_id": f"r{i}"} for i, u in
             enumerate([target, *others, new, others[0]])]  # fmt: skip
    (reports / "2024-03-01.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    (reports / "2024-03-02.jsonl").write_text(json.dumps({"username": others[1]}) + "\n")
    tiers = tmp_path / "device_tiers.csv"
    tiers.write_text("user,tier\n" + "".join(f"{u},vip\n" for u in [*others, target]))
    inside = tmp_path / "w.duckdb.tiers"
    inside.mkdir()
    (inside / "customers.csv").write_text(
        "customer_id,tier,score\n" + f"{others[2]},A,0.9\n{target},B,0.5\n"
    )
    return workspace, target, new, others, tiers


def test_forget_removes_every_row_link_report_and_tiers_row_and_frees_the_pages(built, logs):
    workspace, target, new, others, tiers = built
    ids = {target, new}
    # the scans work: before forget they find the id, in tables and in the file's bytes
    assert sql_hits(workspace, {target})["library_log.user_id"] > 0
    assert sql_hits(workspace, {new}) == {"rejoin_links.new_user": 1}
    store = workspace.with_name("w.duckdb.store")  # the daily store beside the workspace
    assert {(str(workspace), target), (str(store), target)} <= set(
        byte_hits([workspace, store], {target})
    )
    # and a plain DELETE leaves the id's bytes in free blocks: why forget rewrites the files
    deleted = workspace.with_name("deleted.duckdb")
    shutil.copyfile(store, deleted)
    con = duckdb.connect(str(deleted))
    for table in ("library_log", "rejoin_day_users", "rejoin_sum_sites"):
        con.execute(f"DELETE FROM {table} WHERE user_id = ?", [target])
    con.execute("CHECKPOINT")
    con.close()
    assert byte_hits([deleted], {target}), "DuckDB no longer keeps deleted rows' bytes?"
    deleted.unlink()
    version = _version(workspace)

    done = cli("forget", target, "--workspace", workspace, "--raw", "--tiers", tiers)
    assert done.returncode == 0, done.stderr
    assert target not in done.stdout + done.stderr and mask_id(target) in done.stdout
    assert "(and 1 linked id(s))" in done.stdout

    assert sql_hits(workspace, ids) == {}
    assert byte_hits(workspace_files(workspace, tiers), ids) == []
    assert not any(
        p.name.endswith((".building", ".forget-tmp")) for p in workspace.parent.rglob("*")
    )
    assert _version(workspace) == version + 1
    # the other subscribers' lines stay, byte for byte and in order
    reports = workspace.with_name("w.duckdb.reports")
    kept = [json.loads(x) for x in (reports / "2024-03-01.jsonl").read_text().splitlines()]
    assert [r["username"] for r in kept] == [*others, others[0]]
    assert (reports / "2024-03-02.jsonl").read_text() == json.dumps({"username": others[1]}) + "\n"
    assert tiers.read_text() == "user,tier\n" + "".join(f"{u},vip\n" for u in others)
    inside = workspace.with_name("w.duckdb.tiers") / "customers.csv"
    assert inside.read_text() == f"customer_id,tier,score\n{others[2]},A,0.9\n"
    # the audit line says what went, with the id masked, never whole
    audit = workspace.with_name("w.duckdb.audit.jsonl")
    record = json.loads(audit.read_text().splitlines()[-1])
    assert record["user"] == mask_id(target) and record["linked"] == [mask_id(new)]
    assert record["tables"]["library_users"] == 1 and record["tables"]["rejoin_links"] == 1
    assert record["tables"]["library_log"] == _rows_of(logs, target)
    assert record["files"] == {str(reports / "2024-03-01.jsonl"): 2, str(tiers): 1,
                               str(inside): 1}  # fmt: skip
    assert record["leftovers"] == [] and record["version"] == version + 1


def test_forgotten_library_equals_one_built_without_the_user_and_never_returns_it(built, logs):
    workspace, target, new, _, _ = built
    before = _identify(workspace, logs / "queries.csv")
    assert before[new] == ("match", target)
    forget(workspace, target, raw=True)
    after = _identify(workspace, logs / "queries.csv")
    assert all(lib != target for _, lib in after.values())
    assert after[new][0] != "match" or after[new][1] != target
    # exactly the library of the log without the user: profiles derived again (V(d) too)
    rows = pacsv.read_csv(logs / "library.csv")
    kept = rows.filter(rows.column("user_id").to_numpy(zero_copy_only=False) != target)
    pacsv.write_csv(kept, workspace.with_name("without.csv"))
    fresh = workspace.with_name("fresh.duckdb")
    Library.index(fresh, workspace.with_name("without.csv"), MAPPING)
    assert _identify(fresh, logs / "queries.csv") == after
    for part in ("users", "sites", "frequent", "hours", "site_hours", "sequences"):
        assert _table(workspace, f"library_{part}") == _table(fresh, f"library_{part}"), part


def test_forget_follows_chains_of_links_both_ways(built):
    workspace, target, new, _, _ = built
    extra = [("older-number-000001", target), (new, "newest-number-00001")]
    chain = [
        {
            "old_user": old,
            "new_user": young,
            "day": dt.date(2024, 3, 20),
            "score": 0.9,
            "method": "paper",
            "recorded_at": dt.datetime(2024, 3, 21),
        }
        for old, young in extra
    ]
    assert add_links(workspace, pa.Table.from_pylist(chain, LINKS_SCHEMA)) == 2
    other = sorted(set(links(workspace).column("old_user").to_pylist()) - {target})
    summary = forget(workspace, "newest-number-00001", raw=True)  # the far end of the chain
    assert len(summary.linked) == 3 and summary.tables["library_users"] == 1
    left = links(workspace).to_pylist()
    assert all(target not in (r["old_user"], r["new_user"]) for r in left)
    assert sorted({r["old_user"] for r in left}) == sorted(
        set(other) - {new, "older-number-000001"}
    )
    assert len(left) == len(other) - 2
    assert sql_hits(workspace, {target, new, "older-number-000001", "newest-number-00001"}) == {}


def test_forget_with_the_key_pseudonymises_the_raw_id_first(logs, tmp_path):
    key = tmp_path / "operator.key"
    key.write_bytes(KEY)
    workspace = tmp_path / "w.duckdb"
    _index(logs, workspace, "--pseudonymize-key-file", key)
    raw = library_users(logs)[4]
    alias = pseudonymize(raw, KEY)
    assert sql_hits(workspace, {alias})["library_users.user_id"] == 1
    assert sql_hits(workspace, {raw}) == {}  # the workspace holds pseudonyms only
    # a raw id without --key or --raw is refused, saying what to give; nothing changes
    version = _version(workspace)
    refused = cli("forget", raw, "--workspace", workspace)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "--key KEYFILE" in refused.stderr and raw not in refused.stderr
    assert _version(workspace) == version
    done = cli("forget", raw, "--workspace", workspace, "--key", key)
    assert done.returncode == 0, done.stderr
    assert sql_hits(workspace, {alias}) == {}
    assert byte_hits(workspace_files(workspace), {alias, raw}) == []
    record = json.loads(workspace.with_name("w.duckdb.audit.jsonl").read_text())
    assert record["user"] == mask_id(alias) and record["tables"]["library_users"] == 1
    # the stored pseudonym itself is accepted too (64 hex digits): nothing left to remove
    again = forget(workspace, alias)
    assert again.tables == {} and again.leftovers == []


def test_which_forms_of_an_id_are_forgotten():
    from netpersona.rejoin._forget_run import stored_ids

    assert stored_ids("13812345678", KEY, raw=False) == [pseudonymize("13812345678", KEY),
                                                        "13812345678"]  # fmt: skip
    assert stored_ids("13812345678", None, raw=True) == ["13812345678"]
    assert stored_ids("ab" * 32, None, raw=False) == ["ab" * 32]
    with pytest.raises(ConfigError, match="not a pseudonym"):
        stored_ids("13812345678", None, raw=False)


def _version(workspace) -> int:
    with Workspace.reader(workspace) as ws:
        return Workspace.state_of(ws).version


def _rows_of(logs, user) -> int:
    rows = pacsv.read_csv(logs / "library.csv").column("user_id").to_pylist()
    return rows.count(user)


def _table(workspace, name) -> list[tuple]:
    con = duckdb.connect(str(workspace), read_only=True)
    try:
        return sorted(map(repr, con.execute(f"SELECT * FROM {name}").fetchall()))
    finally:
        con.close()


_ROW = st.tuples(
    st.integers(0, 5),  # user
    st.integers(1, 4),  # day
    st.integers(0, 23),  # hour
    st.integers(0, 59),  # minute
    st.integers(0, 7),  # site
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_ROW, min_size=1, max_size=120), gone=st.integers(0, 5))
def test_forget_equals_building_without_the_user(rows, gone, tmp_path_factory):
    folder = tmp_path_factory.mktemp("prop")
    users = [f"subscriber-{u:011d}" for u in range(6)]
    lines = [f"{users[u]},2024-03-0{d} {h:02d}:{m:02d}:00,site{s}.com" for u, d, h, m, s in rows]
    (folder / "all.csv").write_text("user_id,ts,site\n" + "\n".join(lines) + "\n")
    kept = [line for line in lines if not line.startswith(users[gone] + ",")]
    (folder / "kept.csv").write_text("user_id,ts,site\n" + "\n".join(kept) + "\n")
    Library.index(folder / "w.duckdb", folder / "all.csv", MAPPING)
    summary = forget(folder / "w.duckdb", users[gone], raw=True)
    assert summary.tables.get("library_log", 0) == len(lines) - len(kept)
    if not kept:
        return
    Library.index(folder / "fresh.duckdb", folder / "kept.csv", MAPPING)
    for part in ("log", "users", "sites", "frequent", "hours", "site_hours", "sequences"):
        # the raw rows are in the daily store beside each workspace
        forgot, fresh = (folder / f"{n}.duckdb{'.store' * (part == 'log')}" for n in ("w", "fresh"))
        assert _table(forgot, f"library_{part}") == _table(fresh, f"library_{part}"), part


def test_a_missing_workspace_or_tiers_file_is_a_clear_error(built, tmp_path):
    workspace, target, *_ = built
    done = cli("forget", target, "--workspace", tmp_path / "none.duckdb", "--raw")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no such workspace" in done.stderr and target not in done.stderr
    done = cli("forget", target, "--workspace", workspace, "--raw", "--tiers", tmp_path / "x.csv")
    assert done.returncode == 1 and "no such tiers file" in done.stderr
    assert sql_hits(workspace, {target})["library_users.user_id"] == 1
