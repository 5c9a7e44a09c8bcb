"""Device-user tiers (paper B): device reports + purchases -> monthly features -> 3-8-3 network
-> vip / growth / ordinary.

Read reports with :func:`extract_features` (or :func:`read_sessions` for the sessions alone),
train with :func:`train_tiers`, classify with :func:`predict_tiers`, and draw the paper's figures
with :func:`build_report`. :func:`run_demo` runs all of it on synthetic data.
"""

from netpersona.devices._demo import run_demo
from netpersona.devices._extract import FeatureResult, extract_features, read_features
from netpersona.devices._features import FEATURE_NAMES, month_bounds
from netpersona.devices._fields import (
    FLOW_UNITS,
    RADIUS_EXPORT,
    PurchaseFields,
    ReportFields,
)
from netpersona.devices._model import (
    PAPER_TIERS,
    NetworkSettings,
    TierModel,
    TrainResult,
    predict_tiers,
    read_labels,
    train_tiers,
)
from netpersona.devices._purchases import PurchaseSummary
from netpersona.devices._report import build_report
from netpersona.devices._reports import ReadSummary, near_duplicate_users, read_sessions
from netpersona.devices._validate import report_problems

__all__ = [
    "FEATURE_NAMES",
    "FLOW_UNITS",
    "PAPER_TIERS",
    "RADIUS_EXPORT",
    "FeatureResult",
    "NetworkSettings",
    "PurchaseFields",
    "PurchaseSummary",
    "ReadSummary",
    "ReportFields",
    "TierModel",
    "TrainResult",
    "build_report",
    "extract_features",
    "month_bounds",
    "near_duplicate_users",
    "predict_tiers",
    "read_features",
    "read_labels",
    "read_sessions",
    "report_problems",
    "run_demo",
    "train_tiers",
]
