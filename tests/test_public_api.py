"""The public surface of every package, snapshot: a change to it is a deliberate edit here.

Each package lists its public names in ``__all__``; every listed name exists, and every public
function and class says what it does (a docstring).
"""

from __future__ import annotations

import importlib
import inspect

import pytest

# fmt: off
PUBLIC = {
    "netpersona": [
        "ColumnNotFoundError", "ConfigError", "InputError", "ModelFormatError", "NetpersonaError",
        "OutputExistsError", "TooManyBadRowsError", "__version__",
    ],
    "netpersona._core": [
        "Budget", "BudgetExceededError", "ColumnNotFoundError", "ConfigError", "InputError",
        "ModelFormatError", "NAME_PATTERN", "NetpersonaError", "OutputExistsError", "Progress",
        "ProgressEvent", "ProgressTask", "ResourceError", "ResourceLimitError", "ResourceLimits",
        "RichProgress", "Setting", "SettingSpec", "Settings", "TABLE_FORMATS", "TABLE_OUTPUTS",
        "TempSpaceError", "TooManyBadRowsError", "UsageError", "WorkspaceBusyError",
        "WorkspaceError", "WorkspaceIncompleteError", "atomic_output", "check_budget", "check_name",
        "check_size", "check_writable", "configure_numba_cache", "is_table_url", "literal_path",
        "load_toml", "mask_id", "mask_url", "memory_limit_sql", "parse_size", "quote_identifier",
        "resource_error", "resource_limits", "search_space", "set_resource_limits", "setting",
        "setting_specs", "settings_options", "sync_folder", "table_format", "temp_budget",
        "write_table_file", "write_text_atomic",
    ],
    "netpersona.io": [
        "CONFIG_FILE", "ConfigFile", "LogMapping", "LogSource", "LogSummary", "LogTable",
        "QUARANTINE_COLUMNS", "ReadSummary", "RejectedRow", "append_quarantine", "atomic_output",
        "authority_sql", "check_config_table", "check_writable", "is_url", "load_key",
        "log_source", "mask_id", "month_bounds", "parse_separator", "pseudonymize",
        "read_access_log", "read_log", "read_quarantine", "registrable_domain", "site_of_url",
        "sites_for_hosts", "summarise_files",
        "summarise_ingested", "summarise_log", "table_rows", "write_text_atomic",
    ],
    "netpersona.engine": [
        "DuckDBEngine", "Engine", "SparkEngine", "Workspace", "WorkspaceState", "make_engine",
        "mark", "parse_spark_conf", "spark_available", "translate",
    ],
    "netpersona.nn": [
        "ALGORITHMS", "BPClassifier", "BPRegressor", "FORMAT_VERSION", "MinMaxScaling", "Network",
        "TrainResult", "hidden_geometric", "hidden_kolmogorov", "hidden_log2", "hidden_size_rules",
        "hidden_sqrt_sum", "init_nguyen_widrow", "init_uniform", "load_model", "numba_enabled",
        "performance", "train_online", "traingd", "traingdm", "traingdx",
    ],
    "netpersona.report": [
        "HtmlReport",
    ],
    "netpersona.rejoin": [
        "ACCURACY_LABELS", "Calibration", "DEFAULT_WINDOW_DAYS", "DailyStatus", "DailySummary",
        "Evaluation", "Explanation", "ForgetSummary", "IdentifyResult", "IndexSummary",
        "LINKS_SCHEMA", "Library", "MATCH_SCHEMA", "MatchMethod", "MethodRun", "PAPER_ACCURACY",
        "ProfileArrays", "Profiles", "RejoinSettings", "SPLITS", "STEP_NAMES", "Split", "StepRun",
        "add_links", "build_profiles", "calibrate", "evaluate", "explain", "forget",
        "forget_daily", "get_method", "identify", "links", "make_split", "masked_links",
        "objective_value", "parse_days", "parse_window", "query_days_of", "read_identity_pairs",
        "record_links", "register_method", "score_matches", "split_log", "split_options_from",
        "sweep_days", "write_evaluation_report", "write_identify_report", "write_settings",
    ],
    "netpersona.rejoin._learned": [
        "FEATURES", "LearnedExplanation", "LearnedMatcher", "LearnedMethod", "METHODS", "Side",
        "TfidfMatcher", "TfidfMethod", "build_side", "explain_learned", "identify_learned",
        "identify_method", "identify_sides", "load_matcher", "load_side", "register_methods",
        "save_matcher", "workspace_matcher_dir",
    ],
    "netpersona.devices": [
        "FEATURE_NAMES", "FLOW_UNITS", "FeatureResult", "NetworkSettings", "PAPER_TIERS",
        "Prediction", "PurchaseFields", "PurchaseSummary", "RADIUS_EXPORT", "ReadSummary",
        "ReportFields", "TierModel", "TrainResult", "build_report", "default_quarantine_path",
        "extract_features", "month_bounds", "near_duplicate_users", "paper_b_network",
        "predict_file", "predict_tiers", "read_features", "read_labels", "read_sessions",
        "report_file", "report_problems", "train_model", "train_tiers",
    ],
    "netpersona.customers": [
        "CustomerModel", "CustomerRun", "CustomerSettings", "ExpertWeights", "GUIDANCE",
        "IndicatorSystem", "NetworkEnsemble", "NetworkSettings", "PAPER_INPUTS",
        "PAPER_PRE_CLASS_SHARES", "ScoredCustomers", "ScoredTable", "SeedAgreement",
        "TierThresholds", "ahp_priorities", "assign_tiers", "build_report", "composite_value",
        "csv_weights", "current_value", "default_system_path", "equal_weights", "load_run",
        "load_system", "load_weights", "paper_c_network", "pre_class", "pre_class_table",
        "predict_file", "read_customers", "report_file", "run_customers", "run_files", "save_run",
        "score_customers", "score_file", "score_table", "seed_agreement", "seed_agreement_of",
        "stratified_sample", "stratum_sizes", "summary_lines", "tier_table", "train_test_split",
        "write_report",
    ],
    "netpersona.synth": [
        "AccessLogSettings", "AccessLogSummary", "DEFAULT_PRESET", "PAPER_TARGETS", "PRESETS",
        "generate_access_logs", "preset_settings", "write_access_logs",
    ],
    "netpersona.demo": [
        "DEMO_DAYS", "DEMO_EXPECTATION", "DEMO_PRESET", "DEMO_USERS", "run_customers_demo",
        "run_demo", "run_devices_demo", "warm_up",
    ],
    "netpersona.cli": [
        "app", "main",
    ],
    "netpersona.serve": [
        "SCOPES", "ServeSettings", "TokenRecord", "create_app", "create_token", "list_tokens",
        "make_settings", "revoke_token", "run", "tokens_path",
    ],
}
# fmt: on


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_the_public_names_are_the_snapshot(package):
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(PUBLIC[package]), (
        f"{package}.__all__ changed: update PUBLIC in {__file__} if that was meant"
    )
    assert len(set(module.__all__)) == len(module.__all__), "a name is listed twice"


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_every_public_name_exists_and_is_documented(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        item = getattr(module, name)  # AttributeError: listed but missing
        if inspect.isfunction(item) or inspect.isclass(item):
            assert inspect.getdoc(item), f"{package}.{name} has no docstring"


def test_every_package_declares_its_public_names():
    from pathlib import Path

    src = Path(importlib.import_module("netpersona").__file__).parent
    packages = {
        ".".join(("netpersona", *p.parent.relative_to(src).parts))
        for p in src.rglob("__init__.py")
        if "systems" not in p.parts
    }
    assert packages == set(PUBLIC), "a new package needs an __all__ and an entry in PUBLIC"
