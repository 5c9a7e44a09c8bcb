"""Subscriber ids are personal data: keyed pseudonymisation and masking for display."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from netpersona._core import ConfigError


def load_key(path: str | Path) -> bytes:
    """Read a pseudonymisation key file (its bytes, surrounding whitespace stripped).

    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / 'operator.key'
    >>> _ = path.write_bytes(b'  a secret of at least 16 bytes\\n')
    >>> load_key(path)
    b'a secret of at least 16 bytes'
    """
    path = Path(path)
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the pseudonymisation key file {path}: {exc}") from exc
    if len(key) < 16:
        raise ConfigError(
            f"the pseudonymisation key in {path} is {len(key)} bytes; use at least 16 random "
            "bytes (e.g. `head -c 32 /dev/urandom | base64 > key.txt`)"
        )
    return key


def pseudonymize(user_id: str, key: bytes) -> str:
    """HMAC-SHA256 of ``user_id`` under ``key``, as 64 lowercase hex characters.

    Stable for one key, unrelated across keys, and not reversible without the key.

    >>> alias = pseudonymize('17712343461', b'a secret key of the operator')
    >>> len(alias), alias == pseudonymize('17712343461', b'a secret key of the operator')
    (64, True)
    >>> alias == pseudonymize('17712343461', b'another key')
    False
    """
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()
