"""Realistic synthetic data for demos, tests and benchmarks.

Access logs (:func:`generate_access_logs`, :func:`write_access_logs`): a mobile operator's URL
log, ``user_id, ts, url``, with habitual sites, personal rhythms, visit order, drift, days
off and the background traffic of installed apps; see ``docs/synthetic-data.md``.

Device reports (:mod:`netpersona.synth.devices`: ``write_device_reports``, paper B's shapes) and
customer questionnaires (:mod:`netpersona.synth.customers`: ``synth_customers``,
``write_customers``, paper C's pre-classes) are public modules of their own, imported on use.
``synth`` stands below the domains: it imports only ``_core`` and ``io``, and states the
papers' figures its generating truths use (tests keep them equal to the domains').
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
