"""The paper's parameters for re-join identification, as one settings object.

Every threshold of Wang & Bao's six steps is a named field whose default is the paper's value
(SPEC part A). Settings are read from the ``[rejoin]`` table of a TOML file and can be written
back, so a calibrated set can be saved and reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from netpersona._core import Settings, setting, setting_specs


@dataclass(frozen=True)
class RejoinSettings(Settings):
    """Thresholds of the paper's six steps; defaults are the paper's values.

    Each field is declared once (:func:`netpersona._core.setting`): its help line, range and
    calibration values generate the validation, the TOML file, the search space of
    :func:`~netpersona.rejoin.calibrate` and the CLI flags.

    >>> s = RejoinSettings.from_mapping({"jaccard_min": 0.3})
    >>> s.jaccard_min, s.frequent_ratio, s.profile_key()
    (0.3, 0.8, (0.8, 20))
    """

    toml_table: ClassVar[str] = "rejoin"

    frequent_ratio: float = setting(
        0.8,
        "a site is frequent for a user when visited on at least this share of the user's "
        "online days (step 1)",
        low=0.0, low_open=True, high=1.0,
        space=(0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05),
    )  # fmt: skip
    active_minutes: int = setting(
        20,
        "an hour of a day counts in the 24-hour vector when requests were sent in at least "
        "this many distinct minutes of it (step 1)",
        low=1, high=60,
        space=(20, 10, 5, 3, 2, 1),
    )  # fmt: skip
    jaccard_min: float = setting(
        0.6,
        "step 2 keeps library users whose frequent-site Jaccard (SimiOne) is strictly above this",
        low=0.0, high=1.0,
        space=(0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0),
    )  # fmt: skip
    simitwo_keep: float = setting(
        0.05,
        "step 3 keeps this top share of candidates by rare-site weight (SimiTwo), at least one, "
        "ties with the last kept included",
        low=0.0, low_open=True, high=1.0,
        space=(0.05, 0.1, 0.2, 0.35, 0.5, 1.0),
    )  # fmt: skip
    hour_cosine_min: float = setting(
        0.69,
        "step 4 drops candidates whose 24-hour-vector cosine (SimiThree) is at most this",
        low=-1.0, high=1.0,
        space=(0.69, 0.6, 0.5, 0.4, 0.3, 0.2, 0.0, -1.0),
    )  # fmt: skip
    site_hour_cosine_min: float = setting(
        0.53,
        "step 4 drops candidates whose mean per-frequent-site hour cosine is at most this",
        low=-1.0, high=1.0,
        space=(0.53, 0.4, 0.3, 0.2, 0.1, 0.0, -1.0),
    )  # fmt: skip
    simifour_keep: float = setting(
        0.143,
        "step 5 keeps this top share of candidates by visit-order score (SimiFour), at least "
        "one, ties with the last kept included",
        low=0.0, low_open=True, high=1.0,
        space=(0.143, 0.25, 0.5, 1.0),
    )  # fmt: skip
    min_run: int = setting(
        2,
        "step 5 counts common contiguous runs of at least this many items",
        low=1, high=1_000_000,
        space=(2, 1, 3),
    )  # fmt: skip
    tie_ratio: float = setting(
        0.05,
        "step 6 also outputs the next candidate while its score is above (1 - tie_ratio) x the "
        "previous output's",
        low=0.0, high=1.0,
        space=(0.05, 0.02, 0.01, 0.0, 0.1, 0.2),
    )  # fmt: skip

    def profile_key(self) -> tuple[float, int]:
        """The settings that change step 1's profiles (the rest only change identification)."""
        return (self.frequent_ratio, self.active_minutes)


#: one line of documentation per setting (generated from the fields; kept for callers)
SETTING_HELP: dict[str, str] = {s.name: s.help for s in setting_specs(RejoinSettings)}
