"""The flags bounding what a run may use of the machine: ``--memory-limit``, ``--temp-dir``,
``--max-temp-size``.

Given before the command (``netpersona --memory-limit 3GB rejoin evaluate ...``) they hold for
every command; the engine commands (``rejoin index``, ``identify``, ``evaluate``...) also take
them after their name. Either way they set the process's limits
(``netpersona._core.set_resource_limits``), which every DuckDB the command opens reads; the
``NETPERSONA_MEMORY_LIMIT``, ``NETPERSONA_TEMP_DIR`` and ``NETPERSONA_MAX_TEMP_SIZE``
environment variables give them when no flag does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

_PANEL = "Machine (memory and temporary disk)"

MemoryLimitOpt = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="Most memory DuckDB may use, e.g. 3GB, 512MB, 75% (of RAM); beyond it work spills "
        "to the temporary folder (rejoin index/add-day leave part of it for what DuckDB holds "
        "outside its limit). Default: DuckDB's (80% of RAM); env NETPERSONA_MEMORY_LIMIT.",
        rich_help_panel=_PANEL,
    ),
]
TempDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--temp-dir",
        help="Folder spills go to (a private sub-folder per run, removed after). Default: "
        "beside the workspace file, or the system's temporary folder; env NETPERSONA_TEMP_DIR.",
        rich_help_panel=_PANEL,
    ),
]
MaxTempSizeOpt = Annotated[
    str | None,
    typer.Option(
        "--max-temp-size",
        help="Most the spill may hold, e.g. 50GB. Never more than the free disk there less a "
        "reserve: a run that needs more stops with an error naming the folder and the space "
        "needed. Env NETPERSONA_MAX_TEMP_SIZE.",
        rich_help_panel=_PANEL,
    ),
]

#: the flags as a flag group declares them (``name: (annotation, default)``)
RESOURCE_FLAGS: dict[str, tuple[Any, Any]] = {
    "memory_limit": (MemoryLimitOpt, None),
    "temp_dir": (TempDirOpt, None),
    "max_temp_size": (MaxTempSizeOpt, None),
}


def apply_resource_flags(
    memory_limit: str | None = None,
    temp_dir: Path | None = None,
    max_temp_size: str | None = None,
    *,
    keep: bool = True,
) -> None:
    """Set the process's limits from the flags (a ConfigError on a bad size); ``keep``: flags
    not given keep what was set before (the root's flags)."""
    from netpersona._core import set_resource_limits

    set_resource_limits(
        memory_limit=memory_limit, temp_dir=temp_dir, max_temp_size=max_temp_size, keep=keep
    )
