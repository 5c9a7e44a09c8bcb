"""Reading logs and tables (CSV, TSV, JSONL, Parquet, gzip), column mapping, validation,
quarantine, safe output and pseudonymisation."""

from netpersona._core import atomic_output, check_writable, mask_id, write_text_atomic
from netpersona.io._config import CONFIG_FILE, ConfigFile, check_config_table, parse_separator
from netpersona.io._mapping import LogMapping
from netpersona.io._periods import month_bounds
from netpersona.io._privacy import load_key, pseudonymize
from netpersona.io._quarantine import QUARANTINE_COLUMNS, RejectedRow
from netpersona.io._quarantine_file import append_quarantine, read_quarantine
from netpersona.io._read_log import LogSource, LogTable, is_url, log_source, read_log
from netpersona.io._reader import ReadSummary, read_access_log
from netpersona.io._sites import authority_sql, registrable_domain, site_of_url, sites_for_hosts
from netpersona.io._summary import (
    LogSummary,
    summarise_files,
    summarise_ingested,
    summarise_log,
    table_rows,
)

# plain sorted order (tests/io checks it); ruff would put constants first
__all__ = [  # noqa: RUF022
    "CONFIG_FILE",
    "ConfigFile",
    "LogMapping",
    "LogSource",
    "LogSummary",
    "LogTable",
    "QUARANTINE_COLUMNS",
    "ReadSummary",
    "RejectedRow",
    "append_quarantine",
    "atomic_output",
    "authority_sql",
    "check_config_table",
    "check_writable",
    "is_url",
    "load_key",
    "log_source",
    "mask_id",
    "month_bounds",
    "parse_separator",
    "pseudonymize",
    "read_access_log",
    "read_log",
    "read_quarantine",
    "registrable_domain",
    "site_of_url",
    "sites_for_hosts",
    "summarise_files",
    "summarise_ingested",
    "summarise_log",
    "table_rows",
    "write_text_atomic",
]
