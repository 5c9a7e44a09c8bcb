"""One side of a re-join (a library or a set of queries) loaded for the learned matcher."""

from __future__ import annotations

from dataclasses import dataclass

from netpersona._core import Progress
from netpersona.engine import Engine
from netpersona.rejoin._learned._activity import Activity, load_activity
from netpersona.rejoin._profiles import ProfileArrays, Profiles, build_profiles
from netpersona.rejoin._settings import RejoinSettings


@dataclass
class Side:
    """The paper's profiles of a set of users plus their raw activity, in memory."""

    profiles: Profiles
    arrays: ProfileArrays
    activity: Activity

    @property
    def n_users(self) -> int:
        return self.arrays.n_users

    @property
    def n_codes(self) -> int:
        """Site codes used (a query side's codes extend the library's)."""
        return len(self.arrays.site_weight)


def load_side(profiles: Profiles, *, sequences: bool = False) -> Side:
    """Arrays and activity of a built profile set.

    The item sequences (by far the largest part: 645 million items for a library of the
    paper's size) stay in the engine unless ``sequences``: the activity keeps what the matcher
    reads of them (distinct bigrams, the last items), read a run of users at a time, and step 5
    fetches the few it compares. ``sequences=True`` is for profile sets whose tables are
    dropped while the side is still in use (the self-supervised cuts)."""
    arrays = profiles.arrays(sequences=sequences)
    return Side(profiles, arrays, load_activity(profiles, arrays))


def build_side(
    engine: Engine,
    log_table: str,
    name: str,
    settings: RejoinSettings,
    reference: Side | None = None,
    progress: Progress = Progress(),
    *,
    sequences: bool = False,
) -> Side:
    """Build profiles ``name`` from ``log_table`` (codes from ``reference``) and load them
    (``sequences``: as :func:`load_side`)."""
    profiles = build_profiles(
        engine,
        log_table=log_table,
        name=name,
        settings=settings,
        reference=reference.profiles if reference is not None else None,
        progress=progress,
    )
    return load_side(profiles, sequences=sequences)
