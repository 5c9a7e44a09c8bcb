"""Progress reporting for long steps.

The Python API takes a :class:`Progress` and calls it around long work; by default nothing is
shown. The command line passes :class:`RichProgress`, which draws Rich progress bars.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import ClassVar, TypeVar

T = TypeVar("T")
#: steps, their times and messages go to this logger too (the CLI's -v and --log-file)
log = logging.getLogger("netpersona")


class Progress:
    """Silent progress: the default for library calls."""

    def track(
        self, iterable: Iterable[T], description: str, total: int | None = None
    ) -> Iterator[T]:
        """Iterate over ``iterable``, reporting each item as one unit of work."""
        yield from iterable

    def step(self, description: str) -> AbstractContextManager[None]:
        """A step of unknown length (a single SQL query, say)."""
        return _null()

    def log(self, message: str) -> None:
        """A one-line message for the person running the command."""


@contextmanager
def _null() -> Iterator[None]:
    yield


class RichProgress(Progress):
    """Rich progress bars on stderr, one bar per tracked loop or step; every step and message
    is also logged (logger ``netpersona``: steps at DEBUG with their seconds, messages at INFO).
    ``quiet`` (the CLI's ``-q``) draws no bars and prints no messages."""

    #: set by the command line's ``-q``: nothing drawn, only logged
    quiet: ClassVar[bool] = False

    def __init__(self, console=None, transient: bool = False) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.transient = transient

    def _bar(self):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as _RichProgress

        return _RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=self.transient,
        )

    def track(
        self, iterable: Iterable[T], description: str, total: int | None = None
    ) -> Iterator[T]:
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        started = time.perf_counter()
        if self.quiet:
            yield from iterable
        else:
            with self._bar() as bar:
                task = bar.add_task(description, total=total)
                for item in iterable:
                    yield item
                    bar.advance(task)
        log.debug("%s: %.2f s", description, time.perf_counter() - started)

    @contextmanager
    def step(self, description: str) -> Iterator[None]:
        started = time.perf_counter()
        if self.quiet:
            yield
        else:
            with self._bar() as bar:
                task = bar.add_task(description, total=1)
                yield
                bar.advance(task)
        log.debug("%s: %.2f s", description, time.perf_counter() - started)

    def log(self, message: str) -> None:
        from rich.text import Text

        log.info("%s", Text.from_markup(message).plain)
        if not self.quiet:
            self.console.print(message)
