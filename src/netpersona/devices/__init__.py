"""Device-user tiers (paper B): device reports + purchases -> monthly features -> 3-8-3 network
-> vip / growth / ordinary.

Read reports with :func:`extract_features` (or :func:`read_sessions` for the sessions alone),
train with :func:`train_tiers`, classify with :func:`predict_tiers`, and draw the paper's figures
with :func:`build_report`. :func:`netpersona.demo.run_devices_demo` runs all of it
on synthetic data.
"""

from netpersona.devices._extract import FeatureResult, extract_features, read_features
from netpersona.devices._features import FEATURE_NAMES
from netpersona.devices._fields import (
    FLOW_UNITS,
    RADIUS_EXPORT,
    PurchaseFields,
    ReportFields,
)
from netpersona.devices._jobs import Prediction, predict_file, report_file, train_model
from netpersona.devices._model import (
    PAPER_TIERS,
    TierModel,
    TrainResult,
    predict_tiers,
    read_labels,
    train_tiers,
)
from netpersona.devices._network import NetworkSettings, paper_b_network
from netpersona.devices._purchases import PurchaseSummary
from netpersona.devices._quarantine import default_quarantine_path
from netpersona.devices._report import build_report
from netpersona.devices._reports import ReadSummary
from netpersona.devices._sessions import near_duplicate_users, read_sessions
from netpersona.devices._validate import report_problems
from netpersona.io import month_bounds

__all__ = [
    "FEATURE_NAMES",
    "FLOW_UNITS",
    "PAPER_TIERS",
    "RADIUS_EXPORT",
    "FeatureResult",
    "NetworkSettings",
    "Prediction",
    "PurchaseFields",
    "PurchaseSummary",
    "ReadSummary",
    "ReportFields",
    "TierModel",
    "TrainResult",
    "build_report",
    "default_quarantine_path",
    "extract_features",
    "month_bounds",
    "near_duplicate_users",
    "paper_b_network",
    "predict_file",
    "predict_tiers",
    "read_features",
    "read_labels",
    "read_sessions",
    "report_file",
    "report_problems",
    "train_model",
    "train_tiers",
]
