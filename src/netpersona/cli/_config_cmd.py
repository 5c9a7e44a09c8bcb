"""``netpersona config show | init``: the configuration that applies, and a commented template.

Both write TOML: ``show`` marks each value with where it came from (the file or the built-in
default); ``init`` writes every key commented out at its built-in default, with its help line.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from netpersona._core import setting_specs, write_text_atomic
from netpersona.cli._apps import config_app
from netpersona.cli._config import CUSTOMER_KINDS, SETTINGS_COMMANDS, current, device_kinds
from netpersona.cli._json import json_summary
from netpersona.io import CONFIG_FILE, LogMapping

_HEADER = """\
# netpersona configuration (docs/configuration.md): found as ./netpersona.toml, or given with
# `netpersona --config FILE COMMAND ...`. A flag typed on the command line wins over this file;
# a key left out (or commented out, as below) keeps its built-in default (the paper's value).
"""
_MAPPINGS = """\
# Log mappings: the log-mapping flags (--user-col -> user_col ...) by name. A command reading
# logs uses `--mapping NAME`, else [mappings.default]. Add more, e.g. [mappings.radius].
"""
_COMMANDS = """\
# Per-command defaults: any option of a command, by its flag without the dashes, e.g.
# [commands.rejoin.identify]
# top_k = 3
# mapping = "default"
"""


def builtin(table: str) -> dict[str, Any]:
    """The built-in value of every key of ``table`` (a mapping, rejoin, devices, customers)."""
    if table == "mapping":
        return {f.name: getattr(LogMapping(), f.name) for f in fields(LogMapping)}
    if table == "rejoin":
        return {s.name: s.default for s in setting_specs(_rejoin_class())}
    if table == "devices":
        from netpersona.devices import NetworkSettings

        return {name: getattr(NetworkSettings(), name) for name in device_kinds()}
    from netpersona.customers import CustomerSettings

    paper = CustomerSettings()
    tiers = (paper.tiers.a, paper.tiers.b, paper.tiers.c)
    values = {"goal": paper.network.goal, "epochs": paper.network.epochs, "tiers": tiers}
    return {k: values[k] if k in values else getattr(paper, k) for k in CUSTOMER_KINDS}


def _rejoin_class():
    from netpersona.rejoin import RejoinSettings

    return RejoinSettings


def _helps(table: str) -> dict[str, str]:
    """One help line per key of ``table``: the help of its flag."""
    if table == "mapping":
        from netpersona.cli._options import MAPPING_FLAGS

        return {name: get_args(a)[1].help for name, (a, _) in MAPPING_FLAGS.items()}
    if table == "rejoin":
        return {s.name: s.help for s in setting_specs(_rejoin_class())}
    import typer.main

    from netpersona.cli._apps import app

    group, name = SETTINGS_COMMANDS[table][0]
    command = typer.main.get_command(app).commands[group].commands[name]  # type: ignore[attr-defined]
    return {p.name: p.help or "" for p in command.params}


def toml_value(value: Any) -> str:
    """``value`` as TOML (JSON's spelling of text, numbers, booleans and lists is TOML's).

    >>> toml_value("a\\tb"), toml_value(True), toml_value((0.75, 0.5)), toml_value(Path("k"))
    ('"a\\\\tb"', 'true', '[0.75, 0.5]', '"k"')
    """
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value)


def render(table: str, name: str, values: dict[str, Any], commented: bool) -> str:
    """A TOML table ``[name]`` of ``values`` (the keys of ``table``), each under its help line;
    ``commented`` writes them as comments (a template); a None value is always a comment."""
    helps = _helps(table)
    lines = [f"[{name}]"]
    for key, value in values.items():
        help_line = " ".join((helps.get(key) or "").split())
        lines += textwrap.wrap(help_line, 98, initial_indent="# ", subsequent_indent="# ")
        lead = "# " if commented or value is None else ""
        lines.append(f"{lead}{key} = {'(not set)' if value is None else toml_value(value)}")
    return "\n".join(lines) + "\n"


def template() -> str:
    """The commented template `config init` writes: every key at its built-in default."""
    mapping = {k: v for k, v in builtin("mapping").items() if k != "no_header"}
    parts = [_HEADER, _MAPPINGS + render("mapping", "mappings.default", mapping, True)]
    for table in ("rejoin", "devices", "customers"):
        parts.append(render(table, table, builtin(table), True))
    return "\n".join([*parts, _COMMANDS])


def effective() -> dict[str, Any]:
    """What applies, and where each value came from: ``{table: {key: {value, source}}}``."""
    config = current()
    source = str(config.path) if config.path else None
    doc: dict[str, Any] = {"file": source, "mappings": {}}

    def table(defaults: dict, given: dict) -> dict:
        return {k: {"value": given.get(k, v), "source": "file" if k in given else "built-in"}
                for k, v in defaults.items()}  # fmt: skip

    for name in sorted({"default", *config.mappings}):
        doc["mappings"][name] = table(builtin("mapping"), config.mappings.get(name, {}))
    for name in ("rejoin", "devices", "customers"):
        doc[name] = table(builtin(name), config.table(name) or {})
    doc["commands"] = config.commands
    return doc


@config_app.command("show")
@json_summary
def show() -> dict:
    """Print the configuration that applies (the file's values, else the built-in defaults),
    each value marked with where it came from; with --json as JSON."""
    doc = effective()
    out = [f"# configuration file: {doc['file'] or f'none (no ./{CONFIG_FILE}, no --config)'}"]
    sections = [(f"mappings.{n}", t) for n, t in doc["mappings"].items()]
    for name, entries in [*sections, *((n, doc[n]) for n in ("rejoin", "devices", "customers"))]:
        out.append(f"\n[{name}]")
        for key, entry in entries.items():
            value, where = entry["value"], entry["source"]
            text = "(not set)" if value is None else toml_value(value)
            out.append(f"{'# ' if value is None else ''}{key} = {text}  # {where}")
    for path, values in _flat_commands(doc["commands"], ("commands",)):
        out.append(f"\n[{'.'.join(path)}]")
        out += [f"{key} = {toml_value(value)}  # file" for key, value in values.items()]
    typer.echo("\n".join(out))
    return doc


def _flat_commands(tree: dict, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], dict]]:
    leaves = {k: v for k, v in tree.items() if not isinstance(v, dict)}
    out = [(path, leaves)] if leaves else []
    for key, value in tree.items():
        if isinstance(value, dict):
            out += _flat_commands(value, (*path, key))
    return out


@config_app.command("init")
@json_summary
def init(
    path: Annotated[
        Path, typer.Argument(dir_okay=False, help="Where to write the template.")
    ] = Path(CONFIG_FILE),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> dict:
    """Write a commented template of the configuration file: every key at its built-in
    default, commented out, with its help line."""
    text = template()
    write_text_atomic(path, text, force=force)
    typer.echo(f"configuration template: {path} (uncomment and edit what you need)")
    return {"path": path, "bytes": len(text.encode())}
