"""How the columns of a user's log map onto netpersona's canonical access-log table.

The canonical table is ``user_id VARCHAR, ts TIMESTAMP, site VARCHAR`` (one row per request);
``ts`` is the naive local wall-clock time in :attr:`LogMapping.timezone`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netpersona._core import ConfigError

TIME_UNITS = (None, "s", "ms")


#: the earliest time a log row may have unless ``min_time`` says otherwise: the Unix epoch
DEFAULT_MIN_TIME = "1970-01-01"


@dataclass(frozen=True)
class LogMapping:
    """Column mapping and parsing options shared by every command that reads access logs.

    Defaults match netpersona's own synthetic logs: columns ``user_id``, ``ts``, ``url``.
    Invalid combinations raise :class:`~netpersona.ConfigError` when the mapping is built.

    >>> mapping = LogMapping(user_col='msisdn', time_col='time', time_unit='ms')
    >>> mapping.user_col, mapping.url_col, mapping.timezone
    ('msisdn', 'url', 'UTC')
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
    #: UTC instant epoch numbers count from (ISO-8601); None = the Unix epoch 1970-01-01
    time_origin: str | None = None
    #: rows before this local time (ISO-8601) are quarantined as "time out of range";
    #: None = :data:`DEFAULT_MIN_TIME`
    min_time: str | None = None
    #: rows after this local time are quarantined; None = now + 1 day (a log cannot hold the
    #: future: one row dated 2099 would shift every window computed from the data)
    max_time: str | None = None

    def __post_init__(self) -> None:
        if self.columns is not None:
            object.__setattr__(self, "columns", tuple(self.columns))
        if self.no_header and not self.columns:
            raise ConfigError(
                "a file without a header needs its field names: pass --columns, "
                "e.g. --columns sender,recipient,ts"
            )
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            raise ConfigError(f"--columns names a field twice: {','.join(self.columns)}")
        if self.url_col is None and self.site_col is None:
            raise ConfigError("name the column holding the site (--site-col) or URL (--url-col)")
        if self.time_unit not in TIME_UNITS:
            raise ConfigError(f"--time-unit must be 's' or 'ms', not {self.time_unit!r}")
        if self.sep is not None and len(self.sep) != 1:
            raise ConfigError(f"--sep must be one character (or tab/space/comma), not {self.sep!r}")
        if not 0.0 <= self.max_bad_fraction <= 1.0:
            raise ConfigError(
                f"--max-bad-fraction must be between 0 and 1, not {self.max_bad_fraction}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"unknown time zone {self.timezone!r}: use an IANA name such as UTC, "
                "Asia/Shanghai or America/Los_Angeles"
            ) from exc
        if self.time_origin is not None:
            self.origin_seconds()  # validates
        low, high = self.time_bounds()
        if low >= high:
            raise ConfigError(f"--min-time {low} is not before --max-time {high}")

    @property
    def site_source(self) -> str:
        """The column the site comes from (``site_col`` if set, else ``url_col``)."""
        return self.site_col or self.url_col  # type: ignore[return-value]

    @property
    def mapped_columns(self) -> tuple[str, str, str]:
        """The user, time and site/URL columns, in that order."""
        return (self.user_col, self.time_col, self.site_source)

    def time_bounds(self) -> tuple[_dt.datetime, _dt.datetime]:
        """The local times a row may have, inclusive: ``min_time`` (default
        :data:`DEFAULT_MIN_TIME`) to ``max_time`` (default now + 1 day, to the second).

        >>> LogMapping(min_time="2013-11-01", max_time="2013-12-01").time_bounds()[1]
        datetime.datetime(2013, 12, 1, 0, 0)
        """
        low = _bound(self.min_time, "--min-time") or _dt.datetime.fromisoformat(DEFAULT_MIN_TIME)
        high = _bound(self.max_time, "--max-time")
        if high is None:
            now = _dt.datetime.now(_dt.UTC).replace(tzinfo=None, microsecond=0)
            high = now + _dt.timedelta(days=1)
        return low, high

    def origin_seconds(self) -> float:
        """Seconds from the Unix epoch to :attr:`time_origin` (0 when unset)."""
        if self.time_origin is None:
            return 0.0
        try:
            origin = _dt.datetime.fromisoformat(self.time_origin)
        except ValueError as exc:
            raise ConfigError(
                f"--time-origin {self.time_origin!r} is not an ISO-8601 date or time "
                "(e.g. 2004-04-15 or 2004-04-15T00:00:00+00:00)"
            ) from exc
        if origin.tzinfo is None:
            origin = origin.replace(tzinfo=_dt.UTC)
        return origin.timestamp()


def _bound(text: str | None, flag: str) -> _dt.datetime | None:
    """A time bound as a naive local time (an offset is dropped after conversion to UTC)."""
    if text is None:
        return None
    try:
        value = _dt.datetime.fromisoformat(str(text).strip())
    except ValueError as exc:
        raise ConfigError(
            f"{flag} {str(text)[:60]!r} is not an ISO-8601 date or time (e.g. 2013-11-04 or "
            "2013-11-04 08:00:00)"
        ) from exc
    if value.tzinfo is not None:
        value = value.astimezone(_dt.UTC).replace(tzinfo=None)
    return value
