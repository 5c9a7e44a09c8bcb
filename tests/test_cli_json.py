"""``--json FILE`` means the same in every command: the command's summary as JSON, written to
FILE (atomic, refused when it exists unless --force) or with ``-`` to stdout, the text for
people then going to stderr so that stdout parses as JSON.

Each command runs twice, ``--json out.json`` and ``--json -``, on the real GESIS web-tracking
log (10 panelists, 18,878 visits, 579 sites) or on small synthetic data, and a few of its
figures are checked against what the inputs hold.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli_run import run
from netpersona.cli import app
from netpersona.io import mask_id
from shared_data import shared_file

GESIS_FLAGS = ["--user-col", "panelist_id", "--time-col", "used_at", "--site-col", "domain"]
FIRST_PANELIST = "b1dcb5d717657d39"


def _setup(*args) -> None:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + result.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The inputs every command reads, built once: a workspace indexed from the real log with
    links recorded, synthetic device reports and features with a model, customers and a
    customer model."""
    root = tmp_path_factory.mktemp("world")
    gesis = shared_file("access_logs/gesis_web_tracking_urls.csv")
    w = root / "w.duckdb"
    _setup("rejoin", "index", gesis, *GESIS_FLAGS, "--workspace", w)
    _setup("rejoin", "identify", "--queries", gesis, *GESIS_FLAGS, "--workspace", w,
           "--out", root / "m.csv", "--record")  # fmt: skip
    _setup("synth", "device-reports", "--out", root / "dev", "--users", "60", "--seed", "1")
    _setup("devices", "features", "--month", "2024-05", "--reports",
           root / "dev" / "reports.jsonl.gz", "--purchases", root / "dev" / "purchases.csv",
           "--out", root / "features.parquet")  # fmt: skip
    _setup("devices", "train", "--features", root / "features.parquet", "--labels",
           root / "dev" / "labels.csv", "--model", root / "dmodel", "--epochs", "200")  # fmt: skip
    _setup("synth", "customers", "--out", root / "customers.csv", "--n", "200", "--seed", "2")
    _setup("customers", "train", "--data", root / "customers.csv", "--model", root / "cmodel",
           "--epochs", "50")  # fmt: skip
    return {"root": root, "gesis": gesis, "w": w}


def _rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def _copy_workspace(world, out: Path) -> Path:
    """The workspace file and its daily store (``W.store``), which belong together."""
    target = out / "w.duckdb"
    shutil.copy(world["w"], target)
    store = Path(f"{world['w']}.store")
    if store.exists():
        shutil.copy(store, Path(f"{target}.store"))
    return target


def test_train_on_a_workspace_copied_without_its_store_says_so(capsys, tmp_path, world):
    alone = tmp_path / "alone.duckdb"
    shutil.copy(world["w"], alone)
    code, _, err = run(capsys, "rejoin", "train", "--workspace", str(alone))
    assert code == 1, err
    assert "daily store" in err and "missing" in err and "internal error" not in err


# each case: (the command's words, given the world and a fresh output folder) and a check of
# its summary (given the world, the output folder and the summary)
def _gesis_summary(world, out):
    return ["logs", "summary", world["gesis"], *GESIS_FLAGS]


def _check_summary(world, out, doc):
    assert (doc["rows"], doc["rejected"], doc["users"], doc["sites"]) == (18_878, 0, 10, 579)
    assert (doc["first_day"], doc["last_day"]) == ("2013-05-20", "2013-06-19")


def _check_ingest(world, out, doc):
    assert (doc["rows_added"], doc["rows_in_table"], doc["files_skipped"]) == (18_878, 18_878, 0)
    assert doc["workspace"] == str(out / "i.duckdb") and doc["seconds"] > 0


def _check_index(world, out, doc):
    assert (doc["users"], doc["sites"], doc["rows"]) == (10, 579, 18_878)
    assert doc["settings"]["jaccard_min"] == 0.6  # the paper's


def _check_status(world, out, doc):
    assert (doc["users"], doc["rows"], doc["days_held"]) == (10, 18_878, 31)
    assert (doc["first_day"], doc["last_day"]) == ("2013-05-20", "2013-06-19")


def _check_add_day(world, out, doc):
    assert (doc["users"], doc["sites"], len(doc["days"])) == (10, 579, 31)
    assert doc["days"][0] == "2013-05-20" and doc["rows_read"] == 18_878


def _check_identify(world, out, doc):
    assert (doc["n_queries"], doc["n_library"]) == (10, 10)
    assert sum(doc["verdicts"].values()) == 10
    matches = [r for r in _rows(out / "m.csv") if r["rank"] in ("", "0", "1")]
    assert doc["verdicts"]["match"] == sum(r["decision"] == "match" for r in matches)
    assert [s["step"] for s in doc["steps"]][:1] and doc["out"] == str(out / "m.csv")


def _check_links(world, out, doc):
    assert isinstance(doc, list) and doc, "the fixture recorded links"
    raw = {r["query_user"] for r in _rows(world["root"] / "m.csv")}
    assert {row["new_user"] for row in doc} <= {mask_id(u) for u in raw}
    assert not raw & {row["new_user"] for row in doc}  # masked


def _check_forget(world, out, doc):
    assert doc["user"] == mask_id(FIRST_PANELIST) != FIRST_PANELIST
    assert doc["tables"] and sum(doc["tables"].values()) > 0
    assert FIRST_PANELIST not in json.dumps(doc)


def _check_evaluate(world, out, doc):
    assert doc["method"] == "paper" and doc["protocol"]["query_days"] == 5
    assert doc["n_queries"] >= 1 and 0.0 <= doc["acc_overall"] <= 1.0


def _check_calibrate(world, out, doc):
    assert len(doc["trials"]) == 2 and doc["settings_file"] == str(out / "cal.toml")
    written = tomllib.loads((out / "cal.toml").read_text())["rejoin"]
    assert written == doc["settings"]


def _check_train(world, out, doc):
    assert Path(doc["matcher"]).is_dir() and doc["kept"] in doc["simulated"]
    assert doc["n_queries"] > 0 and 0.0 <= doc["recall"] <= 1.0 and doc["seconds"] > 0


def _check_demo(world, out, doc):
    assert doc["logs"]["users"] == 60 and doc["rejoin"]["n_library"] > 0
    assert 0.0 <= doc["rejoin"]["acc_overall"] <= 1.0 and Path(doc["out_dir"]) == out / "demo"


def _check_access_logs(world, out, doc):
    rows = _rows(out / "a.csv")
    assert doc["rows"] == len(rows) and doc["users"] == len({r["user_id"] for r in rows}) == 30
    assert (doc["days"], doc["start"]) == (7, "2013-11-04")


def _check_device_reports(world, out, doc):
    assert doc["users"] == 60 and doc["purchases"] == len(_rows(out / "d" / "purchases.csv"))
    assert doc["reports"] == len(_rows_jsonl(out / "d" / "reports.jsonl.gz"))


def _rows_jsonl(path: Path) -> list:
    with gzip.open(path, "rt") as handle:
        return [line for line in handle if line.strip()]


def _check_features(world, out, doc):
    reports = _rows_jsonl(world["root"] / "dev" / "reports.jsonl.gz")
    assert doc["reports"] == len(reports) and doc["month"] == "2024-05"
    assert 0 < doc["users"] <= 60 and doc["out"] == str(out / "f.parquet")


def _check_devices_train(world, out, doc):
    assert doc["n_train"] + doc["n_test"] <= 60 and doc["epochs"] <= 200
    assert sum(map(sum, doc["confusion"])) == doc["n_test"]
    assert 0.0 <= doc["test_accuracy"] <= 1.0 and doc["tiers"] == ["vip", "growth", "ordinary"]


def _check_devices_predict(world, out, doc):
    assert doc["users"] == len(_rows(out / "t.csv")) == sum(doc["tiers"].values())


def _check_report(world, out, doc):
    assert Path(doc["report"]).is_file() and Path(doc["report"]).stat().st_size > 1000


def _check_customers_count(world, out, doc):
    assert doc["customers"] == 200


def _check_customers_score(world, out, doc):
    assert doc["customers"] == 200 == sum(r["count"] for r in doc["pre_classes"])


def _check_customers_train(world, out, doc):
    assert doc["n_customers"] == 200 and doc["model"] == str(out / "cm")


def _check_customers_predict(world, out, doc):
    assert doc["customers"] == 200 == sum(t["count"] for t in doc["tiers"].values())


def _check_stability(world, out, doc):
    assert doc["seeds"] == [0, 1] and 0.0 <= doc["all_agree"] <= doc["pairwise_min"] <= 1.0


def _check_synth_customers(world, out, doc):
    assert doc["customers"] == 200 == sum(doc["pre_classes"].values())
    assert len(_rows(out / "c.csv")) == 200


GESIS = ["--user-col", "panelist_id", "--time-col", "used_at", "--site-col", "domain"]
CASES = {
    "logs summary": (_gesis_summary, _check_summary),
    "logs ingest": (lambda w, o: ["logs", "ingest", w["gesis"], *GESIS, "--workspace",
                                  o / "i.duckdb"], _check_ingest),
    "rejoin index": (lambda w, o: ["rejoin", "index", w["gesis"], *GESIS, "--workspace",
                                   o / "x.duckdb"], _check_index),
    "rejoin add-day": (lambda w, o: ["rejoin", "add-day", w["gesis"], *GESIS, "--workspace",
                                     o / "x.duckdb"], _check_add_day),
    "rejoin status": (lambda w, o: ["rejoin", "status", "--workspace", w["w"]], _check_status),
    "rejoin identify": (lambda w, o: ["rejoin", "identify", "--queries", w["gesis"], *GESIS,
                                      "--workspace", w["w"], "--out", o / "m.csv"],
                        _check_identify),
    "rejoin links": (lambda w, o: ["rejoin", "links", "--workspace", w["w"]], _check_links),
    "forget": (lambda w, o: ["forget", FIRST_PANELIST, "--raw", "--workspace",
                             _copy_workspace(w, o)], _check_forget),
    "rejoin evaluate": (lambda w, o: ["rejoin", "evaluate", w["gesis"], *GESIS],
                        _check_evaluate),
    "rejoin calibrate": (lambda w, o: ["rejoin", "calibrate", w["gesis"], *GESIS, "--out",
                                       o / "cal.toml", "--max-trials", "2"], _check_calibrate),
    "rejoin train": (lambda w, o: ["rejoin", "train", "--workspace", _copy_workspace(w, o),
                                   "--cuts", "2", "--draws", "1", "--target-queries", "60"],
                     _check_train),
    "demo": (lambda w, o: ["demo", "--out", o / "demo", "--users", "60", "--days", "12"],
             _check_demo),
    "synth access-logs": (lambda w, o: ["synth", "access-logs", "--out", o / "a.csv",
                                        "--users", "30", "--days", "7"], _check_access_logs),
    "synth device-reports": (lambda w, o: ["synth", "device-reports", "--out", o / "d",
                                           "--users", "60"], _check_device_reports),
    "synth customers": (lambda w, o: ["synth", "customers", "--out", o / "c.csv", "--n", "200"],
                        _check_synth_customers),
    "devices features": (lambda w, o: ["devices", "features", "--month", "2024-05", "--reports",
                                       w["root"] / "dev" / "reports.jsonl.gz", "--out",
                                       o / "f.parquet"], _check_features),
    "devices train": (lambda w, o: ["devices", "train", "--features",
                                    w["root"] / "features.parquet", "--labels",
                                    w["root"] / "dev" / "labels.csv", "--model", o / "dm",
                                    "--epochs", "200"], _check_devices_train),
    "devices predict": (lambda w, o: ["devices", "predict", "--model", w["root"] / "dmodel",
                                      "--features", w["root"] / "features.parquet", "--out",
                                      o / "t.csv"], _check_devices_predict),
    "devices report": (lambda w, o: ["devices", "report", "--model", w["root"] / "dmodel",
                                     "--features", w["root"] / "features.parquet", "--out",
                                     o / "r.html"], _check_report),
    "customers score": (lambda w, o: ["customers", "score", "--data",
                                      w["root"] / "customers.csv", "--out", o / "s.csv"],
                        _check_customers_score),
    "customers train": (lambda w, o: ["customers", "train", "--data",
                                      w["root"] / "customers.csv", "--model", o / "cm",
                                      "--epochs", "50"], _check_customers_train),
    "customers predict": (lambda w, o: ["customers", "predict", "--model", w["root"] / "cmodel",
                                        "--data", w["root"] / "customers.csv", "--out",
                                        o / "t.csv"], _check_customers_predict),
    "customers report": (lambda w, o: ["customers", "report", "--model", w["root"] / "cmodel",
                                       "--out", o / "r.html"], _check_report),
    "customers run": (lambda w, o: ["customers", "run", "--data", w["root"] / "customers.csv",
                                    "--out", o / "t.csv", "--epochs", "50"],
                      lambda w, o, d: _check_customers_count(w, o, {"customers":
                                                                    d["n_customers"]})),
    "customers stability": (lambda w, o: ["customers", "stability", "--data",
                                          w["root"] / "customers.csv", "--seeds", "2",
                                          "--epochs", "30"], _check_stability),
}  # fmt: skip


@pytest.mark.parametrize("mode", ["file", "stdout"])
@pytest.mark.parametrize("name", list(CASES))
def test_every_command_writes_its_summary_as_json(capsys, tmp_path, world, name, mode):
    words, check = CASES[name]
    args = [str(a) for a in words(world, tmp_path)]
    target = tmp_path / "out.json"
    code, out, err = run(capsys, *args, "--json", str(target) if mode == "file" else "-")
    assert code == 0, err
    if mode == "file":
        doc = json.loads(target.read_text())
        assert f"summary: {target}" in out
    else:
        doc = json.loads(out)  # stdout is the JSON alone; the text for people went to stderr
        assert not target.exists() and err.strip()
    check(world, tmp_path, doc)


@pytest.mark.parametrize("name", ["rejoin status", "logs summary", "synth access-logs"])
def test_an_existing_json_file_is_kept_without_force_and_checked_before_the_work(
    capsys, tmp_path, world, name
):
    target = tmp_path / "out.json"
    target.write_text("keep me\n")
    args = [str(a) for a in CASES[name][0](world, tmp_path)]
    code, _, err = run(capsys, *args, "--json", str(target))
    assert code != 0 and "--force" in err and target.read_text() == "keep me\n"
    assert not (tmp_path / "a.csv").exists()  # synth access-logs: refused before writing
    code, _, err = run(capsys, *args, "--json", str(target), "--force")
    assert code == 0, err
    CASES[name][1](world, tmp_path, json.loads(target.read_text()))


def test_a_bare_json_is_json_on_stdout_and_quiet_drops_the_text_for_people(capsys, world):
    code, out, err = run(capsys, "-q", "rejoin", "status", "--workspace", str(world["w"]),
                         "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["users"] == 10 and "users" not in err
    code, out, err = run(capsys, "rejoin", "status", "--workspace", str(world["w"]), "--json")
    assert json.loads(out)["users"] == 10 and "10 users" in err
