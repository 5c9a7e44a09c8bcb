"""The workspace: one DuckDB file in which netpersona keeps its tables between commands.

Every ingested file is recorded with its content hash (SHA-256) per table, so ingesting the
same content into the same table again is a no-op with a message instead of duplicate rows.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from netpersona._core import Progress
from netpersona.engine._duckdb import DuckDBEngine

if TYPE_CHECKING:
    from netpersona.io import LogMapping, ReadSummary

#: the table recording which file contents went into which table
LEDGER = "_netpersona_ingested"
DEFAULT_WORKSPACE = "netpersona.duckdb"
_CHUNK = 1 << 20


def content_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes, as hex (streamed: memory stays flat on huge logs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Workspace(DuckDBEngine):
    """A DuckDB engine over a workspace file (created if missing), with ingest bookkeeping."""

    def __init__(
        self,
        path: str | Path = DEFAULT_WORKSPACE,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        read_only: bool = False,
    ) -> None:
        if not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, threads=threads, memory_limit=memory_limit, read_only=read_only)
        if not read_only:
            self.execute(
                f"CREATE TABLE IF NOT EXISTS {LEDGER} (table_name VARCHAR, content_hash VARCHAR, "
                "source VARCHAR, rows BIGINT, rejected BIGINT, ingested_at TIMESTAMP)"
            )

    def has_table(self, name: str) -> bool:
        """Whether a table or view called ``name`` exists in the workspace."""
        from netpersona.io._sources import table_exists

        return table_exists(self, name)

    def ingested(self, table: str | None = None) -> list[dict]:
        """The files ingested so far (into ``table``, or into any table), oldest first."""
        if not self.has_table(LEDGER):
            return []
        where = "" if table is None else f" WHERE table_name = '{table.replace(chr(39), '')}'"
        return self.fetch_arrow(
            f"SELECT * FROM {LEDGER}{where} ORDER BY ingested_at, source"
        ).to_pylist()

    def ingest(
        self,
        paths: str | Path | Sequence[str | Path],
        mapping: LogMapping | None = None,
        table: str = "access_log",
        quarantine: str | Path | None = None,
        progress: Progress | None = None,
    ) -> ReadSummary:
        """Append access-log files to ``table`` (created if missing), skipping any file whose
        content was ingested into ``table`` before. All or nothing: if a file fails, the table
        and the record of ingested files stay as they were."""
        from netpersona.io import ReadSummary, read_access_log

        progress = progress or Progress()
        files = [Path(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
        seen = {row["content_hash"] for row in self.ingested(table)}
        fresh: list[tuple[Path, str]] = []
        skipped: list[Path] = []
        for path in progress.track(files, "hashing files"):
            digest = content_hash(path)
            if digest in seen:
                progress.log(
                    f"{path}: this content (sha256 {digest[:12]}…) is already in table "
                    f"{table}; skipped"
                )
                skipped.append(path)
            else:
                seen.add(digest)
                fresh.append((path, digest))
        if not fresh:
            return ReadSummary(table=table, skipped=tuple(skipped))
        self.execute("BEGIN TRANSACTION")
        try:
            summary = read_access_log(
                [p for p, _ in fresh],
                mapping,
                engine=self,
                table=table,
                quarantine=quarantine,
                progress=progress,
                append=True,
            )
            now = _dt.datetime.now(_dt.UTC).replace(tzinfo=None)
            for path, digest in fresh:
                self.con.execute(
                    f"INSERT INTO {LEDGER} VALUES (?, ?, ?, ?, ?, ?)",
                    [table, digest, str(path.resolve()), *summary.by_file[path], now],
                ).fetchall()
            self.execute("COMMIT")
        except BaseException:
            self.execute("ROLLBACK")
            raise
        summary.skipped = tuple(skipped)
        return summary
