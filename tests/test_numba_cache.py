"""Compiled code is cached on disk where it can be written, so a second process pays no compile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from netpersona._core import _numba_cache as nc

#: a module with one cached numba function; prints its cache statistics and where it cached
_MODULE = textwrap.dedent(
    """
    import json, os, sys
    import netpersona  # configures the cache before numba is imported
    import numba

    @numba.njit(cache=True)
    def triple(x):
        return 3 * x

    value = triple(14)
    print(json.dumps({"value": value, "hits": sum(triple.stats.cache_hits.values()),
                      "misses": sum(triple.stats.cache_misses.values()),
                      "cache_dir": os.environ.get("NUMBA_CACHE_DIR")}))
    """
)


def _run(script: Path, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_second_process_loads_the_first_ones_compiled_code(tmp_path):
    script = tmp_path / "kernel.py"
    script.write_text(_MODULE)
    cache = tmp_path / "cache"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    first = _run(script, env)
    assert first["value"] == 42
    assert first["hits"] == 0 and first["misses"] == 1  # compiled, then written
    written = sorted(p.suffix for p in cache.rglob("*") if p.is_file())
    assert ".nbi" in written and ".nbc" in written
    assert not (tmp_path / "__pycache__").exists() or not any(
        (tmp_path / "__pycache__").glob("kernel.*.nbi")
    )  # the explicit folder, not beside the source
    second = _run(script, env)
    assert second == {**first, "hits": 1, "misses": 0}


def test_an_explicit_cache_dir_is_kept():
    env = {"NUMBA_CACHE_DIR": "/srv/numba"}
    assert nc.choose_cache_dir(env, writable=lambda: False) is None


def test_a_writable_package_keeps_numbas_in_tree_cache():
    assert nc.choose_cache_dir({}, writable=lambda: True) is None


def test_a_read_only_package_caches_under_xdg_cache_home(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    folder = nc.choose_cache_dir(env, writable=lambda: False)
    assert folder == tmp_path / "xdg" / "netpersona" / "numba"
    assert folder.is_dir()


def test_without_xdg_the_home_cache_is_used(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "platformdirs", None)  # as if not installed
    env = {"HOME": str(tmp_path)}
    folder = nc.choose_cache_dir(env, writable=lambda: False, usable=lambda p: True)
    assert folder == tmp_path / ".cache" / "netpersona" / "numba"


def test_an_unwritable_home_falls_back_to_the_system_temp(tmp_path):
    env = {"XDG_CACHE_HOME": "/proc/no-such-place"}
    folder = nc.choose_cache_dir(env, writable=lambda: False)
    assert folder == nc.fallback_cache_dir()
    assert folder.is_dir() and os.access(folder, os.W_OK)


def test_the_package_check_looks_where_numba_writes(tmp_path):
    root = tmp_path / "pkg"
    for sub in ("rejoin", "rejoin/_learned", "nn"):
        (root / sub).mkdir(parents=True)
    assert nc.package_writable(root)
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere: read-only folders cannot be shown")
    (root / "nn").chmod(0o555)
    try:
        assert not nc.package_writable(root)
    finally:
        (root / "nn").chmod(0o755)


def test_configuring_after_numbas_import_updates_its_setting(monkeypatch, tmp_path):
    numba_config = pytest.importorskip("numba.core.config")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(nc, "package_writable", lambda: False)
    monkeypatch.setattr(numba_config, "CACHE_DIR", numba_config.CACHE_DIR)
    folder = nc.configure_numba_cache()
    assert folder == tmp_path / "netpersona" / "numba"
    assert os.environ["NUMBA_CACHE_DIR"] == str(folder) == numba_config.CACHE_DIR


@pytest.mark.slow
def test_warm_up_fills_the_cache_with_the_products_own_functions(tmp_path):
    """``netpersona warmup``'s function compiles the re-join and nn kernels into the cache."""
    cache = tmp_path / "cache"
    code = (
        "from netpersona.demo import warm_up; import json; "
        "print(json.dumps(warm_up(methods=('paper',))))"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["cache_dir"] == str(cache)
    assert set(result["seconds"]) == {"rejoin paper", "nn"}
    modules = {p.name.split(".")[0] for p in cache.rglob("*.nbi")}
    assert {"_join_kernels", "_runs", "_steps", "_train_online"} <= modules
