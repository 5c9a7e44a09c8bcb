"""The public surface of netpersona.devices: listed, present, documented."""

from __future__ import annotations

import inspect

import netpersona.devices as devices


def test_public_names_are_listed_present_and_documented():
    assert set(devices.__all__) == {
        "FEATURE_NAMES", "FLOW_UNITS", "FeatureResult", "NetworkSettings", "PAPER_TIERS",
        "Prediction", "PurchaseFields", "PurchaseSummary", "RADIUS_EXPORT", "ReadSummary",
        "ReportFields", "TierModel", "TrainResult", "build_report", "default_quarantine_path",
        "extract_features", "month_bounds", "near_duplicate_users", "paper_b_network",
        "predict_file", "predict_tiers", "read_features", "read_labels", "read_sessions",
        "report_file", "report_problems", "train_model", "train_tiers",
    }  # fmt: skip
    for name in devices.__all__:
        item = getattr(devices, name)
        if inspect.isfunction(item) or inspect.isclass(item):
            assert inspect.getdoc(item), f"{name} has no docstring"


def test_paper_values_are_the_defaults():
    assert devices.FEATURE_NAMES == ("avgontime", "avguseflow", "buycounts")
    assert devices.PAPER_TIERS == ("vip", "growth", "ordinary")
    fields = devices.ReportFields()
    assert (fields.user, fields.logon, fields.logoff, fields.upflow, fields.downflow) == (
        "username",
        "logontime",
        "logofftime",
        "upflow",
        "downflow",
    )
