"""Table outputs in a database, named by a URL: which URLs are accepted, what they name, and how
they are shown (the password masked).

``duckdb:///tiers.db?table=tiers`` and ``sqlite:///tiers.db?table=tiers`` name a database file
the SQLAlchemy way: three slashes and a relative path, four for an absolute one
(``sqlite:////srv/out/tiers.db?table=tiers``). ``postgresql://user:pw@host:5432/db?table=t``
names a server; ``table`` may be ``schema.table`` there, and the URL's other parameters
(``sslmode=require``) go to the connection. A table name is checked against
:data:`TABLE_NAME_PATTERN` before it comes near SQL, and is quoted even then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from netpersona._core._exceptions import UsageError

#: every form ``--out`` takes, for help texts and messages
TABLE_OUTPUTS = (
    ".csv, .parquet, .jsonl, duckdb:///f.db?table=t, sqlite:///f.db?table=t or "
    "postgresql://user:pw@host:port/db?table=t"
)
#: a table name in an output URL: a letter or ``_``, then letters, digits or ``_`` (63 at most,
#: PostgreSQL's limit); PostgreSQL also takes ``schema.table``
TABLE_NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]{0,62}"
_TABLE = re.compile(TABLE_NAME_PATTERN)
#: URL scheme -> the database it writes
DATABASE_SCHEMES = {
    "duckdb": "duckdb",
    "sqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+psycopg": "postgresql",
}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PASSWORD = re.compile(r"(://[^:/?#@]*):[^/?#]*@")
_SECRET_PARAM = re.compile(r"([?&](?:password|passwd|pwd)=)[^&#]*", re.IGNORECASE)


@dataclass(frozen=True)
class TableURL:
    """A database table to write, parsed from ``--out``.

    >>> url = parse_table_url("postgresql://ana:s3cret@db:5432/crm?table=marts.tiers")
    >>> url.kind, url.schema, url.table, url.shown
    ('postgresql', 'marts', 'tiers', 'postgresql://ana:***@db:5432/crm?table=marts.tiers')
    >>> url.conninfo
    'postgresql://ana:s3cret@db:5432/crm'
    >>> parse_table_url("duckdb:////srv/out/x.db?table=t").path
    PosixPath('/srv/out/x.db')
    """

    kind: str  #: ``duckdb``, ``sqlite`` or ``postgresql``
    text: str  #: the URL as given
    table: str
    schema: str | None = None
    path: Path | None = None  #: the database file (DuckDB, SQLite)
    conninfo: str = ""  #: PostgreSQL: the URL without ``table`` (a libpq connection URI)

    @property
    def shown(self) -> str:
        """The URL for messages: the password replaced by ``***``."""
        return mask_url(self.text)

    @property
    def password(self) -> str | None:
        """The password in the URL, to scrub from a driver's messages."""
        return urlsplit(self.conninfo).password if self.conninfo else None


def mask_url(text: str | Path) -> str:
    """``text`` with a URL's password (``user:pw@``, ``?password=``) replaced by ``***``.

    >>> mask_url("postgresql://ana:p%40ss:w@db/crm?table=t")
    'postgresql://ana:***@db/crm?table=t'
    >>> mask_url("postgresql://db/crm?password=hunter2&table=t"), mask_url("tiers.csv")
    ('postgresql://db/crm?password=***&table=t', 'tiers.csv')
    """
    return _SECRET_PARAM.sub(r"\1***", _PASSWORD.sub(r"\1:***@", str(text)))


def url_scheme(text: str | Path) -> str | None:
    """The scheme of a URL (lower case), or None for a plain path.

    >>> url_scheme("DuckDB:///x.db?table=t"), url_scheme("out/tiers.csv")
    ('duckdb', None)
    """
    match = _SCHEME.match(str(text))
    return match.group(1).lower() if match else None


def is_table_url(text: str | Path) -> bool:
    """Whether ``text`` names a database table output (by its scheme; it may still be wrong).

    >>> is_table_url("sqlite:///f.db?table=t"), is_table_url("s3a://b/x"), is_table_url("x.csv")
    (True, False, False)
    """
    return url_scheme(text) in DATABASE_SCHEMES


def parse_table_url(text: str | Path, flag: str = "--out") -> TableURL:
    """The table ``text`` names, or a :class:`UsageError` saying what is wrong with it.

    >>> parse_table_url("sqlite:///out/f.db?table=tiers")
    TableURL(kind='sqlite', text='sqlite:///out/f.db?table=tiers', table='tiers', schema=None, path=PosixPath('out/f.db'), conninfo='')
    >>> parse_table_url('duckdb:///f.db?table=t"; DROP TABLE x; --')
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.UsageError: --out 'duckdb:///f.db?table=t"; DROP TABLE x; --': table 't"; DROP TABLE x; --' is not allowed: use letters, digits and _ (starting with a letter or _, at most 63 characters)
    """  # noqa: E501
    text = str(text)
    shown = mask_url(text)
    scheme = url_scheme(text)
    kind = DATABASE_SCHEMES.get(scheme or "")
    if kind is None:
        raise UsageError(f"{flag} {shown!r}: a table output is one of {TABLE_OUTPUTS}")

    def bad(why: str) -> UsageError:
        return UsageError(f"{flag} {shown!r}: {why}")

    parts = urlsplit(text)
    try:
        params = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise bad(f"cannot read its parameters {parts.query!r}") from None
    tables = [value for key, value in params if key == "table"]
    if len(tables) != 1:
        raise bad(f"name one table: {scheme}://...?table=NAME")
    schema, _, table = tables[0].rpartition(".") if kind == "postgresql" else ("", "", tables[0])
    for name in (schema, table) if schema else (table,):
        if not _TABLE.fullmatch(name):
            raise bad(
                f"table {tables[0][:80]!r} is not allowed: use letters, digits and _ (starting "
                "with a letter or _, at most 63 characters)"
            )
    others = [(key, value) for key, value in params if key != "table"]
    if kind == "postgresql":
        if not parts.hostname and not parts.path.strip("/"):
            raise bad("name the server and database: postgresql://user:pw@host:port/db?table=t")
        conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(others), ""))
        return TableURL(kind, text, table, schema or None, conninfo=conninfo)
    if parts.netloc or not parts.path.startswith("/") or others:
        raise bad(
            f"a {kind} output is {scheme}:///relative/file.db?table=t or "
            f"{scheme}:////absolute/file.db?table=t (the file, then ?table= and nothing else)"
        )
    path = parts.path[1:]
    if not path or path == ":memory:" or path.endswith("/"):
        raise bad(f"name the {kind} database file: {scheme}:///out/results.db?table=t")
    return TableURL(kind, text, table, path=Path(path))
