"""Customer-value tiers (paper C): indicator system -> 1–5 scores -> expert weights -> current
value and pre-classes -> stratified sample -> 14-29-1 BP network -> K -> tiers A/B/C/D.

>>> from netpersona.customers import load_system
>>> len(load_system().indicators)
14
"""

from netpersona.customers._ensemble import NetworkEnsemble, SeedAgreement, seed_agreement
from netpersona.customers._jobs import (
    predict_file,
    report_file,
    run_files,
    score_file,
    seed_agreement_of,
)
from netpersona.customers._model import PAPER_INPUTS, NetworkSettings, paper_c_network
from netpersona.customers._pipeline import (
    CustomerRun,
    CustomerSettings,
    ScoredTable,
    composite_value,
    run_customers,
    score_table,
    summary_lines,
    tier_table,
)
from netpersona.customers._preclass import (
    PAPER_PRE_CLASS_SHARES,
    current_value,
    pre_class,
    pre_class_table,
)
from netpersona.customers._report import build_report, write_report
from netpersona.customers._sample import stratified_sample, stratum_sizes, train_test_split
from netpersona.customers._saved import CustomerModel, load_run, save_run
from netpersona.customers._scoring import ScoredCustomers, score_customers
from netpersona.customers._source import read_customers
from netpersona.customers._system import IndicatorSystem, default_system_path, load_system
from netpersona.customers._tiers import GUIDANCE, TierThresholds, assign_tiers
from netpersona.customers._weights import (
    ExpertWeights,
    ahp_priorities,
    csv_weights,
    equal_weights,
    load_weights,
)

__all__ = [
    "GUIDANCE",
    "PAPER_INPUTS",
    "PAPER_PRE_CLASS_SHARES",
    "CustomerModel",
    "CustomerRun",
    "CustomerSettings",
    "ExpertWeights",
    "IndicatorSystem",
    "NetworkEnsemble",
    "NetworkSettings",
    "ScoredCustomers",
    "ScoredTable",
    "SeedAgreement",
    "TierThresholds",
    "ahp_priorities",
    "assign_tiers",
    "build_report",
    "composite_value",
    "csv_weights",
    "current_value",
    "default_system_path",
    "equal_weights",
    "load_run",
    "load_system",
    "load_weights",
    "paper_c_network",
    "pre_class",
    "pre_class_table",
    "predict_file",
    "read_customers",
    "report_file",
    "run_customers",
    "run_files",
    "save_run",
    "score_customers",
    "score_file",
    "score_table",
    "seed_agreement",
    "seed_agreement_of",
    "stratified_sample",
    "stratum_sizes",
    "summary_lines",
    "tier_table",
    "train_test_split",
    "write_report",
]
