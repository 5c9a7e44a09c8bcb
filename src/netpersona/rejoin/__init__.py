"""Re-join identification (Wang & Bao 2015; SPEC part A): find a new number's old identity.

Step 1 builds per-user profiles by SQL in the engine (:func:`build_profiles`); steps 2-6 trim
the library down to the same person (:func:`identify`); :func:`explain` says why.
"""

from netpersona.rejoin._explain import Explanation, explain
from netpersona.rejoin._identify import MATCH_SCHEMA, STEP_NAMES, IdentifyResult, identify
from netpersona.rejoin._profiles import ProfileArrays, Profiles, build_profiles
from netpersona.rejoin._settings import RejoinSettings

__all__ = [
    "MATCH_SCHEMA",
    "STEP_NAMES",
    "Explanation",
    "IdentifyResult",
    "IndexSummary",
    "Library",
    "ProfileArrays",
    "Profiles",
    "RejoinSettings",
    "build_profiles",
    "explain",
    "identify",
]

# evaluation: the paper's protocol, calibration and reports
from netpersona.rejoin._calibrate import Calibration, calibrate, objective_value, write_settings
from netpersona.rejoin._evaluate import (
    Evaluation,
    MatchMethod,
    MethodRun,
    StepRun,
    evaluate,
    get_method,
    parse_days,
    register_method,
    score_matches,
    sweep_days,
)
from netpersona.rejoin._protocol import Split, parse_window, split_log
from netpersona.rejoin._report import (
    ACCURACY_LABELS,
    PAPER_ACCURACY,
    write_evaluation_report,
    write_identify_report,
)
from netpersona.rejoin._splits import (
    SPLITS,
    make_split,
    query_days_of,
    read_identity_pairs,
    split_options_from,
)

__all__ += [
    "ACCURACY_LABELS",
    "PAPER_ACCURACY",
    "SPLITS",
    "Calibration",
    "Evaluation",
    "MatchMethod",
    "MethodRun",
    "Split",
    "StepRun",
    "calibrate",
    "evaluate",
    "get_method",
    "make_split",
    "objective_value",
    "parse_days",
    "parse_window",
    "query_days_of",
    "read_identity_pairs",
    "register_method",
    "score_matches",
    "split_log",
    "split_options_from",
    "sweep_days",
    "write_evaluation_report",
    "write_identify_report",
    "write_settings",
]

# the library object the CLI, serve and notebooks call
# forgetting a subscriber (docs/forget.md)
from netpersona.rejoin._forget_run import ForgetSummary, forget  # noqa: E402
from netpersona.rejoin._library import IndexSummary, Library  # noqa: E402
from netpersona.rejoin._links import (  # noqa: E402
    LINKS_SCHEMA,
    add_links,
    links,
    masked_links,
    record_links,
)

__all__ += [
    "LINKS_SCHEMA",
    "ForgetSummary",
    "add_links",
    "forget",
    "links",
    "masked_links",
    "record_links",
]

# the daily cycle: one day's log in, the window kept, status, forgetting in the daily store
from netpersona.rejoin._daily_run import DEFAULT_WINDOW_DAYS, DailySummary  # noqa: E402
from netpersona.rejoin._daily_status import DailyStatus, forget_daily  # noqa: E402

__all__ += ["DEFAULT_WINDOW_DAYS", "DailyStatus", "DailySummary", "forget_daily"]
