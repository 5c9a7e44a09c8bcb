"""Dialect differences, in one place.

Domain SQL is written once, in DuckDB's dialect. :func:`translate` turns it into another engine's
dialect with sqlglot, then applies the rewrites sqlglot does not do (or does wrongly) for that
dialect. Each rewrite below is a real semantic difference between DuckDB and Spark SQL:

==========================================  ===================================================
DuckDB                                      Spark SQL
==========================================  ===================================================
``list(x ORDER BY k1, k2 DESC)``            ``collect_list`` has no order: sort structs of the
                                            keys, then keep the value (sqlglot drops the order)
``list_cosine_similarity(a, b)``            ``aggregate(zip_with(...))`` / norms (no builtin)
``regexp_replace(s, p, r)`` (first match)   Java replaces *every* match: anchor a lazy prefix
                                            so only the leftmost match is replaced; ``\\1`` in
                                            the replacement becomes ``$1``
``epoch(a - b)``, ``epoch(ts)``             ``unix_micros`` differences (sqlglot emits
                                            ``unix_timestamp(interval)``, which fails)
``dayofweek(ts)`` (Sunday = 0)              ``dayofweek(ts) - 1`` (Spark: Sunday = 1)
``isodow(ts)`` (Monday = 1)                 ``weekday(ts) + 1``
``date_diff('day', a, b)`` (boundaries)     ``datediff(CAST(b AS DATE), CAST(a AS DATE))``;
                                            hour/minute/second/month/year likewise by
                                            truncating both ends (Spark counts whole units)
``TIMESTAMP '...'`` (naive wall time)       ``TIMESTAMP`` in a UTC session: the engine keeps
                                            local wall time in TIMESTAMP with
                                            ``spark.sql.session.timeZone=UTC``
``information_schema.tables``               a view the Spark engine fills from its catalog
==========================================  ===================================================
"""

from __future__ import annotations

import re
from functools import lru_cache

#: dialects whose rewrites are defined here (others get plain sqlglot output)
SPARK_DIALECTS = ("spark", "databricks")
#: the view a Spark engine keeps in step with its catalog, standing in for DuckDB's
#: ``information_schema.tables`` (columns ``table_name, table_type, table_schema``)
CATALOG_VIEW = "netpersona_catalog_tables__"


def mark(dialect: str) -> str:
    """The comment :func:`translate` starts its output with: an engine seeing it knows the
    text is in its dialect already and runs it as is (anything else is DuckDB SQL)."""
    return f"/* netpersona:{dialect} */ "


def is_translated(sql: str, dialect: str) -> bool:
    """Whether ``sql`` came out of :func:`translate` for ``dialect``."""
    return sql.lstrip().startswith(mark(dialect).strip())


@lru_cache(maxsize=1024)
def translate(sql: str, to: str) -> str:
    """Translate DuckDB SQL to the ``to`` dialect (identity for DuckDB and for text that is
    already in ``to``).

    >>> translate("SELECT list_contains(a, 1) FROM t", "spark")
    '/* netpersona:spark */ SELECT ARRAY_CONTAINS(a, 1) FROM t'
    """
    if to == "duckdb" or is_translated(sql, to):
        return sql
    import sqlglot

    statements = sqlglot.parse(sql, read="duckdb")
    if to in SPARK_DIALECTS:
        statements = [s.transform(_spark_rewrite) for s in statements if s is not None]
    text = ";\n".join(s.sql(dialect=to, pretty=False) for s in statements if s is not None)
    return mark(to) + text


# -- Spark rewrites ---------------------------------------------------------------------------
def _spark(text: str):
    """A Spark SQL expression as a sqlglot node."""
    import sqlglot

    return sqlglot.parse_one(text, read="spark")


def _sql(node) -> str:
    """A sub-expression as Spark text, its own rewrites applied first."""
    return node.transform(_spark_rewrite).sql(dialect="spark")


def _spark_rewrite(node):
    from sqlglot import exp

    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        return _ordered_list(node.this)
    if isinstance(node, exp.Anonymous) and node.name.lower() in (
        "list_cosine_similarity",
        "array_cosine_similarity",
    ):
        return _cosine(*node.expressions)
    if isinstance(node, exp.RegexpReplace):
        return _regexp_replace(node)
    if isinstance(node, exp.TimeToUnix):
        return _epoch(node.this)
    if isinstance(node, exp.DayOfWeekIso):
        return _spark(f"(WEEKDAY({_sql(node.this)}) + 1)")
    if isinstance(node, exp.DayOfWeek):
        return _spark(f"(DAYOFWEEK({_sql(node.this)}) - 1)")
    if isinstance(node, exp.DateDiff) and node.args.get("date_part_boundary"):
        return _boundary_diff(node)
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.TIMESTAMPNTZ:
        return exp.DataType.build("TIMESTAMP")
    if (
        isinstance(node, exp.Table)
        and node.name.lower() == "tables"
        and node.text("db").lower() == "information_schema"
    ):
        return exp.Table(this=exp.to_identifier(CATALOG_VIEW), alias=node.args.get("alias"))
    return node


def _ordered_list(order):
    """``list(v ORDER BY k...)``: sort structs (keys..., v), keep v.

    Ascending keys sort naturally as (key IS NULL, key) pairs, so NULLs go last as in DuckDB;
    a DESC or NULLS FIRST key needs a comparator (slower, so only then)."""
    value, keys = _sql(order.this), order.expressions
    plain = not any(k.args.get("desc") or k.args.get("nulls_first") for k in keys)
    fields = []
    for i, key in enumerate(keys):
        text = _sql(key.this)
        fields += (
            [f"{text} IS NULL AS n{i}__", f"{text} AS k{i}__"] if plain else [f"{text} AS k{i}__"]
        )
    items = f"collect_list(struct({', '.join(fields)}, {value} AS v__))"
    if plain:
        return _spark(f"transform(array_sort({items}), x__ -> x__.v__)")
    cases = []
    for i, key in enumerate(keys):
        lt, gt = ("1", "-1") if key.args.get("desc") else ("-1", "1")
        first, last = ("-1", "1") if key.args.get("nulls_first") else ("1", "-1")
        left, right = f"l__.k{i}__", f"r__.k{i}__"
        cases.append(
            f"WHEN {left} IS NULL AND {right} IS NOT NULL THEN {first} "
            f"WHEN {left} IS NOT NULL AND {right} IS NULL THEN {last} "
            f"WHEN {left} < {right} THEN {lt} WHEN {left} > {right} THEN {gt}"
        )
    comparator = f"(l__, r__) -> CASE {' '.join(cases)} ELSE 0 END"
    return _spark(f"transform(array_sort({items}, {comparator}), x__ -> x__.v__)")


def _cosine(a, b):
    """Cosine of two numeric arrays; NULL when either has zero norm (DuckDB gives NaN/NULL)."""
    x, y = _sql(a), _sql(b)
    dot = f"aggregate(zip_with({x}, {y}, (p__, q__) -> p__ * q__), 0D, (s__, v__) -> s__ + v__)"
    nx = f"aggregate({x}, 0D, (s__, v__) -> s__ + v__ * v__)"
    ny = f"aggregate({y}, 0D, (s__, v__) -> s__ + v__ * v__)"
    return _spark(f"({dot} / nullif(sqrt({nx} * {ny}), 0D))")


def _java_replacement(replacement: str, shift: int) -> str:
    """A DuckDB (RE2) replacement string (``\\1`` groups) as a Java one (``$1``, ``\\$``)."""
    out, i = [], 0
    while i < len(replacement):
        ch = replacement[i]
        if ch == "\\" and i + 1 < len(replacement):
            nxt = replacement[i + 1]
            out.append(f"${int(nxt) + shift}" if nxt.isdigit() else "\\" + nxt)
            i += 2
            continue
        out.append("\\$" if ch == "$" else ch)
        i += 1
    return "".join(out)


def _regexp_replace(node):
    """DuckDB replaces the first match unless the 'g' option is given; Java replaces all."""
    from sqlglot import exp

    subject, pattern, replacement = node.this, node.expression, node.args.get("replacement")
    if not (isinstance(pattern, exp.Literal) and isinstance(replacement, exp.Literal)):
        raise NotImplementedError(
            "regexp_replace on Spark needs literal pattern and replacement (to keep DuckDB's "
            "first-match semantics)"
        )
    p, r = pattern.this, replacement.this
    options = node.args.get("modifiers")
    options = options.this if isinstance(options, exp.Literal) else ""
    if set(options) - {"g", "i", "s"}:
        raise NotImplementedError(f"regexp_replace option {options!r} has no Spark rewrite")
    flags = "".join(f for f in "is" if f in options)
    if flags:
        p = f"(?{flags}){p}"
    single = "g" not in options and not pattern.this.startswith("^")
    if single:
        # a lazy anchored prefix makes the leftmost match the only one (group 1 = prefix)
        p, r = f"^((?s).*?)(?:{p})", "$1" + _java_replacement(r, 1)
    else:
        r = _java_replacement(r, 0)
    return exp.Anonymous(
        this="REGEXP_REPLACE",
        expressions=[subject, exp.Literal.string(p), exp.Literal.string(r)],
    )


def _micros(node) -> str:
    return f"unix_micros(CAST({_sql(node)} AS TIMESTAMP))"


def _epoch(node):
    """DuckDB ``epoch``: seconds (double) of an interval ``a - b`` or since 1970 of a ts."""
    from sqlglot import exp

    if isinstance(node, exp.Sub):
        return _spark(f"(({_micros(node.this)} - {_micros(node.expression)}) / 1000000D)")
    return _spark(f"({_micros(node)} / 1000000D)")


_TRUNC_SECONDS = {"HOUR": 3600, "MINUTE": 60, "SECOND": 1}


def _boundary_diff(node):
    """DuckDB ``date_diff(unit, a, b)`` counts unit boundaries crossed between a and b."""
    unit = node.text("unit").upper() or "DAY"
    unit = re.sub(r"S$", "", unit)
    start, end = _sql(node.expression), _sql(node.this)
    if unit == "DAY":
        return _spark(f"datediff(CAST({end} AS DATE), CAST({start} AS DATE))")
    if unit in _TRUNC_SECONDS:
        secs = _TRUNC_SECONDS[unit]
        return _spark(
            f"((unix_seconds(date_trunc('{unit}', CAST({end} AS TIMESTAMP))) - unix_seconds("
            f"date_trunc('{unit}', CAST({start} AS TIMESTAMP)))) DIV {secs})"
        )
    if unit == "MONTH":
        return _spark(
            f"((year({end}) * 12 + month({end})) - (year({start}) * 12 + month({start})))"
        )
    if unit == "YEAR":
        return _spark(f"(year({end}) - year({start}))")
    raise NotImplementedError(f"date_diff unit {unit!r} has no Spark rewrite yet")
