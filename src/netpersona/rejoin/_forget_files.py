"""Forgetting subscribers in the files beside a workspace: device reports (JSON Lines, one file
per day), tiers files (CSV) and whatever else of those kinds sits in the workspace's folders.

A file is rewritten only when it holds one of the ids: the kept lines go to ``<file>.forget-tmp``
(fsynced), which :func:`commit_staged` renames over the file once the workspace's new state is in
place. A JSON line goes when any value in it (at any depth) is one of the ids; a CSV row when any
cell is; a line that is not valid JSON when it contains an id at all. :func:`byte_scan` then
looks for the ids' bytes in every file, as the check that nothing was missed.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from netpersona._core import ConfigError, sync_folder

#: the suffix of a rewritten file before it replaces the original
STAGED = ".forget-tmp"
_TEXT = {".jsonl": "jsonl", ".ndjson": "jsonl", ".torn": "jsonl", ".csv": ",", ".tsv": "\t"}
_CHUNK = 1 << 22


def _values(value) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def _keep_json(line: str, ids: frozenset[str]) -> bool:
    text = line.strip()
    if not text:
        return True
    try:
        report = json.loads(text)
    except ValueError:  # a torn or foreign line: gone if it mentions an id at all
        return not any(i in text for i in ids)
    return not any(value in ids for value in _values(report))


def _kept_csv(text: str, sep: str, ids: frozenset[str]) -> tuple[list[list[str]], int]:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    kept = [rows[0]] if rows else []
    kept += [r for r in rows[1:] if not any(cell.strip() in ids for cell in r)]
    return kept, len(rows) - len(kept)


def stage_file(path: Path, ids: Iterable[str]) -> tuple[Path | None, int]:
    """Write ``path`` without the lines (reports) or rows (CSV) holding one of ``ids`` to
    ``<path>.forget-tmp``, fsynced: (that file, lines removed), or (None, 0) when the file
    holds none of them or is not a kind this reads (JSON Lines and the torn tails serve
    quarantines, CSV, TSV)."""
    kind = _TEXT.get(path.suffix.lower())
    ids = frozenset(ids)
    if kind is None or not ids:
        return None, 0
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    if not any(i in text for i in ids):
        return None, 0
    if kind == "jsonl":
        lines = text.splitlines(keepends=True)
        kept = [line for line in lines if _keep_json(line, ids)]
        removed, out = len(lines) - len(kept), "".join(kept)
    else:
        rows, removed = _kept_csv(text, kind, ids)
        buffer = io.StringIO(newline="")
        csv.writer(buffer, delimiter=kind, lineterminator="\n").writerows(rows)
        out = buffer.getvalue()
    if not removed:
        return None, 0
    staged = path.with_name(path.name + STAGED)
    with open(staged, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
        f.write(out)
        f.flush()
        os.fsync(f.fileno())
    shutil.copymode(path, staged)
    return staged, removed


def commit_staged(staged: Iterable[Path]) -> None:
    """Rename each staged file over its original, then make the renames durable."""
    folders = set()
    for tmp in staged:
        target = tmp.with_name(tmp.name.removesuffix(STAGED))
        os.replace(tmp, target)
        folders.add(target.parent)
    for folder in folders:
        sync_folder(folder)


def clear_staged(paths: Iterable[Path]) -> None:
    """Remove staged files (of this run, or left by one that was killed)."""
    for path in paths:
        path.unlink(missing_ok=True)


def beside(workspace: Path) -> list[Path]:
    """The workspace's own files and folders: ``W``, ``W.wal`` and every ``W.*`` beside it."""
    if not workspace.parent.exists():
        return []
    return sorted(
        p for p in workspace.parent.iterdir()
        if p.name == workspace.name or p.name.startswith(workspace.name + ".")
    )  # fmt: skip


def files_under(paths: Iterable[Path]) -> list[Path]:
    """Every regular file of ``paths`` (files, and folders walked whole), each once."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            found.update((p, None) for p in sorted(path.rglob("*")) if p.is_file())
        elif path.is_file():
            found[path] = None
    return list(found)


def byte_scan(paths: Iterable[Path], ids: Iterable[str]) -> list[tuple[Path, str]]:
    """Every (file, id) where the id's UTF-8 bytes occur in the file (read in overlapping
    chunks, so an id across a chunk border is found too)."""
    needles = [(i, i.encode("utf-8")) for i in sorted(set(ids)) if i]
    if not needles:
        return []
    overlap = max(len(n) for _, n in needles) - 1
    hits: list[tuple[Path, str]] = []
    for path in paths:
        found: set[str] = set()
        try:
            with open(path, "rb") as f:
                tail = b""
                while chunk := f.read(_CHUNK):
                    window = tail + chunk
                    found.update(i for i, n in needles if n in window)
                    tail = window[-overlap:] if overlap else b""
        except OSError:
            continue
        hits.extend((path, i) for i in sorted(found))
    return hits


@contextlib.contextmanager
def reports_lock(folder: Path | None) -> Iterator[None]:
    """Hold the reports folder's writer lock (the one ``netpersona serve`` takes), so no report
    is appended to a day file while it is rewritten; a running serve is a clear error."""
    if folder is None or not folder.is_dir():
        yield
        return
    with open(folder / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"the reports folder {folder} is held by a running `netpersona serve`; stop it, "
                "run forget, and start it again (the reports of the id must leave that folder)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
