"""Fixtures of the service tests (helpers in serve_support.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_support import Corpus, Server, build_corpus, start_server


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def tiers_files(corpus) -> tuple[Path, Path]:
    devices = corpus.folder / "device_tiers.csv"
    devices.write_text("user,tier,p_vip,p_growth,p_ordinary,out_of_range\n"
                       "13800001111,vip,0.8,0.15,0.05,false\n")  # fmt: skip
    customers = corpus.folder / "customer_tiers.csv"
    customers.write_text("customer_id,K,tier\nC-0001,0.81,A\n")
    return devices, customers


@pytest.fixture(scope="module")
def server(corpus, tiers_files, tmp_path_factory) -> Iterator[Server]:
    """One server for the module, on a copy of the workspace (its own reports folder)."""
    folder = tmp_path_factory.mktemp("server")
    workspace = folder / "w.duckdb"
    shutil.copy(corpus.workspace, workspace)
    shutil.copy(corpus.workspace.with_name("w.duckdb.tokens.json"), folder / "w.duckdb.tokens.json")
    devices, customers = tiers_files
    srv = start_server(
        workspace, folder / "server.log", "--device-tiers", str(devices),
        "--customer-tiers", str(customers), "--max-events", "5000",
        "--max-body-bytes", str(600 * 1024),
    )  # fmt: skip
    yield srv
    srv.stop()
