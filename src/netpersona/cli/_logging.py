"""``-q``, ``-v`` and ``--log-file``: how much a command says, and where a record of it goes.

Messages and step timings go to the ``netpersona`` logger (see ``_core.RichProgress``); ids in
them are masked as everywhere. ``-q`` draws no progress bars and prints no progress messages
(results and errors are still printed); ``-v`` adds each step and its seconds on stderr;
``--log-file`` appends everything (steps, messages, the error that ended the run) with times.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from netpersona._core import RichProgress

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(quiet: bool = False, verbose: bool = False, log_file: Path | None = None) -> None:
    """Set up the ``netpersona`` logger and progress display for this run."""
    logger = logging.getLogger("netpersona")
    for handler in [h for h in logger.handlers if getattr(h, "_netpersona_cli", False)]:
        logger.removeHandler(handler)
        handler.close()
    RichProgress.quiet = quiet
    RichProgress.verbose = verbose and not quiet
    if verbose and not quiet:
        _add(logger, logging.StreamHandler(), logging.DEBUG, "%(message)s")
        # the error that ends a run is printed once, by the CLI itself
        logger.handlers[-1].addFilter(lambda r: not getattr(r, "netpersona_final", False))
    if log_file is not None:
        fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _add(logger, logging.FileHandler(log_file, encoding="utf-8"), logging.DEBUG, _FORMAT)
        os.close(fd)
    ours = any(getattr(h, "_netpersona_cli", False) for h in logger.handlers)
    # without -v / --log-file the level is left to the application (serve logs INFO lines)
    logger.setLevel(logging.DEBUG if ours else logging.NOTSET)


def _add(logger: logging.Logger, handler: logging.Handler, level: int, fmt: str) -> None:
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(fmt))
    handler._netpersona_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
