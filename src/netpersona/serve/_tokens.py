"""Bearer tokens with scopes, kept as hashes in a sidecar file next to the workspace.

``<workspace>.tokens.json`` (mode 0600, replaced atomically) holds, per token, its name, scopes,
creation time and the SHA-256 of the token; the token itself is printed once by
:func:`create_token` and stored nowhere. A running server re-reads the file when its identity
(inode, size, mtime) changes, so a revoked token stops working within ``recheck_seconds``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from netpersona._core import ConfigError, InputError

#: what a token may be used for: send device reports, identify numbers, read tiers and metrics
SCOPES = ("ingest", "identify", "read")
#: tokens carry this prefix, so a leaked one is recognisable in a log or a secret scanner
TOKEN_PREFIX = "np_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FORMAT = 1


def tokens_path(workspace: str | Path) -> Path:
    """The token file of ``workspace``: ``<workspace>.tokens.json`` beside it."""
    workspace = Path(workspace)
    return workspace.with_name(workspace.name + ".tokens.json")


@dataclass(frozen=True)
class TokenRecord:
    """One stored token: never the token itself, only its SHA-256."""

    name: str
    scopes: tuple[str, ...]
    sha256: str
    created: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_tokens(path: str | Path) -> list[TokenRecord]:
    """The tokens in a token file (none when the file does not exist)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    try:
        data = json.loads(text)
        return [
            TokenRecord(t["name"], tuple(t["scopes"]), t["sha256"], t["created"])
            for t in data["tokens"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"not a netpersona token file ({exc})",
            path=path,
            hint="recreate it with `netpersona tokens create`, or restore it from a backup",
        ) from None


def _write_tokens(path: Path, records: list[TokenRecord]) -> None:
    """Replace the token file atomically, readable by its owner only."""
    body = {
        "format": _FORMAT,
        "tokens": [
            {"name": r.name, "scopes": list(r.scopes), "sha256": r.sha256, "created": r.created}
            for r in records
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the token file between commands."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def create_token(workspace: str | Path, name: str, scopes: list[str] | tuple[str, ...]) -> str:
    """Make a new random token ``name`` with ``scopes``; store its hash; return the token."""
    if not _NAME.match(name):
        raise ConfigError(
            f"token name {name!r}: use 1-64 letters, digits, '_', '.' or '-' (e.g. probe-fleet)"
        )
    wanted = tuple(dict.fromkeys(scopes))
    unknown = [s for s in wanted if s not in SCOPES]
    if not wanted or unknown:
        raise ConfigError(f"token scope {unknown or '(none)'}: choose from {', '.join(SCOPES)}")
    path = tokens_path(workspace)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with _locked(path):
        records = read_tokens(path)
        if any(r.name == name for r in records):
            raise ConfigError(
                f"a token called {name!r} exists already; revoke it first "
                f"(`netpersona tokens revoke {name} --workspace {workspace}`) or pick another name"
            )
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        records.append(TokenRecord(name, wanted, _digest(token), created))
        _write_tokens(path, records)
    return token


def revoke_token(workspace: str | Path, name: str) -> None:
    """Remove token ``name``; a running server refuses it within seconds."""
    path = tokens_path(workspace)
    with _locked(path):
        records = read_tokens(path)
        kept = [r for r in records if r.name != name]
        if len(kept) == len(records):
            known = ", ".join(r.name for r in records) or "none"
            raise ConfigError(f"no token called {name!r} (tokens: {known})")
        _write_tokens(path, kept)


def list_tokens(workspace: str | Path) -> list[TokenRecord]:
    """The tokens of ``workspace`` (names, scopes, creation times; hashes only)."""
    return read_tokens(tokens_path(workspace))


class TokenChecker:
    """What a presented token may do, from a token file watched for changes.

    The file's identity is looked at no more often than every ``recheck_seconds`` and the
    file re-read when it changed; a file that cannot be read keeps the last good tokens.
    """

    def __init__(self, path: str | Path, recheck_seconds: float = 1.0) -> None:
        self.path = Path(path)
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._identity: tuple | None = None
        self._checked = 0.0
        self._records: list[TokenRecord] = []
        self._refresh(force=True)

    @property
    def empty(self) -> bool:
        return not self._records

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.recheck_seconds:
            return
        with self._lock:
            self._checked = now
            try:
                st = self.path.stat()
                identity: tuple | None = (st.st_ino, st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                identity = None
            if identity == self._identity and not force:
                return
            try:
                self._records = read_tokens(self.path) if identity is not None else []
                self._identity = identity
            except InputError:
                pass  # half-written by hand? keep the last good set; try again next time

    def scopes_of(self, token: str) -> tuple[str, ...] | None:
        """The scopes of ``token``, or ``None`` when no stored token matches.

        Every stored hash is compared, in constant time, whether or not one matched already.
        """
        self._refresh()
        presented = _digest(token)
        found: tuple[str, ...] | None = None
        for record in self._records:
            if hmac.compare_digest(presented, record.sha256):
                found = record.scopes
        return found
