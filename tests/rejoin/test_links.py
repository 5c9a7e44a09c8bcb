"""Identity links: `rejoin identify --record` stores a run's matches, `rejoin links` lists them
(ids masked), recording the same run twice adds nothing, and forget's link-following reaches
exactly the ids connected to the forgotten one."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from _forget_data import MAPPING, SITE, cli, write_logs
from hypothesis import given, settings
from hypothesis import strategies as st

from netpersona.engine import DuckDBEngine
from netpersona.io import mask_id
from netpersona.rejoin import Library, links
from netpersona.rejoin._forget import linked_ids
from netpersona.rejoin._links import links_of

TEXT = pacsv.ConvertOptions(strings_can_be_null=False)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("links")
    library, queries, _ = write_logs(folder)
    workspace = folder / "w.duckdb"
    assert cli("rejoin", "index", library, *SITE, "--workspace", workspace).returncode == 0
    out = folder / "m.csv"
    args = ["rejoin", "identify", "--queries", queries, *SITE, "--workspace", workspace,
            "--out", out, "--top-k", "2", "--record"]  # fmt: skip
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    table = links(workspace)
    return folder, workspace, queries, out, args, first, table


def test_record_stores_the_runs_matches_as_links(recorded):
    _, _, queries, out, _, first, table = recorded
    matches = pacsv.read_csv(out, convert_options=TEXT).to_pylist()
    verdicts = {(r["library_user"], r["query_user"], float(r["score"])) for r in matches
                if r["decision"] == "match" and r["answer"] != "0"}  # fmt: skip
    assert len(verdicts) >= 10 and any(r["decision"] == "new" for r in matches)
    stored = {(r["old_user"], r["new_user"], r["score"]) for r in table.to_pylist()}
    assert stored == verdicts
    assert f"{len(verdicts):,} identity link(s) recorded" in first.stdout
    # day = the query's first day in its log; method = the run's
    log = pacsv.read_csv(queries)
    for row in table.to_pylist():
        own = log.filter(pc.equal(log["user_id"], row["new_user"]))
        assert row["day"] == pc.min(own["ts"]).as_py().date()
        assert row["method"] == "paper" and row["recorded_at"] is not None


def test_recording_the_same_run_again_adds_nothing(recorded):
    _, workspace, _, _, args, _, table = recorded
    again = cli(*args, "--force")
    assert again.returncode == 0, again.stderr
    assert "0 identity link(s) recorded" in again.stdout
    assert links(workspace) == table


def test_links_lists_them_masked(recorded):
    folder, workspace, _, _, _, _, table = recorded
    out = folder / "links.json"
    done = cli("rejoin", "links", "--workspace", workspace, "--json", out)
    assert done.returncode == 0, done.stderr
    assert f"{table.num_rows:,} link(s) in" in done.stdout
    rows = json.loads(out.read_text())
    first = table.to_pylist()[0]
    assert rows[0]["old_user"] == mask_id(first["old_user"]) != first["old_user"]
    assert rows[0]["new_user"] == mask_id(first["new_user"])
    assert rows[0]["day"] == first["day"].isoformat() and len(rows) == table.num_rows
    for row in table.to_pylist():
        assert row["old_user"] not in done.stdout + out.read_text()
    refused = cli("rejoin", "links", "--workspace", workspace, "--json", out)
    assert refused.returncode != 0 and "--force" in refused.stderr + refused.stdout


def test_record_needs_a_workspace_and_an_empty_workspace_has_no_links(recorded, tmp_path):
    folder, _, queries, _, _, _, _ = recorded
    done = cli("rejoin", "identify", "--queries", queries, *SITE, "--library",
               folder / "library.csv", "--out", tmp_path / "m.csv", "--record")  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "--record stores links in a workspace file" in done.stderr
    assert not (tmp_path / "m.csv").exists()
    bare = tmp_path / "bare.duckdb"
    assert (
        cli("rejoin", "index", folder / "library.csv", *SITE, "--workspace", bare).returncode == 0
    )
    assert links(bare).num_rows == 0
    assert "0 link(s) in" in cli("rejoin", "links", "--workspace", bare).stdout


def test_only_verdicts_become_links_not_further_candidates(recorded):
    _, workspace, queries, _, _, _, _ = recorded
    with Library.open(workspace) as library:
        qry = library.profile_queries(queries, MAPPING)
        users = qry.arrays().user_ids.to_pylist()[:3]
        rows = [
            (users[0], "match", 1, "lib0", 0.9, 1),
            (users[0], "match", 2, "lib1", 0.5, 0),  # a further candidate of --top-k
            (users[1], "ambiguous", 1, "lib2", 0.8, 1),
            (users[2], "new", 0, None, None, 0),
        ]
        names = ["query_user", "decision", "rank", "library_user", "score", "answer"]
        matches = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])
        made = links_of(SimpleNamespace(matches=matches), qry, "learned").to_pylist()
        first_day = qry.arrays().first_ts[0].as_py().date()
    assert [(r["old_user"], r["new_user"], r["method"], r["day"]) for r in made] == [
        ("lib0", users[0], "learned", first_day)
    ]


def _component(edges: list[tuple[str, str]], start: set[str]) -> set[str]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    roots = {find(s) for s in start}
    return {x for x in [*parent, *start] if find(x) in roots} | start


@settings(max_examples=60, deadline=None)
@given(
    edges=st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("abcdefgh")), max_size=12
    ),
    start=st.sets(st.sampled_from("abcdefghz"), min_size=1, max_size=2),
)
def test_linked_ids_are_the_connected_component_of_the_links(edges, start):
    with DuckDBEngine() as engine:
        engine.execute("CREATE TABLE rejoin_links (old_user VARCHAR, new_user VARCHAR)")
        for a, b in edges:
            engine.execute(f"INSERT INTO rejoin_links VALUES ('{a}', '{b}')")
        assert linked_ids(engine, start) == _component(edges, set(start))
