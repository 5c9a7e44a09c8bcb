"""Calendar periods given on the command line or in settings (``2024-05``), checked once."""

from __future__ import annotations

import datetime as dt
import re

from netpersona._core import ConfigError


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """``"2024-05"`` -> (2024-05-01 00:00, 2024-06-01 00:00), local calendar times.

    >>> month_bounds("2024-12")
    (datetime.datetime(2024, 12, 1, 0, 0), datetime.datetime(2025, 1, 1, 0, 0))
    >>> month_bounds("2024-13")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    netpersona._core._exceptions.ConfigError: month '2024-13' is not of the form YYYY-MM ...
    """
    match = re.fullmatch(r"(\d{4})-(\d{2})", month.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ConfigError(f"month {month!r} is not of the form YYYY-MM (e.g. 2024-05)")
    year, mon = int(match.group(1)), int(match.group(2))
    start = dt.datetime(year, mon, 1)
    end = dt.datetime(year + (mon == 12), mon % 12 + 1, 1)
    return start, end
