"""``--config FILE`` (or ``./netpersona.toml``): the configuration file a run uses.

The root callback reads it (:func:`activate`): ``[mappings.NAME]`` tables feed
``--mapping NAME`` (:func:`~netpersona.cli._options.mapping_from_config`), ``[rejoin]`` the
re-join settings (:func:`rejoin_settings`), ``[devices]`` / ``[customers]`` the network flags of
their train commands, and ``[commands.GROUP.COMMAND]`` tables the defaults of any option. Both
of the last two become Click's ``default_map``, so a flag typed on the command line wins and
``--help`` shows the configured defaults. Precedence: flag > file > built-in default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from netpersona._core import ConfigError
from netpersona.io import ConfigFile, check_config_table

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        dir_okay=False,
        help="Configuration file (TOML: named log mappings, [rejoin] / [devices] / [customers] "
        "settings, per-command defaults); default: ./netpersona.toml when there is one. "
        "`netpersona config init` writes a template, `config show` what applies.",
    ),
]

#: the configuration of this run, set by the root callback (empty when none)
_CURRENT = [ConfigFile()]

#: the [customers] keys: the train / run / stability flags of the same names
CUSTOMER_KINDS: dict[str, type | tuple] = {
    "seed": int, "sample_share": float, "train_share": float, "split": str, "goal": float,
    "epochs": int, "label_column": str, "tiers": (float,), "ensemble": int,
}  # fmt: skip
#: the commands a settings table gives defaults to (the flags they declare of its keys)
SETTINGS_COMMANDS = {
    "devices": [("devices", "train")],
    "customers": [("customers", "train"), ("customers", "run"), ("customers", "stability")],
}


def current() -> ConfigFile:
    """The configuration file of this run (an empty one when there is none)."""
    return _CURRENT[0]


def device_kinds() -> dict[str, type | tuple]:
    """The [devices] keys: paper B's network settings (the flags of `devices train`)."""
    from dataclasses import fields

    from netpersona.devices import NetworkSettings

    out: dict[str, type | tuple] = {}
    for f in fields(NetworkSettings):
        default = getattr(NetworkSettings(), f.name)
        out[f.name] = (type(default[0]),) if isinstance(default, tuple) else type(default)
    return out


def _check_rejoin(table: dict, where: str) -> dict:
    from netpersona.rejoin import RejoinSettings

    checked = RejoinSettings.from_mapping(table, source=where).to_dict()
    return {key: checked[key] for key in table}  # the keys written, as the settings take them


def _check_devices(table: dict, where: str) -> dict:
    values = check_config_table(table, device_kinds(), where)
    if "input_range" in values and len(values["input_range"]) != 2:
        raise ConfigError(f"{where}: input_range must be two numbers, e.g. [0.0, 1.0]")
    return values


def _check_customers(table: dict, where: str) -> dict:
    from netpersona.customers import CustomerSettings, TierThresholds

    values = check_config_table(table, CUSTOMER_KINDS, where)
    if values.get("split", "order") not in ("order", "random"):
        raise ConfigError(f"{where}: split must be 'order' or 'random', got {values['split']!r}")
    if "tiers" in values:
        if len(values["tiers"]) != 3:
            raise ConfigError(
                f"{where}: tiers must be three numbers A, B, C (paper: 0.75 0.5 0.25)"
            )
        TierThresholds(*values["tiers"])
    CustomerSettings(ensemble=values.get("ensemble", 1))
    return values


#: the settings tables a configuration file may hold, and how each is checked
TABLES = {"rejoin": _check_rejoin, "devices": _check_devices, "customers": _check_customers}


def load(path: Path | None, folder: Path | str = ".") -> ConfigFile:
    """The configuration file at ``path``, else ``./netpersona.toml``, checked."""
    return ConfigFile.find(path, TABLES, folder=folder)


def activate(ctx: typer.Context, path: Path | None) -> ConfigFile:
    """Read the run's configuration file and make it the defaults of the commands."""
    config = load(path)
    _CURRENT[0] = config
    if config.path is not None:
        ctx.default_map = command_defaults(ctx.command, config, ctx)
    return config


def rejoin_settings(path: Path | None, overrides: dict | None = None, *, optional: bool = False):
    """The re-join settings of a command: its setting flags, over ``--settings FILE``, else over
    the configuration's [rejoin], else over the paper's; None with ``optional`` when nothing
    was given anywhere (the workspace's own settings then apply)."""
    from netpersona.rejoin import RejoinSettings

    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    configured = current().table("rejoin")
    if path is not None:
        base = RejoinSettings.from_toml(path)
    elif configured:
        base = RejoinSettings.from_mapping(configured)
    elif optional and not overrides:
        return None
    else:
        base = RejoinSettings()
    return base.replace(**overrides)


def _cli_value(key: str, value: Any) -> Any:
    """A settings-table value as its flag takes it."""
    if key == "input_range":
        return ",".join(f"{v:g}" for v in value)
    return tuple(value) if key == "tiers" else value


def command_defaults(root: Any, config: ConfigFile, ctx: Any = None) -> dict:
    """Click's ``default_map`` of the configuration: the settings tables' keys for the commands
    taking them as flags, then the [commands] tables (checked against the commands)."""
    out: dict = {}
    for table, commands in SETTINGS_COMMANDS.items():
        values = config.table(table) or {}
        for path in commands:
            command = _find(root, path)
            names = {p.name for p in command.params}
            node = out.setdefault(path[0], {}).setdefault(path[1], {})
            node.update({k: _cli_value(k, v) for k, v in values.items() if k in names})
    _merge(out, _command_tables(root, config.commands, (), config.path, ctx))
    return out


def _find(root: Any, path: tuple[str, ...]) -> Any:
    command = root
    for name in path:
        command = command.commands[name]
    return command


def _merge(into: dict, more: dict) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _command_tables(group: Any, tables: Any, prefix: tuple[str, ...], path: Any, ctx: Any) -> dict:
    where = f"{path} [{'.'.join(('commands', *prefix))}]"
    if not isinstance(tables, dict):
        raise ConfigError(f"{where} must be a table, got {tables!r}")
    out = {}
    for name, table in tables.items():
        command = group.commands.get(name)
        if command is None:
            raise ConfigError(
                f"{where}: unknown command {name!r}; the commands are "
                f"{', '.join(sorted(group.commands))}"
            )
        if hasattr(command, "commands"):
            out[name] = _command_tables(command, table, (*prefix, name), path, ctx)
        else:
            sub = f"{path} [{'.'.join(('commands', *prefix, name))}]"
            out[name] = _option_defaults(command, table, sub, ctx)
    return out


def _option_defaults(command: Any, table: Any, where: str, ctx: Any) -> dict:
    """A [commands.X.Y] table as ``{parameter: value}``, each key an option of the command (its
    flag with or without the dashes) and each value one the option takes."""
    from netpersona.cli._options import MAPPING_FLAGS

    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, got {table!r}")
    options = {}
    for param in command.params:
        if param.param_type_name == "option" and param.name != "help":
            for flag in param.opts:
                options[flag.lstrip("-").replace("-", "_")] = param
    out = {}
    for key, value in table.items():
        param = options.get(key.replace("-", "_"))
        if param is None:
            raise ConfigError(
                f"{where}: unknown key {key!r}; the accepted keys are the command's options: "
                f"{', '.join(sorted(options))}"
            )
        if param.name in MAPPING_FLAGS and param.name != "mapping_name":
            raise ConfigError(
                f"{where}: {key!r} is a log-mapping key: put it in a [mappings.NAME] table and "
                'name that here with mapping = "NAME"'
            )
        try:
            param.process_value(ctx, value)  # its type and checks, as if typed
        except (typer.BadParameter, ValueError, TypeError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            raise ConfigError(f"{where}: {key} = {value!r}: {message}") from None
        out[param.name] = value
    return out
