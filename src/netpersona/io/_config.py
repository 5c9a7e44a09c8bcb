"""``netpersona.toml``: named log mappings, settings tables and per-command defaults in one file.

The file has ``[mappings.NAME]`` tables (the log-mapping flags, ``user_col = "msisdn"``...),
settings tables such as ``[rejoin]`` (checked by the settings class the caller names) and
``[commands.GROUP.COMMAND]`` tables of option defaults (checked by the command line, which
knows its commands). Every way the file can be wrong is a :class:`~netpersona.ConfigError`
naming the file, the table, the key and the keys accepted there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netpersona._core import ConfigError, load_toml
from netpersona.io._mapping import LogMapping

#: the file found in the working folder when no ``--config`` is given
CONFIG_FILE = "netpersona.toml"

_SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";"}

#: what each key of a ``[mappings.NAME]`` table holds: text, a switch, a number, names
_MAPPING_KINDS: dict[str, type | tuple] = {
    "user_col": str, "time_col": str, "url_col": str, "site_col": str, "no_header": bool,
    "columns": (str,), "sep": str, "time_unit": str, "timezone": str,
    "pseudonymize_key_file": str, "max_bad_fraction": float, "time_origin": str,
    "min_time": str, "max_time": str,
}  # fmt: skip

#: a settings table's checker: (its table as written, where) -> the checked table or an object
TableCheck = Callable[[dict[str, Any], str], Any]


def parse_separator(sep: str | None) -> str | None:
    """The separator character for a ``--sep`` value (names such as ``tab`` accepted).

    >>> parse_separator("tab"), parse_separator(";"), parse_separator(None)
    ('\\t', ';', None)
    """
    if sep is None:
        return None
    return _SEPARATOR_NAMES.get(sep.lower(), sep)


def _kind_name(kind: type | tuple) -> str:
    if isinstance(kind, tuple):
        return f"a list of {_kind_name(kind[0])} values"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text"}[kind]


def _checked(value: Any, kind: type | tuple, where: str) -> Any:
    """``value`` as ``kind`` (a type, or a 1-tuple naming the type of a list's items)."""
    if isinstance(kind, tuple):
        if isinstance(value, str) and kind[0] is str:  # "a,b,c" for a list of names
            return [v.strip() for v in value.split(",")]
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be {_kind_name(kind)}, got {value!r}")
        return [_checked(v, kind[0], where) for v in value]
    if kind is str and isinstance(value, dt.date | dt.time):  # an unquoted TOML date
        return value.isoformat()
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }[kind]
    if not ok:
        raise ConfigError(f"{where} must be {_kind_name(kind)}, got {value!r}")
    return float(value) if kind is float else value


def check_config_table(
    table: Mapping[str, Any], kinds: Mapping[str, type | tuple], where: str
) -> dict[str, Any]:
    """``table`` checked against ``kinds`` (``{key: type}``, a 1-tuple ``(type,)`` for a list):
    an unknown key or a value of the wrong type is a ConfigError naming ``where``, the key and
    the accepted keys.

    >>> check_config_table({"lr": 1, "hidden": [8]}, {"lr": float, "hidden": (int,)}, "[net]")
    {'lr': 1.0, 'hidden': [8]}
    >>> check_config_table({"rate": 1}, {"lr": float}, "x.toml [net]")
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.ConfigError: x.toml [net]: unknown key 'rate'; the accepted keys are lr
    """  # noqa: E501
    unknown = sorted(set(table) - set(kinds))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; the accepted keys are {', '.join(sorted(kinds))}"
        )
    return {key: _checked(value, kinds[key], f"{where}: {key}") for key, value in table.items()}


@dataclass(frozen=True)
class ConfigFile:
    """A ``netpersona.toml`` as read and checked (an empty one when there is no file).

    ``mappings`` holds each ``[mappings.NAME]`` table as :class:`LogMapping` fields,
    ``tables`` each settings table as its checker returned it (the keys written, checked), ``commands`` the
    ``[commands]`` tables as written (the command line checks them against its commands).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "netpersona.toml"
    >>> _ = path.write_text('[mappings.default]\\nuser_col = "msisdn"\\nsep = "tab"\\n')
    >>> config = ConfigFile.read(path)
    >>> mapping = config.mapping()
    >>> mapping.user_col, mapping.sep, mapping.time_col
    ('msisdn', '\\t', 'ts')
    >>> ConfigFile().mapping("tsv")
    Traceback (most recent call last):
    ...
    netpersona._core._exceptions.ConfigError: --mapping 'tsv': there is no configuration file (netpersona.toml in this folder, or --config FILE)
    """  # noqa: E501

    path: Path | None = None
    mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, path: str | Path, tables: Mapping[str, TableCheck] | None = None) -> ConfigFile:
        """Read and check the file at ``path``; ``tables`` names the settings tables it may
        hold and how each is checked (``{"rejoin": RejoinSettings.from_mapping}``)."""
        path = Path(path)
        tables = dict(tables or {})
        document = load_toml(path, "configuration file")
        accepted = sorted({"mappings", "commands", *tables})
        for key, value in document.items():
            if key not in accepted:
                raise ConfigError(
                    f"{path}: unknown table [{key}]; the accepted tables are "
                    f"{', '.join(f'[{a}]' for a in accepted)}"
                )
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: {key} must be a table ([{key}]), got {value!r}")
        mappings = {
            name: _mapping_fields(table, f"{path} [mappings.{name}]", path.parent)
            for name, table in document.get("mappings", {}).items()
        }
        checked = {}
        for name, check in tables.items():
            if name in document:
                checked[name] = _with_file(path, name, check, document[name])
        return cls(path, mappings, checked, document.get("commands", {}))

    @classmethod
    def find(
        cls,
        path: str | Path | None = None,
        tables: Mapping[str, TableCheck] | None = None,
        folder: str | Path = ".",
    ) -> ConfigFile:
        """The file at ``path`` (it must exist), else ``netpersona.toml`` in ``folder`` if
        there is one, else an empty configuration."""
        if path is None:
            found = Path(folder) / CONFIG_FILE
            return cls.read(found, tables) if found.is_file() else cls()
        if not Path(path).exists():
            raise ConfigError(f"--config {path}: no such file")
        return cls.read(path, tables)

    def mapping_fields(self, name: str | None = None) -> dict[str, Any]:
        """The :class:`LogMapping` fields of mapping ``name``; without a name those of
        ``[mappings.default]`` ({} when the file has none)."""
        if name is None:
            return dict(self.mappings.get("default", {}))
        if name not in self.mappings:
            if self.path is None:
                raise ConfigError(
                    f"--mapping {name!r}: there is no configuration file ({CONFIG_FILE} in this "
                    "folder, or --config FILE)"
                )
            known = ", ".join(sorted(self.mappings)) or "none"
            raise ConfigError(
                f"--mapping {name!r}: {self.path} has no [mappings.{name}] table "
                f"(its mappings: {known})"
            )
        return dict(self.mappings[name])

    def mapping(self, name: str | None = None, **changes: Any) -> LogMapping:
        """The :class:`LogMapping` of mapping ``name`` (see :meth:`mapping_fields`), with
        ``changes`` on top."""
        return LogMapping(**{**self.mapping_fields(name), **changes})

    def table(self, name: str) -> Any:
        """Settings table ``name`` as its checker returned it, or None when not in the file."""
        return self.tables.get(name)


def _with_file(path: Path, name: str, check: TableCheck, table: dict) -> Any:
    try:
        return check(table, f"{path} [{name}]")
    except ConfigError as exc:
        text = str(exc)
        if str(path) in text:
            raise
        raise ConfigError(f"{path} [{name}]: {text}") from None


def _mapping_fields(table: Any, where: str, folder: Path) -> dict[str, Any]:
    """A ``[mappings.NAME]`` table as LogMapping fields, checked by building the mapping."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, got {table!r}")
    values = check_config_table(table, _MAPPING_KINDS, where)
    if "columns" in values:
        values["columns"] = tuple(values["columns"])
        values["no_header"] = True
    if "sep" in values:
        values["sep"] = parse_separator(values["sep"])
    if "site_col" in values and "url_col" not in values:
        values["url_col"] = None
    if "pseudonymize_key_file" in values:  # relative to the configuration file's folder
        values["pseudonymize_key_file"] = folder / values["pseudonymize_key_file"]
    try:
        LogMapping(**values)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return values
