"""Helpers for the customer-value tests: small indicator systems written on the fly."""

from __future__ import annotations

SYSTEM_HEAD = """
[system]
name = "t"
target = "Customer value"
{extra}

[current_value]
recency = "r"
frequency = "f"
monetary = "m"

[[dimensions]]
name = "current"

[[indicators]]
name = "r"
dimension = "current"
column = "days"
[indicators.score]
method = "thresholds"
thresholds = [8, 31, 91, 181]
reverse = true

[[indicators]]
name = "f"
dimension = "current"
column = "buys"
[indicators.score]
method = "quantile"

[[indicators]]
name = "m"
dimension = "current"
column = "spend"
on_null = "{m_null}"
[indicators.score]
method = "quantile"
"""


def system_writer(tmp_path):
    """A function writing a three-indicator system (R, F, M) plus ``more`` TOML; it returns
    the file's path."""

    def write(more: str = "", extra: str = "", m_null: str = "fail", name: str = "sys.toml"):
        path = tmp_path / name
        path.write_text(SYSTEM_HEAD.format(extra=extra, m_null=m_null) + more)
        return path

    return write
