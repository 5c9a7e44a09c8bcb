"""How much of the machine a run may use: memory, threads, and the temporary folder's disk.

One set of limits per process (:func:`resource_limits`), read by every embedded database the
process opens (``netpersona.engine.DuckDBEngine``, workspaces and their readers, io's private
reader), so a limit given once (``--memory-limit 3GB``, or the ``NETPERSONA_MEMORY_LIMIT``
environment variable) holds everywhere. An engine opened with explicit arguments uses those.

- ``memory_limit``: the database's own memory (e.g. ``3GB``, ``512MiB``, ``75%`` of RAM); beyond
  it, work spills to the temporary folder.
- ``temp_dir``: where spills go; each engine spills into a private folder of its own inside it,
  removed when it closes. Default: beside the workspace file (``W.tmp``), or the system's
  temporary directory (``$TMPDIR``) for in-memory work.
- ``max_temp_size``: the most a spill may hold. Whatever is given, an engine never spills more
  than the free disk under its folder minus a reserve (a tenth of it, at least 1 GB or half),
  so a run too big for the disk stops early with :class:`TempSpaceError` naming the folder and
  the space it needed, instead of filling the disk.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from netpersona._core._exceptions import (
    ConfigError,
    NetpersonaError,
    ResourceLimitError,
    TempSpaceError,
)

#: environment variables giving the process's limits when no option does
ENV = {
    "memory_limit": "NETPERSONA_MEMORY_LIMIT",
    "threads": "NETPERSONA_THREADS",
    "temp_dir": "NETPERSONA_TEMP_DIR",
    "max_temp_size": "NETPERSONA_MAX_TEMP_SIZE",
}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "byte": 1,
    "bytes": 1,
    **{p: 1000**i for i, p in enumerate(("k", "m", "g", "t"), start=1)},
    **{p + "b": 1000**i for i, p in enumerate(("k", "m", "g", "t"), start=1)},
    **{p + "ib": 1024**i for i, p in enumerate(("k", "m", "g", "t"), start=1)},
}
#: below this DuckDB cannot run a query at all
MIN_MEMORY = 16 * 1000**2
_GB = 1 << 30


def parse_size(text: str, option: str = "--memory-limit") -> int:
    """Bytes in a size such as ``3GB`` (1000-based), ``3GiB`` (1024-based), ``512MB``, ``1.5 GB``
    (what DuckDB accepts), or :class:`ConfigError` naming ``option``.

    >>> parse_size("3GB"), parse_size("1.5 GiB"), parse_size("512mb")
    (3000000000, 1610612736, 512000000)
    """
    match = _SIZE.fullmatch(str(text).strip())
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS or not unit:
        raise ConfigError(
            f"{option} {text!r} is not a size: give a number and a unit, e.g. 3GB, 512MB, "
            "2GiB (B, KB, MB, GB, TB, or KiB, MiB, GiB, TiB)"
        )
    return int(float(match.group(1)) * _UNITS[unit])


def memory_limit_sql(text: str, option: str = "--memory-limit") -> str:
    """``text`` validated and written the way DuckDB's ``memory_limit`` takes it (bytes, or a
    percentage of the machine's memory): never anything but digits and a unit.

    >>> memory_limit_sql("3GB"), memory_limit_sql("75%")
    ('3000000000B', '75%')
    """
    value = str(text).strip()
    if value.endswith("%"):
        number = value[:-1].strip()
        if re.fullmatch(r"\d+(\.\d+)?", number) and 0 < float(number) <= 100:
            return f"{float(number):g}%"
        raise ConfigError(f"{option} {text!r}: a percentage of memory is between 0 and 100%")
    size = parse_size(value, option)
    if size < MIN_MEMORY:
        raise ConfigError(f"{option} {text!r} is too small: DuckDB needs at least 16MB")
    return f"{size}B"


@dataclass(frozen=True)
class ResourceLimits:
    """The limits every engine of this process opens with (None: DuckDB's own default;
    ``max_temp_size`` in bytes, further capped by the free disk).

    >>> ResourceLimits(memory_limit="3GB").memory_limit
    '3000000000B'
    """

    memory_limit: str | None = None
    threads: int | None = None
    temp_dir: str | None = None
    max_temp_size: int | None = None

    def __post_init__(self) -> None:
        if self.memory_limit is not None:
            object.__setattr__(self, "memory_limit", memory_limit_sql(self.memory_limit))
        if self.threads is not None and int(self.threads) < 1:
            raise ConfigError(f"--threads {self.threads}: give 1 or more")
        if isinstance(self.max_temp_size, str):
            size = parse_size(self.max_temp_size, "--max-temp-size")
            object.__setattr__(self, "max_temp_size", size)
        if self.temp_dir is not None:
            folder = Path(self.temp_dir)
            if folder.exists() and not folder.is_dir():
                raise ConfigError(f"--temp-dir {self.temp_dir}: not a folder")


_explicit: ResourceLimits | None = None


def _from_environment() -> ResourceLimits:
    values: dict = {}
    for field, variable in ENV.items():
        raw = os.environ.get(variable, "").strip()
        if not raw:
            continue
        try:
            values[field] = int(raw) if field == "threads" else raw
            ResourceLimits(**{field: values[field]})
        except (ConfigError, ValueError) as exc:
            raise ConfigError(f"environment variable {variable}={raw!r}: {exc}") from None
    return ResourceLimits(**values)


def resource_limits() -> ResourceLimits:
    """This process's limits: those set by :func:`set_resource_limits` over the environment's
    (``NETPERSONA_MEMORY_LIMIT``, ``NETPERSONA_THREADS``, ``NETPERSONA_TEMP_DIR``,
    ``NETPERSONA_MAX_TEMP_SIZE``).

    >>> isinstance(resource_limits(), ResourceLimits)
    True
    """
    base = _from_environment()
    if _explicit is None:
        return base
    given = {k: v for k, v in vars(_explicit).items() if v is not None}
    return replace(base, **given)


def set_resource_limits(
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_dir: str | Path | None = None,
    max_temp_size: str | int | None = None,
    *,
    keep: bool = False,
) -> ResourceLimits:
    """Set this process's limits (validated: :class:`ConfigError` on a bad size); a None
    leaves the environment's value, or with ``keep`` the value set before. Returns the limits
    now in force.

    >>> set_resource_limits(memory_limit="3GB", max_temp_size="50GB").memory_limit
    '3000000000B'
    >>> set_resource_limits().max_temp_size is None  # back to the environment's
    True
    """
    global _explicit
    given = ResourceLimits(
        memory_limit, threads, None if temp_dir is None else str(temp_dir), max_temp_size
    )
    if keep and _explicit is not None:
        given = replace(_explicit, **{k: v for k, v in vars(given).items() if v is not None})
    _explicit = given
    return resource_limits()


def _existing(folder: Path) -> Path:
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def temp_budget(folder: str | Path, cap: int | None = None) -> int:
    """The most a spill into ``folder`` may hold: the free disk under it less a reserve
    (for the run's outputs and everyone else), and at most ``cap``.

    >>> import tempfile
    >>> temp_budget(tempfile.gettempdir(), cap=10**6) <= 10**6
    True
    """
    free = shutil.disk_usage(_existing(Path(folder))).free
    budget = max(free - max(free // 10, min(_GB, free // 2)), 0)
    return budget if cap is None else min(budget, int(cap))


def human(size: float) -> str:
    """``1536`` -> ``'1.5 KiB'``: sizes in messages."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


_DUCK_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(bytes|KiB|MiB|GiB|TiB|PiB)")
_DUCK_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}
_OFFLOAD = re.compile(rf"of size {_DUCK_SIZE.pattern} \({_DUCK_SIZE.pattern}/{_DUCK_SIZE.pattern}")


def _bytes(number: str, unit: str) -> int:
    return int(float(number) * _DUCK_UNITS.get(unit, 1024**5))


def resource_error(
    exc: BaseException,
    *,
    temp_dir: str | Path | None,
    memory_limit: str | None,
    temp_limit: int | None,
) -> NetpersonaError | None:
    """The clear error for a database error that says the run hit its memory or temporary-disk
    limit (or filled the disk); None for any other error.

    >>> duck = Exception("Out of Memory Error: failed to allocate data of size 2.0 MiB "
    ...                  "(17.7 MiB/19.0 MiB used)")
    >>> clear = resource_error(duck, temp_dir="/tmp/x", memory_limit="20000000B", temp_limit=0)
    >>> type(clear).__name__, "19.1 MiB (--memory-limit)" in str(clear)
    ('ResourceLimitError', True)
    """
    text = str(exc)
    head = text.splitlines()[0] if text else type(exc).__name__
    hint = (
        "\n  hint: free space there, point --temp-dir (NETPERSONA_TEMP_DIR) at a larger disk, "
        "or raise --memory-limit so that less spills"
    )
    if "max_temp_directory_size" in text:
        needed = limit = None
        said = "needed more"
        found = _OFFLOAD.search(text)
        if found:
            block, used, limit = (_bytes(*found.group(i, i + 1)) for i in (1, 3, 5))
            needed = used + block
            said = f"had spilled {human(used)} and needed {human(block)} more"
        limit = limit if limit is not None else temp_limit
        return TempSpaceError(
            f"the run needs more temporary disk than it may use: it spills into {temp_dir}, "
            f"limited to {human(limit or 0)} (the free disk there less a reserve, or "
            f"--max-temp-size), {said}" + hint,
            folder=temp_dir or "?",
            needed=needed,
            limit=limit,
        )
    if "No space left on device" in text or "Errno 28" in text:
        return TempSpaceError(
            f"the disk is full: writing failed while the run spilled into {temp_dir} ({head})"
            + hint,
            folder=temp_dir or "?",
            limit=temp_limit,
        )
    if head.startswith("Out of Memory Error"):
        limit = "its memory limit"
        if memory_limit and memory_limit.endswith("B"):
            limit = f"its memory limit of {human(int(memory_limit[:-1]))} (--memory-limit)"
        elif memory_limit:
            limit = f"its memory limit of {memory_limit} of RAM (--memory-limit)"
        spill = f", at most {human(temp_limit)}" if temp_limit is not None else ""
        return ResourceLimitError(
            f"the run needs more memory than {limit} allows, and could not spill the rest to "
            f"{temp_dir}{spill} ({head.removeprefix('Out of Memory Error: ')})\n  hint: raise "
            "--memory-limit or --max-temp-size, or lower --threads (each thread holds working "
            "memory of its own)"
        )
    return None
