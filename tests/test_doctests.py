"""Every docstring example under src/netpersona runs, so documentation cannot drift from
behaviour. A module that needs pyspark is skipped where pyspark (or Java) is missing."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "netpersona"


def _modules_with_examples() -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "__main__.py" or ">>>" not in path.read_text(encoding="utf-8"):
            continue
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = _modules_with_examples()


def test_the_examples_are_found():
    # the public functions of nn, devices, customers and io carry examples
    for package in ("nn", "devices", "customers", "io"):
        assert any(m.startswith(f"netpersona.{package}") for m in MODULES), package


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # pyspark-only modules
        if "pyspark" in str(exc) or "java" in str(exc).lower():
            pytest.skip(f"{name} needs pyspark/Java: {exc}")
        raise
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has '>>>' but no example doctest can find"
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


#: public names still without an example; an entry that gains an example must leave the list
#: (the test says so). _core's exception classes and Progress are documented by their
#: hierarchy drawing and are listed here.
WITHOUT_EXAMPLE = {
    "netpersona._core": {
        "ColumnNotFoundError", "ConfigError", "InputError", "ModelFormatError",
        "NetpersonaError", "OutputExistsError", "Progress", "RichProgress", "Setting",
        "SettingSpec", "TooManyBadRowsError", "WorkspaceBusyError", "WorkspaceError",
        "WorkspaceIncompleteError", "ResourceLimitError", "TempSpaceError",
        # shown together in the example of _core/_settings.py's module docstring
        "Settings", "search_space", "settings_options",
    },
}  # fmt: skip


@pytest.mark.parametrize(
    "package",
    [
        "netpersona.nn",
        "netpersona.devices",
        "netpersona.customers",
        "netpersona.report",
        "netpersona.io",
        "netpersona.demo",
        "netpersona._core",
    ],
)
def test_every_public_function_and_class_has_an_example(package):
    import inspect

    module = importlib.import_module(package)
    lacking = sorted(
        name
        for name in module.__all__
        if (inspect.isfunction(getattr(module, name)) or inspect.isclass(getattr(module, name)))
        and ">>>" not in (inspect.getdoc(getattr(module, name)) or "")
        and name not in WITHOUT_EXAMPLE.get(package, set())
    )
    assert not lacking, f"{package}: no docstring example for {lacking}"
    stale = sorted(
        name
        for name in WITHOUT_EXAMPLE.get(package, set())
        if ">>>" in (inspect.getdoc(getattr(module, name)) or "")
    )
    assert not stale, f"{package}: {stale} have examples now; remove them from WITHOUT_EXAMPLE"
