"""``--json FILE``: every command that produces a result can also write its summary as JSON.

A command decorated with :func:`json_summary` returns its summary (JSON-ready: counts, figures,
paths written, seconds; ids masked). ``--json FILE`` writes it to FILE atomically, refusing an
existing FILE without ``--force``; ``--json -`` writes it to stdout, and the command's human
text then goes to stderr (nowhere with ``-q``) so stdout holds the JSON alone. A bare ``--json``
(the last word, or one followed by another option) means ``--json -``, as ``logs summary
--json`` always printed JSON.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import inspect
import io
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from netpersona._core import RichProgress, check_writable, write_text_atomic

#: ``--json -``: the summary goes to stdout
STDOUT = "-"

JsonOpt = Annotated[
    str | None,
    typer.Option(
        "--json",
        metavar="FILE",
        help="Also write this command's summary (counts, figures, paths written, seconds; ids "
        "masked) as JSON to FILE; '-' (or a bare --json) prints it on stdout and the text "
        "for people on stderr.",
        show_default=False,
    ),
]
_ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing --json file.")]


def plain(value: Any) -> Any:
    """``value`` as JSON data: paths and dates as text, NumPy numbers as Python ones, tuples as
    lists, NaN and infinities as null.

    >>> plain({"p": Path("a/b"), "d": dt.date(2024, 5, 1), "x": (1, float("nan"))})
    {'p': 'a/b', 'd': '2024-05-01', 'x': [1, None]}
    """
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # NumPy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(document: Any) -> str:
    """The JSON text of a summary (indented, one trailing newline)."""
    return json.dumps(plain(document), indent=2, allow_nan=False) + "\n"


@contextlib.contextmanager
def _people_text_to_stderr() -> Iterator[None]:
    """Send what the command prints for people to stderr (or nowhere under ``-q``)."""
    target = io.StringIO() if RichProgress.quiet else sys.stderr
    with contextlib.redirect_stdout(target):
        yield


def json_summary(func: Callable) -> Callable:
    """Give a command ``--json FILE`` (and ``--force`` if it has none): the command returns
    its summary, written as JSON to FILE, or to stdout with ``-``."""
    signature = inspect.signature(func, eval_str=True)
    own_force = "force" in signature.parameters
    added = [inspect.Parameter("json_out", inspect.Parameter.KEYWORD_ONLY, default=None,
                               annotation=JsonOpt)]  # fmt: skip
    if not own_force:
        added.append(inspect.Parameter("force", inspect.Parameter.KEYWORD_ONLY, default=False,
                                       annotation=_ForceOpt))  # fmt: skip

    @functools.wraps(func)
    def command(*args: Any, **kwargs: Any) -> Any:
        target = kwargs.pop("json_out", None)
        force = kwargs["force"] if own_force else kwargs.pop("force", False)
        if target is None:
            return func(*args, **kwargs)
        if target != STDOUT:
            check_writable(Path(target), force)  # before the work, not after it
            summary = func(*args, **kwargs)
            write_text_atomic(Path(target), dumps(summary), force=force)
            typer.echo(f"summary: {target}")
            return summary
        with _people_text_to_stderr():
            summary = func(*args, **kwargs)
        sys.stdout.write(dumps(summary))
        sys.stdout.flush()
        return summary

    del command.__wrapped__  # typer must see the new signature
    parameters = [*signature.parameters.values(), *added]
    command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    return command


def bare_json_means_stdout(args: list[str]) -> list[str]:
    """The command line with a bare ``--json`` (last, or followed by another option) spelled
    ``--json -``.

    >>> bare_json_means_stdout(["logs", "summary", "x.csv", "--json"])
    ['logs', 'summary', 'x.csv', '--json', '-']
    >>> bare_json_means_stdout(["--json", "-o", "t.csv", "--json", "a.json", "--json", "-"])
    ['--json', '-', '-o', 't.csv', '--json', 'a.json', '--json', '-']
    """
    out: list[str] = []
    for i, word in enumerate(args):
        if word == "--":
            return out + args[i:]
        out.append(word)
        following = args[i + 1] if i + 1 < len(args) else None
        if word == "--json" and (following is None or following[:1] == "-" != following):
            out.append(STDOUT)
    return out
