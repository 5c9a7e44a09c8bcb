"""How the columns of a user's log map onto netpersona's canonical access-log table.

The canonical table is ``user_id VARCHAR, ts TIMESTAMP, site VARCHAR`` (one row per request).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LogMapping:
    """Column mapping and parsing options shared by every command that reads access logs.

    Defaults match netpersona's own synthetic logs: columns ``user_id``, ``ts``, ``url``.
    """

    user_col: str = "user_id"
    time_col: str = "ts"
    #: column holding a URL or host; the site is its registrable domain (Public Suffix List)
    url_col: str | None = "url"
    #: column holding the site as is; overrides ``url_col`` when set
    site_col: str | None = None
    #: the file has no header row; ``columns`` names its fields in order
    no_header: bool = False
    columns: tuple[str, ...] | None = None
    #: field separator for delimited text; None = infer from the extension (``,`` / tab / space)
    sep: str | None = None
    #: ``None`` = ISO-8601 strings (or native timestamps); ``s`` / ``ms`` = epoch numbers
    time_unit: str | None = None
    #: IANA zone in which days and hours are counted (the subscriber's local calendar)
    timezone: str = "UTC"
    #: HMAC-SHA256 key file; when set user ids are replaced by their pseudonyms at read time
    pseudonymize_key_file: Path | None = None
    #: stop with an error when more than this share of rows cannot be parsed
    max_bad_fraction: float = 0.01
