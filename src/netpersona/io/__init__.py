"""Reading logs and tables (CSV, TSV, JSONL, Parquet, gzip), column mapping, validation,
quarantine, safe output and pseudonymisation."""

from netpersona.io._mapping import LogMapping
from netpersona.io._output import atomic_output, check_writable, write_text_atomic
from netpersona.io._privacy import load_key, mask_id, pseudonymize

__all__ = [
    "LogMapping",
    "atomic_output",
    "check_writable",
    "load_key",
    "mask_id",
    "pseudonymize",
    "write_text_atomic",
]
