"""Beyond the paper: a re-join matcher that learns from the library how much each kind of
evidence is worth (``--method learned``), and the plain TF-IDF nearest neighbour
(``--method tfidf``) it is compared with. See docs/rejoin-learned.md.
"""

from netpersona.rejoin._learned._explain import LearnedExplanation, explain_learned
from netpersona.rejoin._learned._features import FEATURES
from netpersona.rejoin._learned._identify import identify_learned
from netpersona.rejoin._learned._matcher import LearnedMatcher
from netpersona.rejoin._learned._methods import (
    METHODS,
    LearnedMethod,
    TfidfMethod,
    identify_method,
    identify_sides,
    register_methods,
)
from netpersona.rejoin._learned._persist import load_matcher, save_matcher, workspace_matcher_dir
from netpersona.rejoin._learned._side import Side, build_side, load_side
from netpersona.rejoin._learned._tfidf import TfidfMatcher

register_methods()

__all__ = [
    "FEATURES",
    "METHODS",
    "LearnedExplanation",
    "LearnedMatcher",
    "LearnedMethod",
    "Side",
    "TfidfMatcher",
    "TfidfMethod",
    "build_side",
    "explain_learned",
    "identify_learned",
    "identify_method",
    "identify_sides",
    "load_matcher",
    "load_side",
    "register_methods",
    "save_matcher",
    "workspace_matcher_dir",
]
