"""Device reports received over HTTP, appended to ``D/YYYY-MM-DD.jsonl`` with group commit.

Durability promise: a request is acknowledged only after every report it carried is in the
day's file *and* the file has been fsynced (a new file's folder too). One writer task takes all
waiting requests at once, checks them with the file reader's rules, drops duplicates, writes,
fsyncs once, and only then answers them all. The queue is bounded: when it is full the request
is refused (503, ``Retry-After``) rather than held in memory without limit.

Idempotency: a report's key is its ``report_id`` or else the SHA-256 of its canonical JSON; the
keys of everything in the folder are indexed at start, so a retry after a timeout or a restart
is acknowledged as a duplicate and not stored twice. A torn last line (the process was killed
mid-write; such a write was never acknowledged) is cut off at start and kept in
``D/.quarantine/``, and the log says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from netpersona._core import WorkspaceError
from netpersona.devices import ReportFields, report_problems
from netpersona.serve._rules import canonical, report_key

log = logging.getLogger("netpersona.serve")

_SUFFIX = ".jsonl"


class QueueFull(Exception):
    """The writer's queue cannot take the request now."""


@dataclass
class Outcome:
    """What became of one request: stored (counts) or refused (each bad report's reason)."""

    accepted: int = 0
    duplicates: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    failed: str | None = None


@dataclass
class _Pending:
    lines: list[str]
    keys: list[str]
    #: per line: whether the reader's SQL must look at it (see :func:`surely_valid`)
    unsure: list[bool]
    future: asyncio.Future


class ReportStore:
    """The report folder, its idempotency index and its single writer."""

    def __init__(
        self,
        folder: str | Path,
        fields: ReportFields = ReportFields(),
        *,
        queue_max: int = 50_000,
        batch_max: int = 20_000,
        metrics=None,
    ) -> None:
        self.folder = Path(folder)
        self.fields = fields.validate()
        self.queue_max = queue_max
        self.batch_max = batch_max
        self.metrics = metrics
        self.index: set[str] = set()
        self._queued = 0
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._lock_file = None
        self._day: str | None = None
        self._file = None
        self._con = None
        self._thread_lock = threading.Lock()

    # ---------------------------------------------------------------- start and stop

    def open(self) -> None:
        """Take the folder (one writer only), repair a torn tail, rebuild the index."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.folder / ".lock", "w")  # noqa: SIM115 - held while open
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise WorkspaceError(  # busy: exit status 3, as a locked workspace
                f"another netpersona serve is writing to {self.folder}; give this one its "
                "own --reports-dir"
            ) from None
        started = time.perf_counter()
        lines = 0
        for path in sorted(self.folder.glob(f"*{_SUFFIX}")):
            repair_torn_tail(path, self.folder / ".quarantine")
            lines += self._index_file(path)
        self._con = duckdb.connect()
        log.info(
            "reports folder %s: %d reports indexed in %.2f s",
            self.folder, lines, time.perf_counter() - started,
        )  # fmt: skip

    def _index_file(self, path: Path) -> int:
        count = 0
        with open(path, encoding="utf-8", errors="replace") as lines:
            for number, text in enumerate(lines, 1):
                text = text.rstrip("\n")
                if not text.strip():
                    continue
                try:
                    report = json.loads(text)
                except ValueError:
                    log.warning("%s line %d is not JSON; left in place, not indexed", path, number)
                    continue
                if isinstance(report, dict):
                    self.index.add(report_key(report, canonical(report)))
                    count += 1
        return count

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._writer(), name="netpersona-report-writer")

    async def stop(self) -> None:
        """Write what is queued, answer it, and close the files."""
        if self._queue is not None and self._task is not None:
            await self._queue.put(None)
            await self._task
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._con is not None:
            self._con.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    # ---------------------------------------------------------------- requests

    def submit(
        self, lines: list[str], keys: list[str], unsure: list[bool] | None = None
    ) -> asyncio.Future:
        """Queue one request's reports; the future gets its :class:`Outcome` after the fsync.
        ``unsure`` marks the reports the reader's rules must check (default: all)."""
        assert self._queue is not None, "start() the store first"
        if self._queued + len(lines) > self.queue_max:
            raise QueueFull
        future = asyncio.get_running_loop().create_future()
        self._queued += len(lines)
        self._set_queued()
        unsure = unsure if unsure is not None else [True] * len(lines)
        self._queue.put_nowait(_Pending(lines, keys, unsure, future))
        return future

    def _set_queued(self) -> None:
        if self.metrics is not None:
            self.metrics.queued.set(self._queued)

    async def _writer(self) -> None:
        assert self._queue is not None
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch, count = [first], len(first.lines)
            while count < self.batch_max and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stopping = True
                    break
                batch.append(item)
                count += len(item.lines)
            try:
                outcomes = await asyncio.to_thread(self._commit, batch)
            except Exception as exc:  # a bug must not kill the writer: answer 500, go on
                log.exception("report commit failed")
                outcomes = [Outcome(failed=f"{type(exc).__name__}: {exc}") for _ in batch]
            self._queued -= count
            self._set_queued()
            for pending, outcome in zip(batch, outcomes, strict=True):
                if not pending.future.done():
                    pending.future.set_result(outcome)

    # ---------------------------------------------------------------- the group commit

    def _commit(self, batch: list[_Pending]) -> list[Outcome]:
        """Check, de-duplicate, append, fsync: one batch of requests (writer thread)."""
        with self._thread_lock:
            lines = [line for p in batch for line in p.lines]
            unsure = [u for p in batch for u in p.unsure]
            problems: list[str | None] = [None] * len(lines)
            check = [i for i, u in enumerate(unsure) if u]
            if check:  # the reader's own SQL, for whatever the plain check could not vouch for
                found = report_problems([lines[i] for i in check], self.fields, con=self._con)
                for i, reason in zip(check, found, strict=True):
                    problems[i] = reason
            outcomes, new_keys, out = [], set(), []
            at = 0
            for pending in batch:
                mine = problems[at : at + len(pending.lines)]
                at += len(pending.lines)
                bad = [(i, reason) for i, reason in enumerate(mine) if reason is not None]
                if bad:
                    outcomes.append(Outcome(problems=bad))
                    continue
                outcome = Outcome()
                for line, key in zip(pending.lines, pending.keys, strict=True):
                    if key in self.index or key in new_keys:
                        outcome.duplicates += 1
                    else:
                        new_keys.add(key)
                        out.append(line)
                        outcome.accepted += 1
                outcomes.append(outcome)
            if out:
                try:
                    self._append("".join(line + "\n" for line in out).encode("utf-8"))
                except OSError as exc:
                    log.error("writing reports failed (%s); %d requests answered 500", exc,
                              len(batch))  # fmt: skip
                    return [
                        o if o.problems else Outcome(failed=f"cannot store reports: {exc}")
                        for o in outcomes
                    ]
                self.index |= new_keys
            if self.metrics is not None:
                self.metrics.reports_stored.inc(len(out))
                self.metrics.reports_duplicate.inc(sum(o.duplicates for o in outcomes))
                self.metrics.reports_rejected.inc(sum(len(o.problems) for o in outcomes))
                self.metrics.batch.observe(len(lines))
            return outcomes

    def _append(self, data: bytes) -> None:
        day = dt.datetime.now(dt.UTC).date().isoformat()
        if day != self._day or self._file is None:
            if self._file is not None:
                self._file.close()
            path = self.folder / f"{day}{_SUFFIX}"
            new = not path.exists()
            self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open for the day
            self._day = day
            if new:
                _fsync_folder(self.folder)
        start = self._file.tell()
        try:
            view = memoryview(data)
            while view:
                written = self._file.write(view)
                view = view[written:]
            t = time.perf_counter()
            os.fsync(self._file.fileno())
            if self.metrics is not None:
                self.metrics.fsync.observe(time.perf_counter() - t)
        except OSError:
            with contextlib.suppress(OSError):  # leave no partial batch behind
                self._file.truncate(start)
            raise


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def repair_torn_tail(path: Path, quarantine: Path) -> int:
    """Cut a last line without its newline off ``path`` (kept in ``quarantine``); returns the
    number of bytes cut (0 when the file ends cleanly)."""
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        # find the last newline, reading backwards in blocks
        pos, block = size, 65536
        cut = 0
        while pos > 0:
            step = min(block, pos)
            pos -= step
            f.seek(pos)
            chunk = f.read(step)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                cut = pos + nl + 1
                break
        f.seek(cut)
        torn = f.read()
        quarantine.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        kept = quarantine / f"{path.name}.{stamp}.torn"
        with open(kept, "wb") as out:
            out.write(torn)
            out.flush()
            os.fsync(out.fileno())
        f.truncate(cut)
        f.flush()
        os.fsync(f.fileno())
    log.warning(
        "%s: its last line was torn (%d bytes, the process stopped mid-write; never "
        "acknowledged): cut off and kept in %s",
        path, len(torn), kept,
    )  # fmt: skip
    return len(torn)
