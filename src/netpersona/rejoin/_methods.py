"""The matchers ("methods") the paper's protocol can run, and their registry (``--method``).

A method is any object with ``name`` and ``run(...)`` returning a :class:`MethodRun`;
:func:`register_method` makes one available by name, so other matchers are compared on exactly
the same split as the paper's six steps (:class:`PaperMethod`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from netpersona._core import ConfigError, Progress
from netpersona.rejoin._protocol import Split, drop_tables

if TYPE_CHECKING:
    from netpersona.engine import Engine

#: settings that change the profiles themselves; the others only change the steps
PROFILE_SETTINGS = ("frequent_ratio", "active_minutes")


@dataclass
class StepRun:
    """One step of a matcher: its time and the candidates still alive after it.

    ``candidates`` (``query_user, library_user``) gives the per-step recall; a method that does
    not keep them may give ``mean_candidates`` alone.

    >>> StepRun("2_simione", 0.5, mean_candidates=3.0).mean_candidates
    3.0
    """

    step: str
    seconds: float
    candidates: pa.Table | None = None
    mean_candidates: float | None = None


@dataclass
class MethodRun:
    """What a matcher hands back to the protocol: MATCHES, its steps, its total time.

    >>> import pyarrow as pa
    >>> run = MethodRun(pa.table({"query_user": ["q"]}), [StepRun("6_decision", 0.1)], 0.1)
    >>> run.matches.num_rows, run.steps[0].step
    (1, '6_decision')
    """

    matches: pa.Table
    steps: list[StepRun]
    seconds_total: float
    #: the settings the method actually used (its defaults filled in), for the report
    settings: Any = None


class MatchMethod(Protocol):
    """A re-join matcher the protocol can evaluate (``--method NAME``).

    >>> isinstance(get_method("paper").name, str), get_method("paper").name
    (True, 'paper')
    """

    name: str

    def run(
        self, engine: Engine, split: Split, settings: Any, *, top_k: int, progress: Progress
    ) -> MethodRun:
        """Match ``split.query_table``'s users against ``split.library_table``'s."""
        ...

    def release(self, engine: Engine) -> None:
        """Drop whatever the method keeps in the engine between runs (cached profiles)."""
        ...


class PaperMethod:
    """The paper's six steps (:func:`netpersona.rejoin.identify`), profiles cached by the
    settings that change them, so a search over step thresholds builds them once."""

    name = "paper"

    def __init__(self, max_cached_profiles: int = 2) -> None:
        self.max_cached_profiles = max_cached_profiles
        self._cache: OrderedDict[tuple, tuple[Any, Any, float, str]] = OrderedDict()
        self._built = 0

    def profiles(self, engine: Engine, split: Split, settings: Any, progress: Progress):
        """Library and query profiles for ``settings``: ``(library, queries, seconds)``."""
        from netpersona.rejoin import RejoinSettings, build_profiles

        settings = settings if settings is not None else RejoinSettings()
        key = (split.prefix, *(getattr(settings, name) for name in PROFILE_SETTINGS))
        if key in self._cache:
            self._cache.move_to_end(key)
            lib, qry, seconds, _ = self._cache[key]
            return lib, qry, seconds
        self._built += 1
        tag = f"{split.prefix}_pf{self._built}"
        lib = build_profiles(
            engine,
            log_table=split.library_table,
            name=f"{tag}_lib",
            settings=settings,
            progress=progress,
        )
        qry = build_profiles(
            engine,
            log_table=split.query_table,
            name=f"{tag}_qry",
            settings=settings,
            reference=lib,
            progress=progress,
        )
        seconds = float(lib.seconds) + float(qry.seconds)
        self._cache[key] = (lib, qry, seconds, tag)
        while len(self._cache) > self.max_cached_profiles:
            _, (_, _, _, old_tag) = self._cache.popitem(last=False)
            drop_tables(engine, old_tag)
        return lib, qry, seconds

    def run(
        self, engine: Engine, split: Split, settings: Any, *, top_k: int, progress: Progress
    ) -> MethodRun:
        from netpersona.rejoin import RejoinSettings, identify

        settings = settings if settings is not None else RejoinSettings()
        lib, qry, profile_seconds = self.profiles(engine, split, settings, progress)
        result = identify(
            engine,
            library=lib,
            queries=qry,
            settings=settings,
            top_k=top_k,
            keep_step_candidates=True,
            progress=progress,
        )
        kept = result.step_candidates or {}
        steps = [StepRun("1_profiles", profile_seconds, mean_candidates=float(split.n_library))]
        steps += [
            StepRun(s["step"], float(s["seconds"]), kept.get(s["step"]), s.get("mean_candidates"))
            for s in result.steps
        ]
        total = profile_seconds + float(result.seconds)
        return MethodRun(result.matches, steps, total, settings)

    def release(self, engine: Engine) -> None:
        for _, _, _, tag in self._cache.values():
            drop_tables(engine, tag)
        self._cache.clear()


_METHODS: dict[str, Callable[[], MatchMethod]] = {"paper": PaperMethod}
#: modules that register further matchers when imported (loaded on first need)
PLUGIN_MODULES = ("netpersona.rejoin._learned",)


def _load_plugins() -> None:
    import importlib

    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def register_method(name: str, factory: Callable[[], MatchMethod]) -> None:
    """Make a matcher available to :func:`evaluate` and ``--method`` under ``name``.

    >>> register_method("paper-again", PaperMethod)
    >>> get_method("paper-again").name
    'paper'
    """
    _METHODS[name] = factory


def method_names() -> list[str]:
    """The names ``--method`` accepts."""
    _load_plugins()
    return sorted(_METHODS)


def get_method(method: str | MatchMethod) -> MatchMethod:
    """A fresh matcher for a name, or ``method`` itself when it already is one.

    >>> get_method("paper").name
    'paper'
    >>> try:
    ...     get_method("psychic")
    ... except ConfigError as error:
    ...     print(str(error).split(";")[0])
    unknown method 'psychic'
    """
    if not isinstance(method, str):
        return method
    if method not in _METHODS:
        _load_plugins()
    try:
        return _METHODS[method]()
    except KeyError:
        raise ConfigError(
            f"unknown method {method!r}; choose one of {', '.join(method_names())}"
        ) from None
