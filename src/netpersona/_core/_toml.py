"""Reading a TOML file people wrote: every way it can be wrong is a :class:`ConfigError`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from netpersona._core._exceptions import ConfigError


def load_toml(path: str | Path, what: str = "file") -> dict[str, Any]:
    """The parsed TOML document at ``path``; a :class:`ConfigError` naming the file (and
    ``what`` it is) when it cannot be read, is not UTF-8, is not TOML or nests too deeply.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / 'bad.toml'
    >>> _ = path.write_bytes(b'name = "\\xff"')
    >>> load_toml(path, 'indicator system')
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.ConfigError: .../bad.toml: the indicator system is not UTF-8 text (invalid start byte at byte 8); save it as UTF-8
    """  # noqa: E501
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: the {what} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a folder, where the {what} (TOML) was expected") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: the {what} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: the {what} nests arrays or tables too deeply") from None
