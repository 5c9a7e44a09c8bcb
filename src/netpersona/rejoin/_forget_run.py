"""``netpersona forget``: a subscriber leaves the workspace, the files beside it and the given
tiers files, with an audit line saying what went (never the id itself). See docs/forget.md.

Order, so that a kill leaves a whole state: (1) under the workspace's writer lock and the
reports folder's lock, the database's next state is written into a fresh file and the files to
change are written as ``*.forget-tmp`` copies; (2) the new database is swapped in (the commit:
a kill before it leaves everything as it was); (3) the copies are renamed over their files, the
trained matcher is removed (or trained again), the audit line appended. A kill during (3)
leaves the database forgotten and some files not yet: ``forget`` again finishes the job (it is
idempotent), and it says so.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from netpersona._core import ConfigError, InputError, Progress, mask_id, sync_folder
from netpersona.engine import Workspace
from netpersona.io import load_key, pseudonymize
from netpersona.rejoin._forget import LINKS, SOURCE, forget_in, linked_ids, literal
from netpersona.rejoin._forget_files import (
    STAGED,
    beside,
    byte_scan,
    clear_staged,
    commit_staged,
    files_under,
    reports_lock,
    stage_file,
)

_PSEUDONYM = re.compile(r"[0-9a-f]{64}")
_OLD = ".forget-old"
#: ids shorter than this are not looked for in the files' bytes afterwards: they occur there by
#: chance (their rows are gone all the same; phone numbers and pseudonyms are longer)
SCAN_MIN_BYTES = 8


def audit_path(workspace: str | Path) -> Path:
    """The audit file of workspace ``workspace``: one JSON line per ``forget``."""
    workspace = Path(workspace)
    return workspace.with_name(workspace.name + ".audit.jsonl")


def reports_dir_of(workspace: str | Path) -> Path:
    """Where ``netpersona serve`` keeps device reports by default (``W.reports``)."""
    workspace = Path(workspace)
    return workspace.with_name(workspace.name + ".reports")


@dataclass
class ForgetSummary:
    """What :func:`forget` removed. Ids appear masked only.

    >>> s = ForgetSummary("w.duckdb", "a1b****9f0e", tables={"library_log": 12})
    >>> s.describe()[0]
    'forgot a1b****9f0e (and 0 linked id(s)) in w.duckdb: 12 row(s) from 1 table(s)'
    """

    workspace: str
    user: str
    linked: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    matcher: str = "none"
    version: int = 0
    seconds: float = 0.0
    #: files where the id's bytes were still found afterwards (should be empty)
    leftovers: list[str] = field(default_factory=list)

    def describe(self) -> list[str]:
        """Lines for a person."""
        lines = [
            f"forgot {self.user} (and {len(self.linked)} linked id(s)) in {self.workspace}: "
            f"{sum(self.tables.values()):,} row(s) from {len(self.tables)} table(s)"
        ]
        lines += [f"  table {t}: {n:,} row(s)" for t, n in sorted(self.tables.items())]
        lines += [f"  file {f}: {n:,} line(s)" for f, n in sorted(self.files.items())]
        lines.append(f"  trained matcher: {self.matcher}")
        lines += [f"  STILL FOUND in {f}" for f in self.leftovers]
        return lines

    def audit(self) -> dict:
        """The audit record (the masked id, never the id)."""
        return {
            "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "action": "forget",
            "user": self.user,
            "linked": self.linked,
            "tables": self.tables,
            "files": self.files,
            "matcher": self.matcher,
            "version": self.version,
            "leftovers": self.leftovers,
        }


def stored_ids(user_id: str, key: str | Path | bytes | None, raw: bool) -> list[str]:
    """The forms of ``user_id`` to forget: with ``key`` its pseudonym and the id itself (a file
    may hold it unpseudonymised); with ``raw`` the id as given (a workspace built without a
    key); else the id must be a pseudonym (64 hex digits) as stored."""
    user_id = user_id.strip()
    if not user_id:
        raise ConfigError("forget needs a subscriber id")
    if key is not None:
        secret = key if isinstance(key, bytes) else load_key(key)
        return [pseudonymize(user_id, secret), user_id]
    if raw or _PSEUDONYM.fullmatch(user_id):
        return [user_id]
    raise ConfigError(
        f"{mask_id(user_id)} is not a pseudonym (64 hex digits): give --key KEYFILE to "
        "pseudonymise the raw id as the logs were read, or --raw if the workspace was built "
        "without a key and stores raw ids"
    )


def forget(
    workspace: str | Path,
    user_id: str,
    *,
    key: str | Path | bytes | None = None,
    raw: bool = False,
    reports_dir: str | Path | None = None,
    tiers: Sequence[str | Path] = (),
    retrain: bool = False,
    progress: Progress | None = None,
) -> ForgetSummary:
    """Forget subscriber ``user_id`` (and every id identity links connect to it) in workspace
    ``workspace``: its rows in every table (profiles derived again without them, the file
    rewritten so no free page keeps them), its identity links, the trained matcher (removed, or
    trained again with ``retrain``), its reports in ``reports_dir`` (default ``W.reports``), its
    rows in the ``tiers`` files and in any JSON Lines / CSV file in the ``W.*`` folders; then an
    audit line in ``W.audit.jsonl``. Raises :class:`~netpersona.WorkspaceBusyError` while
    another process writes the workspace."""
    progress = progress or Progress()
    started = time.perf_counter()
    path = Path(workspace)
    if not path.is_file():
        raise InputError("no such workspace", path=path, hint="give the file of --workspace")
    forms = stored_ids(user_id, key, raw)
    reports = Path(reports_dir) if reports_dir is not None else reports_dir_of(path)
    given = [Path(t) for t in tiers]
    for tier in given:
        if not tier.is_file():
            raise InputError("no such tiers file", path=tier)
    summary = ForgetSummary(str(path), mask_id(forms[0]))
    with reports_lock(reports):
        _merge_wal(path)
        places = [p for p in beside(path) if p != path and p.name != f"{path.name}.wal"]
        candidates = [f for f in files_under([*places, reports, *given]) if _rewritable(f, path)]
        clear_staged(f for f in candidates if f.name.endswith(STAGED))  # a killed run's
        candidates = [f for f in candidates if not f.name.endswith(STAGED)]
        _clear_old_matcher(path)
        staged: list[Path] = []
        try:
            with Workspace.rebuild(path, fresh=True, what="forget") as ws:
                ids = _forget_tables(ws, path, forms, summary)
                for file in progress.track(candidates, "forget: files"):
                    tmp, removed = stage_file(file, ids)
                    if tmp is not None:
                        staged.append(tmp)
                        summary.files[str(file)] = removed
                summary.version = Workspace.state_of(ws).version
        except BaseException:
            clear_staged(staged)
            raise
        commit_staged(staged)  # the database is forgotten: the files follow
        summary.matcher = _forget_matcher(path, retrain, progress)
    summary.seconds = time.perf_counter() - started
    scan = files_under([*beside(path), reports, *given])
    scanned = [i for i in ids if len(i.encode("utf-8")) >= SCAN_MIN_BYTES]
    summary.leftovers = sorted({str(p) for p, _ in byte_scan(scan, scanned)})
    _append_audit(audit_path(path), summary.audit())
    return summary


def _rewritable(file: Path, workspace: Path) -> bool:
    if file == audit_path(workspace) or file.name == ".lock":
        return False
    return Workspace.matcher_dir(workspace) not in file.parents


def _forget_tables(ws: Workspace, path: Path, forms: list[str], summary: ForgetSummary):
    """The database part: attach the live state read-only, follow links, copy without."""
    ws.execute(f"ATTACH {literal(str(path))} AS {SOURCE} (READ_ONLY)")
    try:
        ids = linked_ids(ws, forms, f"{SOURCE}.main.{LINKS}")
        summary.linked = sorted(mask_id(i) for i in ids - set(forms))
        summary.tables = forget_in(ws, ids)
    finally:
        ws.execute(f"DETACH {SOURCE}")
    return ids


def _merge_wal(path: Path) -> None:
    """Fold a left-over write-ahead log into the live file first (a writer killed before its
    checkpoint leaves one): the fresh file must not find a stale ``W.wal`` beside it."""
    if Path(f"{path}.wal").exists():
        with Workspace(path) as ws:
            ws.execute("CHECKPOINT")


def _clear_old_matcher(path: Path) -> None:
    old = Workspace.matcher_dir(path).with_name(Workspace.matcher_dir(path).name + _OLD)
    if old.exists():
        shutil.rmtree(old)


def _forget_matcher(path: Path, retrain: bool, progress: Progress) -> str:
    """The trained matcher learnt from simulated re-joins of every library user, the forgotten
    one too, and its saved training rows cannot be told apart by user: it goes whole (renamed
    aside, then deleted), or is trained again on the forgotten library with its parameters."""
    folder = Workspace.matcher_dir(path)
    if not folder.exists():
        return "none"
    params = None
    if retrain:
        meta = json.loads((folder / "matcher.json").read_text(encoding="utf-8"))
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in meta["params"].items()}
    old = folder.with_name(folder.name + _OLD)
    os.replace(folder, old)
    sync_folder(path.parent)
    shutil.rmtree(old)
    if params is None:
        return "removed (train it again: `netpersona rejoin train --workspace W`)"
    from netpersona.rejoin._library_train import train

    train(path, force=True, progress=progress, **params)
    return "trained again without the id"


def _append_audit(path: Path, record: dict) -> None:
    line = json.dumps(record, sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    sync_folder(path.parent)
