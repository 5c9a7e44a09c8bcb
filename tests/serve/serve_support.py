"""Helpers of the service tests: a small indexed workspace and real server processes on free ports.

The library is a synthetic log (60 users, 8 days); the queries are the last 2 days of 12 users
under new ids (9 of them in the library, 3 not), written as the JSON Lines file the CLI reads
and as the event list the service receives.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parents[2]
GOOD_REPORT = {
    "username": "13800001111",
    "logontime": "2024-03-01T08:00:00",
    "logofftime": "2024-03-01T09:00:00",
    "upflow": 100,
    "downflow": "2MB",
    "reporttime": "2024-03-01T09:00:00",
}


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "netpersona", *args], capture_output=True, text=True, check=check
    )


@dataclass
class Corpus:
    folder: Path
    workspace: Path
    queries: Path  #: JSON Lines: user_id, ts, url
    events: list[dict]
    extra_library: Path  #: more library users, to change the workspace while serving
    n_library: int
    tokens: dict[str, str] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log_path: Path
    port: int

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, token: str | None = None, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def start_server(
    workspace: Path, log_path: Path, *args: str, port: int | None = None, wait: float = 120
) -> Server:
    """``netpersona serve`` in its own process, once /healthz answers 200."""
    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = open(log_path, "ab")  # noqa: SIM115 - the process writes it until it ends
    process = subprocess.Popen(
        [sys.executable, "-m", "netpersona", "serve", "--workspace", str(workspace),
         "--host", "127.0.0.1", "--port", str(port), *args],
        stdout=out, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    out.close()
    server = Server(process, f"http://127.0.0.1:{port}", log_path, port)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited {process.returncode}:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"server did not become healthy:\n{server.log()}")


def report_lines(folder: Path) -> list[str]:
    return [line for p in sorted(folder.glob("*.jsonl")) for line in p.read_text().splitlines()]


def build_corpus(folder: Path) -> Corpus:
    """The corpus in ``folder``: logs, an indexed workspace, three tokens."""
    log = folder / "log.parquet"
    cli("synth", "access-logs", "--out", str(log), "--users", "72", "--days", "8",
        "--page-loads", "6-20", "--requests-per-load", "1-2", "--background-apps", "0",
        "--seed", "7")  # fmt: skip
    con = duckdb.connect()
    users = [
        r[0] for r in con.execute(f"SELECT DISTINCT user_id FROM '{log}' ORDER BY 1").fetchall()
    ]
    library_users, extra_users, query_users = users[:60], users[60:66], users[51:63]
    last = con.execute(f"SELECT max(ts)::DATE - 1 FROM '{log}'").fetchone()[0]

    def write(path: Path, sql: str) -> None:
        con.execute(
            f"COPY ({sql}) TO '{path}' (FORMAT {'json' if path.suffix == '.jsonl' else 'parquet'})"
        )

    def ids(values) -> str:
        return ", ".join(f"'{v}'" for v in values)

    library = folder / "library.parquet"
    write(library, f"SELECT * FROM '{log}' WHERE user_id IN ({ids(library_users)}) "
                   f"AND ts::DATE < DATE '{last}'")  # fmt: skip
    extra = folder / "extra.parquet"
    write(extra, f"SELECT * FROM '{log}' WHERE user_id IN ({ids(extra_users)}) "
                 f"AND ts::DATE < DATE '{last}'")  # fmt: skip
    queries = folder / "queries.jsonl"
    write(queries, f"SELECT 'q-' || user_id AS user_id, strftime(ts, '%Y-%m-%dT%H:%M:%S') AS ts, "
                   f"url FROM '{log}' WHERE user_id IN ({ids(query_users)}) "
                   f"AND ts::DATE >= DATE '{last}' ORDER BY user_id, ts")  # fmt: skip
    workspace = folder / "w.duckdb"
    cli("rejoin", "index", str(library), "--workspace", str(workspace))
    events = [json.loads(line) for line in queries.read_text().splitlines()]
    with duckdb.connect(str(workspace), read_only=True) as ws:
        n_library = ws.execute("SELECT count(*) FROM library_users").fetchone()[0]
    corpus = Corpus(folder, workspace, queries, events, extra, n_library)
    for name, scopes in {
        "all": ("ingest", "identify", "read"),
        "ingest": ("ingest",),
        "reader": ("read",),
    }.items():
        scope_args = [a for s in scopes for a in ("--scope", s)]
        out = cli("tokens", "create", name, "--workspace", str(workspace), *scope_args)
        corpus.tokens[name] = out.stdout.strip()
    return corpus
