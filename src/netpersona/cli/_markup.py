"""Help text is plain text: square brackets in it (``netpersona[spark]``, a ``[rejoin]`` table)
are shown as written, not taken for Rich markup and dropped.

Typer renders help with Rich markup (``rich_markup_mode="rich"``, for the option panels), so
every help string of every group, command and parameter is escaped once, when the commands are
loaded.
"""

from __future__ import annotations

import inspect
import typing

import typer
from rich.markup import escape


def escape_help(app: typer.Typer) -> None:
    """Escape the Rich markup of all help text under ``app`` (in place, each object once)."""
    seen: set[int] = set()

    def once(info) -> None:
        if info is not None and id(info) not in seen and isinstance(info.help, str):
            seen.add(id(info))
            info.help = escape(info.help)

    def walk(group: typer.Typer) -> None:
        once(group.info)
        for command in group.registered_commands:
            if command.help is None and command.callback is not None:
                command.help = inspect.getdoc(command.callback)
            once(command)
            _parameters(command.callback, once)
        if group.registered_callback is not None:
            _parameters(group.registered_callback.callback, once)
        for sub in group.registered_groups:
            once(sub)
            walk(sub.typer_instance)

    walk(app)


def _parameters(callback, once) -> None:
    """The OptionInfo / ArgumentInfo of each parameter of ``callback`` passed to ``once``."""
    if callback is None:
        return
    try:
        hints = typing.get_type_hints(callback, include_extras=True)
    except Exception:
        hints = {}
    for name, parameter in inspect.signature(callback).parameters.items():
        for meta in getattr(hints.get(name), "__metadata__", ()):
            if isinstance(meta, typer.models.ParameterInfo):
                once(meta)
        if isinstance(parameter.default, typer.models.ParameterInfo):
            once(parameter.default)
