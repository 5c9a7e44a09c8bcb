"""Realistic synthetic data for demos, tests and benchmarks.

Access logs (:func:`generate_access_logs`, :func:`write_access_logs`): a mobile operator's URL
log, ``user_id, ts, url``, with habitual sites, personal rhythms, visit order, drift, days
off and the background traffic of installed apps; see ``docs/synthetic-data.md``.
"""

from netpersona.synth._presets import DEFAULT_PRESET, PAPER_TARGETS, PRESETS, preset_settings
from netpersona.synth.access_logs import (
    AccessLogSettings,
    AccessLogSummary,
    generate_access_logs,
    write_access_logs,
)

__all__ = [
    "DEFAULT_PRESET",
    "PAPER_TARGETS",
    "PRESETS",
    "AccessLogSettings",
    "AccessLogSummary",
    "generate_access_logs",
    "preset_settings",
    "write_access_logs",
]
