"""Names and settings that reach SQL: checked against a strict pattern, then quoted.

Nothing a user types is pasted into SQL as is. A name (an indicator, a table, a column alias)
must match :data:`NAME_PATTERN` and is then quoted the engine's way; a size setting such as a
memory limit must read as a number and a unit.
"""

from __future__ import annotations

import re

from netpersona._core._exceptions import ConfigError

#: what a name that becomes a SQL identifier may look like: a letter or ``_``, then letters,
#: digits or ``_`` (at most 64 characters in all)
NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]{0,63}"
_NAME = re.compile(NAME_PATTERN)
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB|%)?\s*", re.IGNORECASE)


def check_name(name: object, what: str = "name") -> str:
    """``name`` as a string when it matches :data:`NAME_PATTERN`; else :class:`ConfigError`
    saying what is allowed.

    >>> check_name("repeat_purchases", "indicator name")
    'repeat_purchases'
    >>> check_name('x" FROM t; --', "indicator name")
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.ConfigError: indicator name 'x" FROM t; --' is not allowed: use letters, digits and _ (starting with a letter or _, at most 64 characters)
    """  # noqa: E501
    text = str(name) if name is not None else ""
    if not _NAME.fullmatch(text):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise ConfigError(
            f"{what} {shown!r} is not allowed: use letters, digits and _ (starting with a "
            "letter or _, at most 64 characters)"
        )
    return text


def quote_identifier(name: str, dialect: str = "duckdb") -> str:
    """``name`` quoted as a SQL identifier of ``dialect`` (``duckdb``, ``postgres``, ``sqlite``:
    double quotes; ``spark``, ``mysql``: backticks), the quote character doubled inside.

    >>> quote_identifier('a"b'), quote_identifier("a`b", "spark")
    ('"a""b"', '`a``b`')
    """
    quote = "`" if dialect in {"spark", "spark2", "databricks", "hive", "mysql"} else '"'
    return quote + str(name).replace(quote, quote * 2) + quote


def check_size(value: str, what: str = "--memory-limit") -> str:
    """A size setting (``"2GB"``, ``"512 MiB"``, ``"80%"``) normalised (``"2GB"``), or
    :class:`ConfigError`; the result holds only digits, a dot and a unit, safe in a ``SET``.

    >>> check_size(" 2 gb"), check_size("75%")
    ('2GB', '75%')
    >>> check_size("1GB'; COPY t TO 'x'; --")
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.ConfigError: --memory-limit "1GB'; COPY t TO 'x'; --" is not a size; expected a number and a unit, e.g. 2GB, 512MB, 80%
    """  # noqa: E501
    match = _SIZE.fullmatch(str(value))
    if not match:
        raise ConfigError(
            f"{what} {str(value)[:80]!r} is not a size; expected a number and a unit, "
            "e.g. 2GB, 512MB, 80%"
        )
    number, unit = match.groups()
    unit = (unit or "B").upper().replace("I", "i")
    return f"{number}{unit}"


def literal_path(path: object) -> str:
    """``path`` as a DuckDB file reader takes it literally: its glob characters (``* ? [``)
    each in a one-character class, so ``x[12].csv`` reads that file, not ``x1.csv`` and
    ``x2.csv`` (a path without them is returned as is).

    >>> literal_path("logs/x[12].csv"), literal_path("logs/s*.csv"), literal_path("a.csv")
    ('logs/x[[]12].csv', 'logs/s[*].csv', 'a.csv')
    """
    text = str(path)
    if not any(ch in text for ch in "*?["):
        return text
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)
