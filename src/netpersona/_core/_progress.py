"""Progress reporting for long steps: units done of a total and an estimate of the time left.

The Python API takes a :class:`Progress` and calls it around long work; by default nothing is
shown. A long loop is a :meth:`Progress.task`: each :meth:`ProgressTask.advance` reports a
:class:`ProgressEvent` (units done, their total, the seconds so far and the time left estimated
from the observed rate) to :meth:`Progress.update`. The command line passes
:class:`RichProgress`, which draws them as Rich progress bars, or as plain lines every few
seconds when stderr is not a terminal or with ``-v``; the library only reports.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import ClassVar, TypeVar

T = TypeVar("T")
#: where a task's events go (``last``: the task's end)
Report = Callable[..., None]
#: steps, their times and messages go to this logger too (the CLI's -v and --log-file)
log = logging.getLogger("netpersona")


@dataclass(frozen=True)
class ProgressEvent:
    """Where a long loop stands: ``done`` units of ``total`` (None: unknown) after ``elapsed``
    seconds; ``deadline``: the seconds after which the loop stops anyway (a budget).

    >>> event = ProgressEvent("trials", done=4, total=10, elapsed=8.0)
    >>> event.eta, event.text()
    (12.0, 'trials: 4/10 (40%), 8 s elapsed, about 12 s left')
    >>> ProgressEvent("trials", 4, 10, 8.0, deadline=10.0).eta  # stops at the budget
    2.0
    """

    description: str
    done: int
    total: int | None
    elapsed: float
    deadline: float | None = None
    unit: str = ""

    @property
    def eta(self) -> float | None:
        """Seconds left, from the observed rate (None before the first unit or without a
        total), never past the deadline."""
        left = None
        if self.total is not None and self.done > 0:
            left = self.elapsed / self.done * max(0, self.total - self.done)
        if self.deadline is not None:
            to_deadline = max(0.0, self.deadline - self.elapsed)
            left = to_deadline if left is None else min(left, to_deadline)
        return left

    def text(self) -> str:
        """One line for a person (the plain rendering and the log)."""
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            count = f"{self.done:,}/{self.total:,}{unit} ({100 * self.done / self.total:.0f}%)"
        else:
            count = f"{self.done:,}{unit}"
        left = f", {self.left()}" if self.left() else ""
        return f"{self.description}: {count}, {duration(self.elapsed)} elapsed{left}"

    def left(self) -> str:
        """``about N left`` while there is an estimate and work left, else empty."""
        eta = self.eta
        finished = self.total is not None and self.done >= self.total
        return "" if eta is None or finished else f"about {duration(eta)} left"


def duration(seconds: float) -> str:
    """A duration for a person: ``42 s``, ``3 min 5 s``, ``2 h 10 min``.

    >>> duration(4.2), duration(185), duration(7_800)
    ('4 s', '3 min 5 s', '2 h 10 min')
    """
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


class ProgressTask:
    """One long loop being reported: :meth:`advance` as units finish, :meth:`set_total` when
    the plan changes (a search that stops early, a pass that adds trials).

    >>> with Progress().task("trials", total=3, unit="trials") as task:
    ...     task.advance()
    ...     task.set_total(2)
    >>> task.event().text().split(",")[0]
    'trials: 1/2 trials (50%)'
    """

    def __init__(
        self,
        description: str,
        total: int | None,
        clock: Callable[[], float],
        report: Report,
        unit: str = "",
        deadline: float | None = None,
    ) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.clock, self.report = clock, report
        self.deadline = deadline
        self.done = 0
        self.started = clock()

    def event(self) -> ProgressEvent:
        return ProgressEvent(
            self.description, self.done, self.total, self.clock() - self.started,
            self.deadline, self.unit,
        )  # fmt: skip

    def advance(self, n: int = 1) -> None:
        """``n`` more units done."""
        self.done += n
        self.report(self.event())

    def set_total(self, total: int | None) -> None:
        """The loop now plans ``total`` units in all."""
        self.total = total
        self.report(self.event())


class Progress:
    """Silent progress: the default for library calls. Subclasses override :meth:`update`
    (every event of every task), :meth:`step` and :meth:`log`; ``clock`` may be replaced (a
    fake clock in tests)."""

    clock: Callable[[], float] = staticmethod(time.perf_counter)

    @contextmanager
    def task(
        self,
        description: str,
        total: int | None = None,
        *,
        unit: str = "",
        deadline: float | None = None,
    ) -> Iterator[ProgressTask]:
        """A long loop of ``total`` units; ``deadline``: the seconds after which it stops (a
        budget), which bounds the estimate of the time left."""
        with self._render(description) as report:
            task = ProgressTask(description, total, self.clock, report, unit, deadline)
            report(task.event())
            yield task
            report(task.event(), True)

    @contextmanager
    def _render(self, description: str) -> Iterator[Report]:
        """Where a task's events go: :meth:`update` (``last``: the task's end)."""
        yield lambda event, last=False: self.update(event)

    def update(self, event: ProgressEvent) -> None:
        """Called with every event of every task (nothing by default)."""

    def track(
        self, iterable: Iterable[T], description: str, total: int | None = None
    ) -> Iterator[T]:
        """Iterate over ``iterable``, reporting each item as one unit of work."""
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        with self.task(description, total) as task:
            for item in iterable:
                yield item
                task.advance()

    def step(self, description: str) -> AbstractContextManager[None]:
        """A step of unknown length (a single SQL query, say)."""
        return _null()

    def log(self, message: str) -> None:
        """A one-line message for the person running the command."""


@contextmanager
def _null() -> Iterator[None]:
    yield


class RichProgress(Progress):
    """Rich progress bars on stderr, one bar per task or step, with units done of the total and
    the time left; every step and message is also logged (logger ``netpersona``: steps at DEBUG
    with their seconds, messages at INFO). ``quiet`` (the CLI's ``-q``) draws no bars and
    prints no messages. When stderr is not a terminal, or ``verbose`` (the CLI's ``-v``), a
    task is a plain line every ``interval`` seconds (and when it ends) instead of a bar."""

    #: set by the command line's ``-q``: nothing drawn, only logged
    quiet: ClassVar[bool] = False
    #: set by the command line's ``-v``: plain lines on the log instead of bars
    verbose: ClassVar[bool] = False

    def __init__(self, console=None, transient: bool = False, interval: float = 10.0) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.transient = transient
        self.interval = interval

    @property
    def plain(self) -> bool:
        """Plain lines instead of bars: stderr is not a terminal, or ``-v``."""
        return self.verbose or not self.console.is_terminal

    def _bar(self):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as _RichProgress

        return _RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[left]}"),
            console=self.console,
            transient=self.transient,
        )

    @contextmanager
    def _render(self, description: str) -> Iterator[Report]:
        if self.quiet:
            with self._timed(description):
                yield _ignore
        elif self.plain:
            with self._timed(description):
                yield _PlainLines(self, self.interval, self.transient)
        else:
            with self._timed(description), self._bar() as bar:
                handle = bar.add_task(description, total=None, left="")

                def draw(event: ProgressEvent, last: bool = False) -> None:
                    bar.update(handle, completed=event.done, total=event.total, left=event.left())

                yield draw

    @contextmanager
    def _timed(self, description: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        log.debug("%s: %.2f s", description, time.perf_counter() - started)

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        if self.quiet:
            with self._timed(description):
                yield
        elif self.plain:  # a line only when it took long enough to be worth one
            started = self.clock()
            with self._timed(description):
                yield
            seconds = self.clock() - started
            if seconds >= self.interval:
                _PlainLines(self, self.interval).say(f"{description}: {duration(seconds)}")
        else:
            with self.task(description, 1) as task:
                yield
                task.advance()

    def log(self, message: str) -> None:
        from rich.text import Text

        log.info("%s", Text.from_markup(message).plain)
        if not self.quiet:
            self.console.print(message)


def _ignore(event: ProgressEvent, last: bool = False) -> None:
    pass


class _PlainLines:
    """A task as plain lines: one per ``interval`` seconds at most, and one at the end (unless
    ``transient`` and nothing was said before); on the log (INFO) and, without ``-v``, on the
    console."""

    def __init__(self, progress: RichProgress, interval: float, transient: bool = False) -> None:
        self.progress, self.interval, self.transient = progress, interval, transient
        self.last = 0.0
        self.said = False

    def __call__(self, event: ProgressEvent, last: bool = False) -> None:
        if last:
            if self.said or not self.transient:
                self.say(event.text())
        elif event.elapsed - self.last >= self.interval:
            self.last = event.elapsed
            self.say(event.text())

    def say(self, line: str) -> None:
        self.said = True
        log.info("%s", line)
        if not self.progress.verbose:
            self.progress.console.print(line, markup=False, highlight=False)
