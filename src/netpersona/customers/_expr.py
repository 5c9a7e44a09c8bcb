"""Safe expressions over a customer table's columns (``expr = "..."`` in an indicator system).

An expression is one DuckDB SQL *scalar* expression, e.g.
``date_diff('day', strptime(Dt_Customer, '%d-%m-%Y'), DATE '2014-12-31')`` or
``(MntWines > 0)::INT + (MntFruits > 0)::INT``. It is never Python and never ``eval``-ed.
Two guards make a system file from someone else safe to run:

1. the expression is parsed with sqlglot and every node must be in a whitelist: column names,
   literals, arithmetic, comparisons, boolean logic, CASE/IF, casts, and the scalar, date and
   aggregate-over-window functions listed in :data:`ALLOWED`. Subqueries, table functions
   (``read_csv``), unknown functions (``getenv``) and several statements are refused;
2. it is evaluated by a DuckDB connection with external access switched off (no files, no
   network) over the already-loaded table.
"""

from __future__ import annotations

from functools import lru_cache

from netpersona._core import ConfigError, check_name, quote_identifier

#: sqlglot node types an indicator expression may contain
ALLOWED = frozenset(
    {
        # names and values
        "Column", "Identifier", "Literal", "Boolean", "Null", "Paren", "Var", "DataType",
        "Interval", "Star",
        # arithmetic and logic
        "Add", "Sub", "Mul", "Div", "IntDiv", "Mod", "Pow", "Neg", "Not", "And", "Or",
        "EQ", "NEQ", "GT", "GTE", "LT", "LTE", "Is", "In", "Between", "Like", "ILike",
        "Case", "If", "Cast", "TryCast", "Coalesce", "Nullif",
        # scalar functions
        "Abs", "Ln", "Log", "Sqrt", "Exp", "Round", "Floor", "Ceil", "Sign", "Greatest",
        "Least", "Lower", "Upper", "Length", "Trim", "Substring", "Concat", "DPipe",
        # dates
        "DateDiff", "StrToTime", "StrToDate", "TsOrDsToDate", "Year", "Month", "Day",
        "DayOfWeek", "TimeToUnix", "Date", "DateAdd", "DateSub", "DateTrunc",
        # aggregates, only over a window (population statistics such as max(date) OVER ())
        "Window", "Max", "Min", "Avg", "Sum", "Count", "Median", "PercentileCont",
        "Quantile", "Stddev", "StddevSamp", "StddevPop",
    }
)  # fmt: skip
_AGGREGATES = frozenset(
    {"Max", "Min", "Avg", "Sum", "Count", "Median", "PercentileCont", "Quantile", "Stddev"}
    | {"StddevSamp", "StddevPop"}
)


#: the longest expression, and the deepest parenthesis nesting, an indicator may have (the
#: parser recurses per level: deeper nesting would exhaust Python's stack)
MAX_LENGTH, MAX_DEPTH = 4000, 24


def _depth(text: str) -> int:
    """The deepest nesting of parentheses in ``text`` (quotes not told apart: a bound)."""
    depth = deepest = 0
    for ch in text:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


@lru_cache(maxsize=256)
def _parse(text: str):
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    shown = text if len(text) <= 80 else text[:77] + "..."
    if ";" in text:
        raise ConfigError(f"expression {shown!r}: one expression only, no ';'")
    if len(text) > MAX_LENGTH or _depth(text) > MAX_DEPTH:
        raise ConfigError(
            f"expression {shown!r}: longer than {MAX_LENGTH:,} characters or nested deeper than "
            f"{MAX_DEPTH} parentheses; split it into several indicators"
        )
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except ParseError as exc:
        raise ConfigError(f"expression {shown!r} is not valid SQL: {exc}") from None
    except RecursionError:  # nesting by other means (NOT NOT ..., nested CASE)
        raise ConfigError(f"expression {shown!r} nests too deeply") from None
    if isinstance(tree, exp.Query | exp.Command):
        raise ConfigError(f"expression {text!r}: a scalar expression is expected, not a statement")
    for node in tree.walk():
        kind = type(node).__name__
        if kind not in ALLOWED:
            what = node.sql(dialect="duckdb")[:60]
            raise ConfigError(
                f"expression {text!r}: {kind} ({what}) is not allowed; indicator expressions may "
                "use columns, literals, arithmetic, comparisons, CASE, casts and the functions "
                "listed in docs/customers.md"
            )
        if kind in _AGGREGATES and not isinstance(node.parent, exp.Window):
            raise ConfigError(
                f"expression {text!r}: aggregate {node.sql(dialect='duckdb')} needs OVER (...) "
                "so the expression stays one value per customer"
            )
    return tree


def check_expression(text: str) -> None:
    """Raise :class:`ConfigError` unless ``text`` is an allowed indicator expression."""
    _parse(text)


def referenced_columns(text: str) -> list[str]:
    """The column names an expression reads, in order of first use."""
    from sqlglot import exp

    tree = _parse(text)
    return list(dict.fromkeys(c.name for c in tree.find_all(exp.Column)))


def evaluate(table, expressions: dict[str, str]):
    """Evaluate ``{name: expression}`` over a pandas table; a DataFrame of the results.

    Runs in a fresh in-memory DuckDB with external access disabled; the row order of ``table``
    is kept (an explicit row number, since DuckDB may reorder).
    """
    import duckdb

    for name, text in expressions.items():
        check_name(name, "indicator name")  # a name becomes a column alias: never pasted raw
        check_expression(text)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads = 1")
        src = table.assign(__row=range(len(table)))
        con.register("customers_src", src)
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        select = ", ".join(
            f"({text}) AS {quote_identifier(name)}" for name, text in expressions.items()
        )
        try:
            result = con.execute(f'SELECT {select} FROM customers_src ORDER BY "__row"').fetchdf()
        except duckdb.Error as exc:
            text = "; ".join(expressions.values())
            raise ConfigError(f"expression {text!r} failed on this data: {exc}") from None
    finally:
        con.close()
    return result.set_axis(table.index)
