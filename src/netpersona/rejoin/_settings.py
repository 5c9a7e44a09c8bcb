"""The paper's parameters for re-join identification, as one settings object.

Every threshold of Wang & Bao's six steps is a named field whose default is the paper's value
(SPEC part A). Settings are read from the ``[rejoin]`` table of a TOML file and can be written
back, so a calibrated set can be saved and reused.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from netpersona._core import ConfigError

#: one line of documentation per setting, shown in the TOML file and the CLI help
SETTING_HELP: dict[str, str] = {
    "frequent_ratio": "a site is frequent for a user when visited on at least this share of "
    "the user's online days (step 1)",
    "active_minutes": "an hour of a day counts in the 24-hour vector when requests were sent in "
    "at least this many distinct minutes of it (step 1)",
    "jaccard_min": "step 2 keeps library users whose frequent-site Jaccard (SimiOne) is "
    "strictly above this",
    "simitwo_keep": "step 3 keeps this top share of candidates by rare-site weight (SimiTwo), "
    "at least one, ties with the last kept included",
    "hour_cosine_min": "step 4 drops candidates whose 24-hour-vector cosine (SimiThree) is at "
    "most this",
    "site_hour_cosine_min": "step 4 drops candidates whose mean per-frequent-site hour cosine is "
    "at most this",
    "simifour_keep": "step 5 keeps this top share of candidates by visit-order score "
    "(SimiFour), at least one, ties with the last kept included",
    "min_run": "step 5 counts common contiguous runs of at least this many items",
    "tie_ratio": "step 6 also outputs the next candidate while its score is above "
    "(1 - tie_ratio) x the previous output's",
}


@dataclass(frozen=True)
class RejoinSettings:
    """Thresholds of the paper's six steps; defaults are the paper's values."""

    frequent_ratio: float = 0.8
    active_minutes: int = 20
    jaccard_min: float = 0.6
    simitwo_keep: float = 0.05
    hour_cosine_min: float = 0.69
    site_hour_cosine_min: float = 0.53
    simifour_keep: float = 0.143
    min_run: int = 2
    tie_ratio: float = 0.05

    def __post_init__(self) -> None:
        for name, (low, high, closed_low) in _RANGES.items():
            value = getattr(self, name)
            kind = int if name in _INTEGER else float
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"rejoin setting {name} must be a number, got {value!r}")
            if kind is int and not float(value).is_integer():
                raise ConfigError(f"rejoin setting {name} must be a whole number, got {value!r}")
            if kind is int:
                object.__setattr__(self, name, int(value))
            else:
                object.__setattr__(self, name, float(value))
            value = getattr(self, name)
            too_low = value < low if closed_low else value <= low
            if not math.isfinite(value) or too_low or value > high:
                bracket = "[" if closed_low else "("
                raise ConfigError(
                    f"rejoin setting {name} = {value!r} is out of range {bracket}{low}, {high}]: "
                    f"{SETTING_HELP[name]}"
                )

    # -- TOML -------------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, values: dict[str, Any], source: str = "settings") -> RejoinSettings:
        """Settings from a ``{name: value}`` mapping; unknown names are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{source}: unknown rejoin setting {unknown[0]!r}; the known settings are "
                f"{', '.join(sorted(known))}"
            )
        return cls(**values)

    @classmethod
    def from_toml(cls, path: str | Path) -> RejoinSettings:
        """Read the ``[rejoin]`` table of a TOML settings file (missing keys keep defaults)."""
        path = Path(path)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the settings file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        extra = sorted(set(document) - {"rejoin"})
        if extra:
            raise ConfigError(
                f"{path}: unknown table or key {extra[0]!r}; put the settings under [rejoin]"
            )
        table = document.get("rejoin", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: 'rejoin' must be a table ([rejoin])")
        return cls.from_mapping(table, source=str(path))

    def to_toml(self) -> str:
        """The settings as a TOML document with a ``[rejoin]`` table, one comment per key."""
        lines = ["[rejoin]"]
        for f in fields(self):
            lines.append(f"# {SETTING_HELP[f.name]}")
            lines.append(f"{f.name} = {getattr(self, f.name)!r}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, float | int]:
        """The settings as a plain JSON-serialisable dict."""
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> RejoinSettings:
        """A copy with some settings changed (``None`` values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes) if changes else self

    def profile_key(self) -> tuple[float, int]:
        """The settings that change step 1's profiles (the rest only change identification)."""
        return (self.frequent_ratio, self.active_minutes)


_INTEGER = {"active_minutes", "min_run"}
# name: (low, high, low bound included)
_RANGES: dict[str, tuple[float, float, bool]] = {
    "frequent_ratio": (0.0, 1.0, False),
    "active_minutes": (1, 60, True),
    "jaccard_min": (0.0, 1.0, True),
    "simitwo_keep": (0.0, 1.0, False),
    "hour_cosine_min": (-1.0, 1.0, True),
    "site_hour_cosine_min": (-1.0, 1.0, True),
    "simifour_keep": (0.0, 1.0, False),
    "min_run": (1, 1_000_000, True),
    "tie_ratio": (0.0, 1.0, True),
}
