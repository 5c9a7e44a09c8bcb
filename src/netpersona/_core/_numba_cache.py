"""Where numba keeps netpersona's compiled code, so only the first process ever compiles it.

netpersona's numba functions are declared ``cache=True``. numba writes that cache next to the
sources (``__pycache__``), which works for a development checkout but not for a read-only
install (site-packages owned by root, a container image): there every process would pay the
compile (~20 s for re-join identification on 2 cores). :func:`configure_numba_cache` runs when
``netpersona`` is imported, before any numba module is: when ``NUMBA_CACHE_DIR`` is unset and
the package folder cannot be written, it points numba at a per-user cache folder:

1. ``platformdirs.user_cache_dir("netpersona")/numba`` when platformdirs is installed, else
   ``$XDG_CACHE_HOME/netpersona/numba`` (``~/.cache/netpersona/numba`` when unset);
2. when that cannot be created or written either (no home, a read-only home):
   ``<system temp>/netpersona-<uid>/numba``.

An explicit ``NUMBA_CACHE_DIR`` always wins. ``netpersona warmup`` fills the cache ahead of time
(e.g. as a step of a container build, with the same ``NUMBA_CACHE_DIR`` as the runs).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, MutableMapping
from pathlib import Path

#: the environment variable numba reads (at its import) for a user-provided cache folder
ENV = "NUMBA_CACHE_DIR"
#: the package folders holding ``cache=True`` functions (relative to the package root)
_NUMBA_PACKAGES = ("rejoin", "rejoin/_learned", "nn")


def _package_root() -> Path:
    return Path(__file__).resolve().parents[1]


def folder_writable(folder: Path) -> bool:
    """Whether numba could write its cache beside the sources in ``folder`` (in
    ``folder/__pycache__``, created if missing)."""
    pycache = folder / "__pycache__"
    target = pycache if pycache.exists() else folder
    return os.access(target, os.W_OK | os.X_OK)


def package_writable(root: Path | None = None) -> bool:
    """Whether numba's default, in-tree cache works for every netpersona numba module."""
    root = _package_root() if root is None else root
    return all(folder_writable(root / sub) for sub in _NUMBA_PACKAGES if (root / sub).is_dir())


def user_cache_dir(environ: MutableMapping[str, str] | None = None) -> Path:
    """The per-user folder for netpersona's numba cache (not created here)."""
    environ = os.environ if environ is None else environ
    try:
        import platformdirs
    except ImportError:
        platformdirs = None
    if platformdirs is not None and "XDG_CACHE_HOME" not in environ:
        return Path(platformdirs.user_cache_dir("netpersona")) / "numba"
    home = Path(environ.get("HOME") or "~").expanduser()
    return Path(environ.get("XDG_CACHE_HOME") or home / ".cache") / "netpersona" / "numba"


def _usable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def fallback_cache_dir() -> Path:
    """The last resort: a private folder under the system's temporary directory."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"netpersona-{uid}" / "numba"


def choose_cache_dir(
    environ: MutableMapping[str, str] | None = None,
    writable: Callable[[], bool] | None = None,
    usable: Callable[[Path], bool] = _usable,
) -> Path | None:
    """The folder ``NUMBA_CACHE_DIR`` should name, or None when numba's default (or the
    caller's own ``NUMBA_CACHE_DIR``) already works.

    >>> choose_cache_dir({"NUMBA_CACHE_DIR": "/srv/cache"}, writable=lambda: False) is None
    True
    >>> choose_cache_dir({}, writable=lambda: True) is None
    True
    >>> str(choose_cache_dir({"XDG_CACHE_HOME": "/c"}, lambda: False, lambda p: True))
    '/c/netpersona/numba'
    """
    environ = os.environ if environ is None else environ
    writable = package_writable if writable is None else writable
    if environ.get(ENV) or writable():
        return None
    for folder in (user_cache_dir(environ), fallback_cache_dir()):
        if usable(folder):
            return folder
    return None  # nowhere writable: numba compiles in memory, as it would anyway


def configure_numba_cache() -> Path | None:
    """Point numba's cache at a writable folder when its default cannot be written; returns
    the folder chosen (None: left as it was). Safe to call more than once, and after numba's
    import (its loaded configuration is updated too).

    >>> import os
    >>> folder = configure_numba_cache()  # already done when netpersona was imported
    >>> folder is None or os.environ["NUMBA_CACHE_DIR"] == str(folder)
    True
    """
    try:
        folder = choose_cache_dir()
    except Exception:  # never let cache placement stop an import
        return None
    if folder is None:
        return None
    os.environ[ENV] = str(folder)
    config = sys.modules.get("numba.core.config")
    if config is not None:  # numba already imported: its CACHE_DIR was read at import
        config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]
    return folder
