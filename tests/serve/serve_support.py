"""Helpers of the service tests: a small indexed workspace (:func:`build_corpus`) and real
server processes on free ports (:func:`start_server`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
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
START = dt.datetime(2024, 3, 1)
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


def habitual_rows(n_users: int, days: int, seed: int = 3) -> list[dict]:
    """Habitual users: two shared portals and five personal sites each, visited along a
    personal route in three personal peak hours a day (so the paper's steps can tell them
    apart). Rows ``user_id, ts, url``."""
    rng = random.Random(seed)
    portals = [f"portal{i}.com" for i in range(6)]
    rows = []
    for u in range(n_users):
        route = rng.sample(portals, 2) + [f"own{u}x{k}.cn" for k in range(5)]
        rng.shuffle(route)
        peaks = rng.sample(range(24), 3)
        for d in range(days):
            for h in peaks:
                if rng.random() < 0.1:
                    continue
                offset = rng.randrange(len(route))
                for m in range(0, 60, 2):
                    site = route[(m // 6 + offset) % len(route)]
                    if rng.random() < 0.05:
                        site = rng.choice(portals)
                    ts = START + dt.timedelta(days=d, hours=h, minutes=m, seconds=rng.randrange(60))
                    rows.append({"user_id": f"1380000{u:04d}", "ts": ts.isoformat(),
                                 "url": f"http://www.{site}/p/{rng.randrange(9)}"})  # fmt: skip
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def build_corpus(folder: Path) -> Corpus:
    """The corpus in ``folder``: logs, an indexed workspace, three tokens.

    54 habitual users over 20 days; library: users 0-47, days 1-16; extra library (added while
    serving): users 48-53, days 1-16; queries: the last 4 days of users 40-51 under new ids
    (8 in the library, 4 not)."""
    rows = habitual_rows(54, 20)
    cut = (START + dt.timedelta(days=16)).isoformat()

    def number(row: dict) -> int:
        return int(row["user_id"][-4:])

    library = _write_jsonl(folder / "library.jsonl",
                           [r for r in rows if number(r) < 48 and r["ts"] < cut])  # fmt: skip
    extra = _write_jsonl(folder / "extra.jsonl",
                         [r for r in rows if number(r) >= 48 and r["ts"] < cut])  # fmt: skip
    queries = _write_jsonl(
        folder / "queries.jsonl",
        [{**r, "user_id": "q-" + r["user_id"]} for r in rows
         if 40 <= number(r) < 52 and r["ts"] >= cut],
    )  # fmt: skip
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
