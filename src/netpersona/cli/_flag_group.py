"""A decorator adding a group of flags to a Typer command, which receives what they build."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import typer

#: the parameter a flag group with ``context=True`` adds to receive the command's context
CONTEXT = "np_context"


def flag_group(
    into: str,
    flags: dict[str, tuple[Any, Any]],
    build: Callable[..., Any],
    *,
    context: bool = False,
):
    """A decorator adding ``flags`` (``name: (annotation, default)``) to a Typer command and
    passing ``build(**their values)`` as the command's parameter ``into`` instead (no
    ``locals()``: each flag is declared once, here). With ``context``, ``build`` gets the
    command's Typer context first (``None`` when the function is called directly), to tell a
    flag typed on the command line from a default."""

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func, eval_str=True)
        if into not in signature.parameters:
            raise TypeError(f"{func.__name__} must declare a parameter {into!r}")
        kept = [p for p in signature.parameters.values() if p.name != into]
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a)
            for name, (a, d) in flags.items()
        ]
        if context and CONTEXT not in signature.parameters:
            kind = inspect.Parameter.KEYWORD_ONLY
            added.append(inspect.Parameter(CONTEXT, kind, default=None, annotation=typer.Context))

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in flags}
            if context:
                kwargs[into] = build(kwargs.pop(CONTEXT, None), **values)
            else:
                kwargs[into] = build(**values)
            return func(*args, **kwargs)

        del command.__wrapped__  # typer must see the new signature
        command.__signature__ = signature.replace(parameters=kept + added)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in kept + added}
        return command

    return decorate
