"""Each parameter declared once: a settings dataclass whose field metadata generates the rest.

A field made with :func:`setting` carries its default (the paper's value), one line of help, its
range and the values a calibration search tries. From that one declaration come:

- validation and type coercion (``__post_init__`` of :class:`Settings`), a :class:`ConfigError`
  naming the setting, its range and its help line;
- the TOML reader and writer (:meth:`Settings.from_toml`, :meth:`Settings.to_toml`);
- the calibration search space (:func:`search_space`);
- the command-line flags (:func:`settings_options`, one Typer option per setting).

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Net(Settings):
...     toml_table = "net"
...     rate: float = setting(0.9, "learning rate", low=0.0, low_open=True, high=10.0,
...                           space=(0.9, 0.5))
...     epochs: int = setting(100, "training epochs", low=1)
>>> Net().rate, Net(epochs=7.0).epochs
(0.9, 7)
>>> try:
...     Net(rate=0)
... except ConfigError as error:
...     print(error)
net setting rate = 0.0 is out of range (0.0, 10.0]: learning rate
>>> print(Net().to_toml(), end="")
[net]
# learning rate
rate = 0.9
# training epochs
epochs = 100
>>> search_space(Net)
{'rate': (0.9, 0.5)}
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

from netpersona._core._exceptions import ConfigError
from netpersona._core._toml import load_toml

_KEY = "netpersona.setting"

S = TypeVar("S", bound="Settings")


@dataclass(frozen=True)
class Setting:
    """What one settings field declares besides its default (see :func:`setting`)."""

    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    space: tuple = ()
    choices: tuple = ()
    flag: str | None = None


def setting(
    default: Any,
    help: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    space: Iterable[Any] = (),
    choices: Iterable[Any] = (),
    flag: str | None = None,
) -> Any:
    """A dataclass field that is a documented setting.

    ``default`` is the paper's value; ``help`` one line (lower case, no full stop: it is shown
    in the TOML file, the CLI help and errors); ``low``/``high`` the range (closed unless
    ``low_open``/``high_open``); ``space`` the values a calibration tries, the default first;
    ``choices`` the allowed values of a text setting; ``flag`` the CLI flag (default
    ``--name-with-dashes``).

    >>> f = setting(0.6, "jaccard threshold", low=0.0, high=1.0)
    >>> f.default, f.metadata["netpersona.setting"].high
    (0.6, 1.0)
    """
    meta = Setting(help, low, high, low_open, high_open, tuple(space), tuple(choices), flag)
    return field(default=default, metadata={_KEY: meta})


@dataclass(frozen=True)
class SettingSpec:
    """One setting of a settings class: its name, type, default and declaration."""

    name: str
    kind: type
    default: Any
    meta: Setting

    @property
    def help(self) -> str:
        return self.meta.help

    @property
    def flag(self) -> str:
        return self.meta.flag or "--" + self.name.replace("_", "-")

    def range_text(self) -> str:
        """The range as ``[low, high]`` / ``(low, high]`` (empty when unbounded)."""
        m = self.meta
        if m.low is None and m.high is None:
            return ""
        low = "-inf" if m.low is None else m.low
        high = "inf" if m.high is None else m.high
        return f"{'(' if m.low_open else '['}{low}, {high}{')' if m.high_open else ']'}"

    def check(self, value: Any, label: str) -> Any:
        """``value`` coerced to the setting's type, or a ConfigError saying what is wrong."""
        name, kind = self.name, self.kind
        if kind is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{label} {name} must be true or false, got {value!r}")
            return value
        if kind is str:
            if not isinstance(value, str):
                raise ConfigError(f"{label} {name} must be text, got {value!r}")
            if self.meta.choices and value not in self.meta.choices:
                raise ConfigError(
                    f"{label} {name} = {value!r}: choose one of "
                    f"{', '.join(map(str, self.meta.choices))}"
                )
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{label} {name} must be a number, got {value!r}")
        if kind is int:
            if not float(value).is_integer():
                raise ConfigError(f"{label} {name} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        m = self.meta
        bad = not math.isfinite(value)
        if m.low is not None:
            bad = bad or (value <= m.low if m.low_open else value < m.low)
        if m.high is not None:
            bad = bad or (value >= m.high if m.high_open else value > m.high)
        if bad:
            raise ConfigError(
                f"{label} {name} = {value!r} is out of range {self.range_text()}: {m.help}"
            )
        return value


def setting_specs(cls: type | Any) -> tuple[SettingSpec, ...]:
    """The settings of a settings class (or instance), in declaration order.

    >>> from netpersona.rejoin import RejoinSettings
    >>> [s.flag for s in setting_specs(RejoinSettings)][:2]
    ['--frequent-ratio', '--active-minutes']
    """
    cls = cls if isinstance(cls, type) else type(cls)
    return _specs(cls)


@functools.cache
def _specs(cls: type) -> tuple[SettingSpec, ...]:
    out = []
    for f in fields(cls):
        meta = f.metadata.get(_KEY)
        if meta is None:
            continue
        out.append(SettingSpec(f.name, type(f.default), f.default, meta))
    return tuple(out)


def search_space(cls: type) -> dict[str, tuple]:
    """``{name: values}`` of every setting declaring a calibration space (default first)."""
    return {s.name: s.meta.space for s in setting_specs(cls) if s.meta.space}


class Settings:
    """Base of a frozen settings dataclass whose fields are made with :func:`setting`.

    Subclasses set ``toml_table`` (the TOML table holding them, e.g. ``"rejoin"``) and get
    validation, the TOML round trip, :meth:`replace` and :meth:`to_dict`.
    """

    #: the TOML table of the settings, also the word naming them in errors
    toml_table: ClassVar[str] = "settings"

    def __post_init__(self) -> None:
        label = f"{self.toml_table} setting"
        for spec in setting_specs(self):
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name), label))

    @classmethod
    def from_mapping(cls: type[S], values: dict[str, Any], source: str = "settings") -> S:
        """Settings from a ``{name: value}`` mapping; unknown names are an error."""
        known = {s.name for s in setting_specs(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"{source}: unknown {cls.toml_table} setting {unknown[0]!r}; the known settings "
                f"are {', '.join(sorted(known))}"
            )
        return cls(**values)

    @classmethod
    def from_toml(cls: type[S], path: str | Path, *, other_tables: bool = False) -> S:
        """Read the settings' table of a TOML file (missing keys keep their defaults);
        ``other_tables`` allows tables for other settings beside it."""
        path = Path(path)
        table_name = cls.toml_table
        document = load_toml(path, "settings file")
        extra = sorted(set(document) - {table_name})
        if extra and not other_tables:
            raise ConfigError(
                f"{path}: unknown table or key {extra[0]!r}; put the settings under [{table_name}]"
            )
        table = document.get(table_name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {table_name!r} must be a table ([{table_name}])")
        return cls.from_mapping(table, source=str(path))

    def to_toml(self) -> str:
        """The settings as a TOML document with one table, one comment line per key."""
        lines = [f"[{self.toml_table}]"]
        for spec in setting_specs(self):
            lines.append(f"# {spec.help}")
            lines.append(f"{spec.name} = {_toml_value(getattr(self, spec.name))}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain JSON-serialisable dict."""
        return {s.name: getattr(self, s.name) for s in setting_specs(self)}

    def replace(self: S, **changes: Any) -> S:
        """A copy with some settings changed (``None`` values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes) if changes else self  # type: ignore[type-var]

    @classmethod
    def load(cls: type[S], path: str | Path | None = None, **overrides: Any) -> S:
        """The defaults, then the TOML file ``path`` if given, then every override not None
        (what a command does with ``--settings FILE`` and its setting flags)."""
        base = cls.from_toml(path) if path is not None else cls()
        return base.replace(**overrides)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        import json

        return json.dumps(value)
    return repr(value)


def settings_options(
    cls: type,
    *,
    only: Iterable[str] | None = None,
    panel: str | None = None,
    into: str = "overrides",
) -> Callable[[Callable], Callable]:
    """A decorator giving a Typer command one ``--flag`` per setting of ``cls``.

    The command declares a parameter named ``into`` (default ``overrides``); it receives
    ``{name: value or None}`` of the flags (``only`` those names if given), e.g. for
    ``cls.load(path, **overrides)``. Each flag's help is the setting's help line.
    """
    import typer

    chosen = [s for s in setting_specs(cls) if only is None or s.name in set(only)]

    def decorate(func: Callable) -> Callable:
        signature = inspect.signature(func, eval_str=True)
        if into not in signature.parameters:
            raise TypeError(f"{func.__name__} must declare a parameter {into!r}")
        kept = [p for p in signature.parameters.values() if p.name != into]
        added = [
            inspect.Parameter(
                spec.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[
                    spec.kind | None,
                    typer.Option(
                        spec.flag,
                        help=spec.help[:1].upper() + spec.help[1:] + ".",
                        rich_help_panel=panel,
                    ),
                ],
            )
            for spec in chosen
        ]

        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            kwargs[into] = {spec.name: kwargs.pop(spec.name, None) for spec in chosen}
            return func(*args, **kwargs)

        del command.__wrapped__  # typer must see the new signature, not the function's
        command.__signature__ = signature.replace(parameters=kept + added)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in kept + added}
        return command

    return decorate
