"""Every command block of the README runs (issue #17): the commands a new user copies work as
written, at smaller sizes so the suite stays quick.

The bash and Python blocks run in order in one folder (later blocks use earlier files). Sizes
are shrunk (``--users 300`` -> 40, calibration to 2 trials); blocks that install packages, start
a server or need Spark are skipped, each with its reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shared_data import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.DOTALL)

#: (pattern in a block, why it does not run here)
SKIPS = [
    ("pip install", "installs packages (the test runs in the installed environment)"),
    ("netpersona serve", "starts a server (tests/serve covers it)"),
    ("spark-submit", "needs a Spark cluster (tests/engines covers Spark in local mode)"),
]
#: smaller sizes: (README text, what runs)
SHRINK = [
    ("--users 300 --days 20", "--users 30 --days 16"),
    ("--users 130", "--users 40"),
    ("--n 548", "--n 120"),
    ("--objective balanced --out settings.toml", "--objective balanced --max-trials 2 "
     "--out settings.toml"),
]  # fmt: skip


def blocks() -> list[tuple[str, str]]:
    """The README's (language, text) code blocks, in order."""
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def _skip_reason(text: str) -> str | None:
    for pattern, why in SKIPS:
        if pattern in text:
            return why
    if "../shared/data/" in text and not SHARED_DATA.exists():
        return f"the real data folder {SHARED_DATA} is absent"
    return None


def _runnable(text: str) -> str:
    for before, after in SHRINK:
        text = text.replace(before, after)
    text = text.replace("../shared/data/", f"{SHARED_DATA}/")
    text = text.replace(" examples/", f" {ROOT}/examples/")
    text = re.sub(r"(?m)^netpersona ", f"{sys.executable} -m netpersona ", text)
    return re.sub(r"(?m)^python ", f"{sys.executable} ", text)


def test_the_readme_has_the_blocks_a_new_user_needs():
    text = README.read_text(encoding="utf-8")
    assert "python3 -m venv .venv" in text  # a Debian/Ubuntu Python refuses pip outside one
    assert "split_log" in text  # the recipe from one log to library and query files
    assert "explain q-000001" in text and "--settings settings.toml" in text
    assert "300 x 20" not in text or "--users 300 --days 20" in text  # figures match commands


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """One folder for all blocks: later blocks use what earlier ones wrote."""
    return tmp_path_factory.mktemp("readme")


@pytest.mark.parametrize(("number", "language", "text"),
                         [(i, lang, text) for i, (lang, text) in enumerate(blocks(), 1)],
                         ids=lambda v: str(v) if isinstance(v, int) else "")  # fmt: skip
def test_every_readme_block_runs(folder, number, language, text):
    why = _skip_reason(text)
    if why:
        pytest.skip(f"README block {number}: {why}")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1", "COLUMNS": "120"}
    script = _runnable(text)
    command = (["bash", "-euo", "pipefail", "-c", script] if language == "bash"
               else [sys.executable, "-c", script])  # fmt: skip
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert done.returncode == 0, f"README block {number} failed:\n{text}\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
