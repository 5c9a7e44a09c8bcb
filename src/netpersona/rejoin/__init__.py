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
    "ProfileArrays",
    "Profiles",
    "RejoinSettings",
    "build_profiles",
    "explain",
    "identify",
]
