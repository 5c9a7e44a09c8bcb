"""Where the fields of a device report, a session export and a purchases table are.

Defaults match the paper (section 3.2: ``username, logontime, logofftime, upflow, downflow``) and
netpersona's own synthetic reports, so synthetic data needs no mapping at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from netpersona._core import ConfigError

#: bytes per unit; binary units, as device firmware and RADIUS exports count them
FLOW_UNITS: dict[str, int] = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}

#: time units an epoch number may be in; ``auto`` = seconds, or milliseconds above 1e11
TIME_UNITS = ("auto", "s", "ms")


@dataclass(frozen=True)
class ReportFields:
    """Field paths in a device report (JSON) or column names in a session export (CSV).

    A JSON field path uses dots for nesting (``data.username``). Times are ISO-8601 strings
    (with or without an offset) or epoch numbers; flows are numbers in ``flow_unit`` or strings
    carrying their own unit (``240B``, ``1.5 MB``).

    >>> fields = ReportFields(user='data.msisdn', flow_unit='KB')  # nested JSON field
    >>> fields.validate().user, fields.logon, fields.flow_unit
    ('data.msisdn', 'logontime', 'KB')
    """

    user: str = "username"
    logon: str = "logontime"
    #: end of the session; a periodic report of a session still open may leave it empty
    logoff: str | None = "logofftime"
    #: session length instead of a logoff time (CSV exports): ``DD:HH:MM:SS``, ``HH:MM:SS``
    #: or seconds; used only where ``logoff`` is absent
    duration: str | None = None
    upflow: str = "upflow"
    downflow: str = "downflow"
    #: when the device sent the report; orders repeated reports and ends a still-open session
    report_time: str | None = "reporttime"
    flow_unit: str = "B"
    time_unit: str = "auto"
    #: IANA zone in which calendar days are counted; times without an offset are read in it
    timezone: str = "UTC"
    #: stop with an error when more than this share of reports is quarantined
    max_bad_fraction: float = 0.01
    #: expand glob patterns (``reports/*.jsonl.gz``) in the report paths; off: every path is
    #: taken literally, so ``x[12].jsonl`` is that file
    glob: bool = False

    def validate(self) -> ReportFields:
        """Raise :class:`ConfigError` for an unknown unit or an impossible setting."""
        if self.flow_unit.upper() not in FLOW_UNITS:
            raise ConfigError(
                f"unknown flow unit {self.flow_unit!r}; use one of {', '.join(FLOW_UNITS)}"
            )
        if self.time_unit not in TIME_UNITS:
            raise ConfigError(
                f"unknown time unit {self.time_unit!r}; use one of {', '.join(TIME_UNITS)}"
            )
        if not 0.0 <= self.max_bad_fraction <= 1.0:
            raise ConfigError(
                f"max_bad_fraction must be between 0 and 1, got {self.max_bad_fraction}"
            )
        if self.logoff is None and self.duration is None and self.report_time is None:
            raise ConfigError(
                "a session needs an end: map a logoff field, a duration field or a report-time "
                "field"
            )
        return self


#: the column layout of the public hostel Wi-Fi export (``device_sessions/`` in the shared data)
RADIUS_EXPORT = ReportFields(
    user="name",
    logon="start_time",
    logoff=None,
    duration="usage_time",
    upflow="upload",
    downflow="download",
    report_time=None,
    flow_unit="KB",
)


@dataclass(frozen=True)
class PurchaseFields:
    """Where the data-package purchases are: columns, and the table or query in a database.

    >>> query = 'SELECT msisdn, paid_at FROM orders'  # with --purchases sqlite:///billing.db
    >>> fields = PurchaseFields(user='msisdn', time='paid_at', query=query)
    >>> fields.user, fields.time, fields.time_unit
    ('msisdn', 'paid_at', 'auto')
    """

    user: str = "username"
    time: str = "buytime"
    #: database table to read (when the source is a database URL)
    table: str | None = "purchases"
    #: a SELECT to run instead of reading ``table`` (must return the user and time columns)
    query: str | None = None
    time_unit: str = "auto"
