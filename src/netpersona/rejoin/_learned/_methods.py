"""The learned matcher and the TF-IDF baseline as evaluation methods (``--method``).

:class:`LearnedMethod` and :class:`TfidfMethod` follow the evaluation's method protocol
(:class:`netpersona.rejoin._evaluate.MatchMethod`), so ``evaluate``/``calibrate`` compare them
with the paper's method on exactly the same split. Each learns from ``split.library_table``
alone (its own simulation), never from the split's queries or truth.
:func:`register_methods` makes them available by name; :func:`identify_method` is the one call
an ``identify --method`` command needs.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from typing import Any

from netpersona._core import Progress
from netpersona.engine import Engine
from netpersona.rejoin._evaluate import MethodRun, StepRun, register_method
from netpersona.rejoin._identify import ENGINE_SHARE, IdentifyResult, identify
from netpersona.rejoin._learned._identify import identify_learned
from netpersona.rejoin._learned._matcher import LearnedMatcher
from netpersona.rejoin._learned._side import Side, build_side, load_side
from netpersona.rejoin._learned._tfidf import TfidfMatcher
from netpersona.rejoin._profiles import Profiles
from netpersona.rejoin._protocol import Split, drop_tables
from netpersona.rejoin._settings import RejoinSettings

METHODS = ("paper", "learned", "tfidf", "tfidf_one_to_one", "learned_one_to_one", "auto")
#: what an unknown ``--method`` error says
METHODS_HELP = (
    "choose paper, learned or tfidf, or tfidf_one_to_one, learned_one_to_one or auto (the best "
    "of them on the simulation `rejoin train` made)"
)


class _SelfTrained:
    """Shared by both methods: fit on the library log, build both sides, identify."""

    name = ""

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.matcher: Any = None
        #: seconds of the last identification (candidates, features, decisions; profiles built)
        self.identify_seconds = 0.0

    def _fit(self, engine, split: Split, settings, progress):  # pragma: no cover - abstract
        raise NotImplementedError

    def _identify(self, lib: Side, qry: Side, top_k: int, progress) -> IdentifyResult:
        raise NotImplementedError  # pragma: no cover - abstract

    def run(
        self, engine: Engine, split: Split, settings: Any, *, top_k: int, progress: Progress
    ) -> MethodRun:
        settings = settings if isinstance(settings, RejoinSettings) else RejoinSettings()
        began = time.perf_counter()
        self.matcher = self._fit(engine, split, settings, progress)
        trained = time.perf_counter()
        tag = f"{split.prefix}_{self.name}"
        lib = build_side(engine, split.library_table, f"{tag}_lib", settings, None, progress)
        qry = build_side(engine, split.query_table, f"{tag}_qry", settings, lib, progress)
        profiled = time.perf_counter()
        result = self._identify(lib, qry, top_k, progress)
        self.identify_seconds = float(result.seconds)
        kept = result.step_candidates or {}
        steps = [
            StepRun("0_training", trained - began, mean_candidates=None),
            StepRun("1_profiles", profiled - trained, mean_candidates=float(split.n_library)),
        ]
        steps += [
            StepRun(s["step"], float(s["seconds"]), kept.get(s["step"]), s["mean_candidates"])
            for s in result.steps
        ]
        return MethodRun(result.matches, steps, time.perf_counter() - began, settings)

    def report(self) -> dict:
        """What training found, for the evaluation's JSON: the simulation's size (and its
        warning), the calibrated probabilities' Brier score and ECE, and auto's choice."""
        m = self.matcher
        if not isinstance(m, LearnedMatcher):
            return {"simulated": getattr(m, "simulated_", {})}
        return {
            "simulation": m.simulation_,
            "reliability": m.simulated_.get(m.model_name_ or "", {}).get("reliability"),
            "auto": m.auto_,
            "auto_reason": m.auto_reason_,
            "lines": m.report_lines(),
        }

    def release(self, engine: Engine) -> None:
        drop_tables(engine, "learnsim")
        drop_tables(engine, "tfidfsim")


def _simulated_split(split: Split) -> str:
    """How the simulation cuts the library for queries cut like ``split``'s."""
    return split.split_by if split.split_by in ("last-days", "first-seen") else "time"


class LearnedMethod(_SelfTrained):
    """``--method learned``: :class:`LearnedMatcher` trained on the split's library."""

    name = "learned"

    def _fit(self, engine, split, settings, progress):
        params = dict(self.params)
        params.setdefault("query_days", split.query_days)
        params.setdefault("split_by", _simulated_split(split))
        return LearnedMatcher(**params).fit(engine, split.library_table, settings, progress)

    def _identify(self, lib, qry, top_k, progress):
        return identify_learned(
            self.matcher, lib, qry, top_k=top_k, keep_step_candidates=True, progress=progress
        )


class AutoMethod(_SelfTrained):
    """``--method auto``: the learned matcher's simulation picks paper, TF-IDF, TF-IDF
    one-to-one or learned (or answers "new" to all when none is above chance)."""

    name = "auto"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.engine: Engine | None = None

    def _fit(self, engine, split, settings, progress):
        self.engine = engine
        params = dict(self.params)
        params.setdefault("query_days", split.query_days)
        params.setdefault("split_by", _simulated_split(split))
        return LearnedMatcher(**params).fit(engine, split.library_table, settings, progress)

    def _identify(self, lib, qry, top_k, progress):
        return identify_sides(
            "auto", self.matcher, lib, qry, engine=self.engine, top_k=top_k, progress=progress
        )


class TfidfMethod(_SelfTrained):
    """``--method tfidf``: TF-IDF nearest neighbour, threshold from the split's library."""

    name = "tfidf"

    def _fit(self, engine, split, settings, progress):
        params = dict(self.params)
        params.setdefault("query_days", split.query_days)
        params.setdefault("split_by", _simulated_split(split))
        return TfidfMatcher(**params).fit(engine, split.library_table, settings, progress)

    def _identify(self, lib, qry, top_k, progress):
        return self.matcher.identify(lib, qry, top_k=top_k)


class TfidfOneToOneMethod(TfidfMethod):
    """``--method tfidf_one_to_one``: TF-IDF with one-to-one assignment, then a threshold."""

    name = "tfidf_one_to_one"

    def _identify(self, lib, qry, top_k, progress):
        return self.matcher.identify(lib, qry, top_k=top_k, one_to_one=True)


def register_methods() -> None:
    """Make ``learned``, ``tfidf``, ``tfidf_one_to_one`` and ``auto`` available to
    ``evaluate``/``calibrate`` by name."""
    register_method("learned", LearnedMethod)
    register_method("tfidf", TfidfMethod)
    register_method("tfidf_one_to_one", TfidfOneToOneMethod)
    register_method("auto", AutoMethod)


def identify_sides(
    method: str,
    matcher: LearnedMatcher,
    library: Side,
    queries: Side,
    *,
    engine: Engine | None = None,
    top_k: int = 1,
    one_to_one: bool = False,
    progress: Progress = Progress(),
) -> IdentifyResult:
    """Identify loaded sides with a trained learned matcher by ``method``: ``learned``,
    ``tfidf``, ``tfidf_one_to_one``, ``paper`` (the six steps with the matcher's settings) or
    ``auto`` (the method the matcher's simulation chose, ``matcher.auto_``)."""
    if method == "auto":
        method = matcher.auto_
    settings = matcher.settings_ or RejoinSettings()
    if method == "paper":
        return identify(
            engine, library.profiles, queries.profiles, settings, top_k=top_k, progress=progress
        )
    # the sides are in memory: the engine keeps a share of its memory meanwhile (as the paper's
    # identification does), so that the process stays near the limit the user set
    lender = library.profiles.engine if library.profiles is not None else None
    with lender.lend_memory(ENGINE_SHARE) if lender is not None else nullcontext():
        if method in ("learned", "learned_one_to_one"):
            one = one_to_one or method == "learned_one_to_one"
            return identify_learned(
                matcher, library, queries, top_k=top_k, one_to_one=one, progress=progress
            )
        tfidf = TfidfMatcher(
            threshold_=float("inf") if method == "new" else matcher.tfidf_threshold_,
            one_to_one_threshold_=matcher.tfidf_one_to_one_threshold_,
            k=matcher.k,
        )
        one = method == "tfidf_one_to_one" or (method == "tfidf" and one_to_one)
        return tfidf.identify(library, queries, top_k=max(top_k, 1), one_to_one=one)


def identify_method(
    method: str,
    engine: Engine | None,
    library: Profiles,
    queries: Profiles,
    settings: RejoinSettings = RejoinSettings(),
    *,
    matcher: LearnedMatcher | TfidfMatcher | None = None,
    top_k: int = 0,
    one_to_one: bool = False,
    progress: Progress = Progress(),
) -> IdentifyResult:
    """Identify with ``method``: ``paper`` (the six steps), or ``learned``/``tfidf`` with a
    fitted ``matcher`` (e.g. :func:`netpersona.rejoin._learned.load_matcher` of a workspace)."""
    from netpersona._core import ConfigError

    if method == "paper":
        return identify(engine, library, queries, settings, top_k=top_k, progress=progress)
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if isinstance(matcher, LearnedMatcher):
        # a trained learned matcher carries the TF-IDF thresholds of the same simulation and
        # the choice of ``auto``
        return identify_sides(
            method, matcher, load_side(library), load_side(queries), engine=engine,
            top_k=top_k, one_to_one=one_to_one, progress=progress,
        )  # fmt: skip
    if method == "tfidf_one_to_one" and isinstance(matcher, TfidfMatcher):
        return matcher.identify(load_side(library), load_side(queries), max(top_k, 1), True)
    expected = (
        LearnedMatcher if method in ("learned", "learned_one_to_one", "auto") else TfidfMatcher
    )
    if not isinstance(matcher, expected):
        raise ConfigError(
            f"--method {method} needs a trained matcher: run `netpersona rejoin train` on the "
            "workspace first"
        )
    lib, qry = load_side(library), load_side(queries)
    if isinstance(matcher, LearnedMatcher):
        return identify_learned(
            matcher, lib, qry, top_k=top_k, one_to_one=one_to_one, progress=progress
        )
    return matcher.identify(lib, qry, top_k=max(top_k, 1))
