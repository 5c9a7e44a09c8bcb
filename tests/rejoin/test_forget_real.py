"""Forgetting on real data: astropy's commit log (pseudonymised author identities) read with an
operator key, its real identity pairs (the project's .mailmap) stored as links, and one person
forgotten by a raw id: every identity of that person leaves every table and every file."""

from __future__ import annotations

import csv
import gzip
import json

import duckdb
import pyarrow as pa
import pytest
from _forget_data import MAPPING, SITE, byte_hits, cli, sql_hits, workspace_files

from netpersona.io import mask_id, pseudonymize
from netpersona.rejoin import LINKS_SCHEMA, Library, add_links, links
from netpersona.rejoin._forget import linked_ids
from shared_data import shared_file

KEY = b"a real-data test key, 32 bytes.."


def _people(pairs: list[dict]) -> list[set[str]]:
    """The identities of each person (connected components of the pairs), largest first."""
    groups: list[set[str]] = []
    for pair in pairs:
        ids = {pair["old_user"], pair["new_user"]}
        touching = [g for g in groups if g & ids]
        merged = ids.union(*touching)
        groups = [g for g in groups if not g & ids] + [merged]
    return sorted(groups, key=lambda g: (-len(g), sorted(g)))


@pytest.fixture(scope="module")
def astropy(tmp_path_factory):
    events = shared_file("access_logs/git_astropy_events.csv.gz")
    pairs = list(csv.DictReader(shared_file("access_logs/git_astropy_identity_pairs.csv").open()))
    folder = tmp_path_factory.mktemp("astropy")
    key = folder / "operator.key"
    key.write_bytes(KEY)
    workspace = folder / "w.duckdb"
    done = cli("rejoin", "index", events, *SITE, "--workspace", workspace,
               "--pseudonymize-key-file", key)  # fmt: skip
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(workspace), read_only=True)
    first = dict(
        con.execute("SELECT user_id, CAST(first_ts AS DATE) FROM library_users").fetchall()
    )
    con.close()
    rows = []
    for pair in pairs:
        old, new = (pseudonymize(pair[c], KEY) for c in ("old_user", "new_user"))
        rows.append({"old_user": old, "new_user": new, "day": first.get(new), "score": 1.0,
                     "method": "mailmap", "recorded_at": None})  # fmt: skip
    assert add_links(workspace, pa.Table.from_pylist(rows, LINKS_SCHEMA)) == len(pairs) == 100
    return folder, workspace, key, events, pairs


def test_forgetting_one_identity_of_a_real_person_forgets_all_of_them(astropy):
    folder, workspace, key, events, pairs = astropy
    person = _people(pairs)[0]  # the person with the most identities (a chain of links)
    assert len(person) >= 3
    aliases = {pseudonymize(raw, KEY) for raw in person}
    with Library.open(workspace) as library:
        n_users = library.profiles.n_users
        present = aliases & set(library.profiles.arrays().user_ids.to_pylist())
        assert linked_ids(library.engine, next(iter(aliases))) == aliases
    assert n_users == 776 and present
    hits = sql_hits(workspace, aliases)
    assert hits["library_log.user_id"] > 0 and hits["rejoin_links.old_user"] > 0
    assert {alias for _, alias in byte_hits([workspace], aliases)} == present  # findable
    # a query log of the person's own commits under a new name, identified before and after
    query = folder / "query.csv"
    with gzip.open(events, "rt") as source, query.open("w") as out:
        rows = [r for r in csv.DictReader(source) if r["user_id"] in person]
        out.write("user_id,ts,site\n" + "".join(f"returning,{r['ts']},{r['site']}\n" for r in rows))
    with Library.open(workspace) as library:
        before = library.identify(query, MAPPING, top_k=5)
    # before, the person is among the candidates listed for a person to check
    assert aliases & set(before.matches.column("library_user").to_pylist())
    links_before = links(workspace).num_rows

    raw = sorted(person)[-1]
    done = cli("forget", raw, "--workspace", workspace, "--key", key)
    assert done.returncode == 0, done.stderr
    assert raw not in done.stdout + done.stderr
    assert f"(and {len(person) - 1} linked id(s))" in done.stdout

    assert sql_hits(workspace, aliases | person) == {}
    assert byte_hits(workspace_files(workspace), aliases | person) == []
    with Library.open(workspace) as library:
        assert library.profiles.n_users == n_users - len(present)
        result = library.identify(query, MAPPING, top_k=5)
    assert not aliases & set(result.matches.column("library_user").to_pylist())
    untouched = [p for p in pairs if not {p["old_user"], p["new_user"]} & person]
    assert links(workspace).num_rows == len(untouched) < links_before
    record = json.loads(workspace.with_name("w.duckdb.audit.jsonl").read_text())
    assert record["user"] == mask_id(pseudonymize(raw, KEY))
    assert record["tables"]["library_users"] == len(present)
    assert record["tables"]["rejoin_links"] == links_before - len(untouched)
