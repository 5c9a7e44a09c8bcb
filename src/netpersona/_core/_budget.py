"""A time budget for a long step (the command line's ``--budget SECONDS``).

A step given a :class:`Budget` plans its work to end within it: before each unit it can cut
(a calibration trial, a simulated cut, a classifier) it asks :meth:`Budget.fits` with the unit's
time estimated from the units already done, and stops when the next one would overrun. What it
left out is reported (``Budget.report``), never silent. Work that must be whole (an evaluation's
figures) is not cut: when the budget runs out during it, it stops with
:class:`BudgetExceededError` instead of reporting part of it as if it were all. The budget
counts from when it is made (the command's start), on ``clock`` (a fake one in tests).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from netpersona._core._exceptions import ResourceLimitError, UsageError
from netpersona._core._progress import Progress, ProgressTask


class BudgetExceededError(ResourceLimitError):
    """Work that must be whole did not fit the ``--budget`` (exit 4): nothing partial is
    reported.

    >>> BudgetExceededError("the evaluation did not fit").exit_code
    4
    """


def check_budget(seconds: float | None, flag: str = "--budget") -> float | None:
    """A budget in seconds: ``None`` (no budget) or a positive finite number; anything else is
    a :class:`~netpersona._core.UsageError` (exit 2).

    >>> check_budget(90), check_budget(None)
    (90.0, None)
    >>> check_budget(float("nan"))
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.UsageError: --budget must be a positive number of seconds, got nan
    """
    if seconds is None:
        return None
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{flag} must be a positive number of seconds, got {seconds}")
    return value


class Budget:
    """``seconds`` of wall-clock time from now (on ``clock``).

    >>> ticks = iter(range(100))
    >>> budget = Budget(10, clock=lambda: float(next(ticks)))  # each reading: one second later
    >>> budget.fits(3.0), budget.elapsed(), budget.fits(8.5)
    (True, 2.0, False)
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.perf_counter) -> None:
        checked = check_budget(seconds)
        if checked is None:
            raise UsageError("a Budget needs a number of seconds")
        self.seconds = checked
        self.clock = clock
        self.start = clock()

    @classmethod
    def of(cls, budget: Budget | float | None) -> Budget | None:
        """``budget`` as a :class:`Budget` starting now (``None``: no budget; a
        :class:`Budget` as it is, still counting from its own start)."""
        if budget is None or isinstance(budget, Budget):
            return budget
        return cls(budget)

    def elapsed(self) -> float:
        """Seconds spent since the budget started."""
        return self.clock() - self.start

    def left(self) -> float:
        """Seconds left (negative when overrun)."""
        return self.seconds - self.elapsed()

    def fits(self, estimate: float) -> bool:
        """Whether work estimated at ``estimate`` seconds still ends within the budget."""
        return self.elapsed() + estimate <= self.seconds

    def report(self, cut: bool, **details: object) -> dict:
        """What the budget did, for a result's JSON: the budget, the seconds used, whether it
        cut the work, and ``details`` (what was done, what was left out)."""
        return {"seconds": self.seconds, "used_seconds": round(self.elapsed(), 3), "cut": cut,
                **details}  # fmt: skip

    def exceeded(self, what: str) -> BudgetExceededError:
        """The error for ``what`` (work that must be whole) not fitting."""
        return BudgetExceededError(
            f"{what} did not fit the budget of {self.seconds:g} s ({self.elapsed():.0f} s "
            "spent); nothing partial was reported\n  hint: give a larger --budget (or none)"
        )

    def guard(self, progress: Progress, what: str) -> Progress:
        """``progress`` that stops ``what`` (work that must be whole) with
        :class:`BudgetExceededError` at the first step or unit that ends past the budget.

        >>> ticks = iter(range(100))  # each reading of the clock: one second later
        >>> budget = Budget(3, clock=lambda: float(next(ticks)))
        >>> done = []
        >>> try:
        ...     for unit in budget.guard(Progress(), "the evaluation").track(range(10), "units"):
        ...         done.append(unit)
        ... except BudgetExceededError as error:
        ...     print(done, str(error).split(";")[0])
        [0, 1, 2] the evaluation did not fit the budget of 3 s (5 s spent)
        """
        return _Guard(progress, self, what)


class _Guard(Progress):
    """A :class:`Progress` that checks a budget at every step and unit, reporting to another."""

    def __init__(self, inner: Progress, budget: Budget, what: str) -> None:
        self.inner, self.budget, self.what = inner, budget, what
        self.clock = inner.clock

    def check(self) -> None:
        if self.budget.left() < 0:
            raise self.budget.exceeded(self.what)

    @contextmanager
    def task(self, description: str, total: int | None = None, **options) -> Iterator[ProgressTask]:
        self.check()
        with self.inner.task(description, total, **options) as task:
            report = task.report

            def checked(event, last: bool = False) -> None:
                report(event, last)
                if not last:
                    self.check()

            task.report = checked
            yield task

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        self.check()
        with self.inner.step(description):
            yield
        self.check()

    def log(self, message: str) -> None:
        self.inner.log(message)
