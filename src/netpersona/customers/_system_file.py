"""Checking a parsed indicator-system file (:mod:`._system` describes the format): every
table, key and value, with the file and the indicator named in each error."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from netpersona._core import ConfigError, check_name
from netpersona.customers._system import (
    COMBINE,
    LIKERT_POINTS,
    MISSING_POLICIES,
    NULL_POLICIES,
    SCORE_METHODS,
    Dimension,
    Indicator,
    IndicatorSystem,
    Scoring,
)


def parse_system(data: dict[str, Any], where: str = "<system>") -> IndicatorSystem:
    """Validate a parsed system file; ``where`` names it in error messages."""

    def fail(msg: str) -> ConfigError:
        return ConfigError(f"{where}: {msg}")

    head = _table(data, "system", where)
    _only(head, {"name", "target", "id_column", "label_column", "description"}, "[system]", where)
    dims_raw = data.get("dimensions")
    if not isinstance(dims_raw, list) or not dims_raw:
        raise fail("needs at least one [[dimensions]] table with a name")
    dims = []
    for i, d in enumerate(dims_raw, 1):
        if not isinstance(d, dict) or not d.get("name"):
            raise fail(f"dimension #{i} needs a name")
        _only(d, {"name", "title"}, f"dimension {d['name']!r}", where)
        dims.append(Dimension(name=str(d["name"]), title=str(d.get("title", d["name"]))))
    dim_names = [d.name for d in dims]
    if len(set(dim_names)) != len(dim_names):
        raise fail(f"dimension names repeat: {dim_names}")

    inds_raw = data.get("indicators")
    if not isinstance(inds_raw, list) or not inds_raw:
        raise fail("needs at least one [[indicators]] table")
    indicators = [_parse_indicator(raw, i, dim_names, where) for i, raw in enumerate(inds_raw, 1)]
    names = [i.name for i in indicators]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise fail(f"indicator names repeat: {dupes}")

    cv = _table(data, "current_value", where)
    _only(cv, {"recency", "frequency", "monetary"}, "[current_value]", where)
    rfm = []
    for role in ("recency", "frequency", "monetary"):
        name = cv.get(role)
        if name not in names:
            raise fail(
                f"[current_value] {role} = {name!r} is not an indicator of this system; "
                f"name one of {names}"
            )
        rfm.append(name)
    for role, name in zip(("recency", "frequency", "monetary"), rfm, strict=True):
        if next(i for i in indicators if i.name == name).on_missing == "drop":
            raise fail(
                f"indicator {name!r} is the current value's {role}: it cannot be dropped; "
                "set on_missing = 'fail'"
            )
    return IndicatorSystem(
        name=str(head.get("name", Path(where).stem)),
        target=str(head.get("target", "Customer value")),
        description=str(head.get("description", "")),
        id_column=head.get("id_column") or None,
        label_column=head.get("label_column") or None,
        dimensions=tuple(dims),
        indicators=tuple(indicators),
        recency=rfm[0],
        frequency=rfm[1],
        monetary=rfm[2],
        path=where,
    )


_INDICATOR_KEYS = {
    "name",
    "title",
    "dimension",
    "column",
    "columns",
    "combine",
    "expr",
    "on_missing",
    "on_null",
    "score",
}


def _parse_indicator(raw: Any, pos: int, dims: list[str], where: str) -> Indicator:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise ConfigError(f"{where}: indicator #{pos} needs a name")
    name = check_name(raw["name"], f"{where}: indicator name")

    def fail(msg: str) -> ConfigError:
        return ConfigError(f"{where}: indicator {name!r}: {msg}")

    _only(raw, _INDICATOR_KEYS, f"indicator {name!r}", where)
    if raw.get("dimension") not in dims:
        raise fail(f"dimension {raw.get('dimension')!r} is not one of {dims}")
    sources = [k for k in ("column", "columns", "expr") if raw.get(k)]
    if len(sources) != 1:
        raise fail("give exactly one of column = '...', columns = [...] or expr = '...'")
    columns = tuple(str(c) for c in raw.get("columns", ()))
    combine = raw.get("combine")
    if columns and combine not in COMBINE:
        raise fail(f"columns = {list(columns)} needs combine = one of {list(COMBINE)}")
    if raw.get("expr"):
        from netpersona.customers._expr import check_expression

        try:
            check_expression(str(raw["expr"]))
        except ConfigError as exc:
            raise fail(str(exc)) from None
    for key, allowed in (("on_missing", MISSING_POLICIES), ("on_null", NULL_POLICIES)):
        if raw.get(key, "fail") not in allowed:
            raise fail(f"{key} = {raw.get(key)!r}; expected one of {list(allowed)}")
    return Indicator(
        name=name,
        title=str(raw.get("title", name)),
        dimension=str(raw["dimension"]),
        column=str(raw["column"]) if raw.get("column") else None,
        columns=columns,
        combine=str(combine) if columns else None,
        expr=str(raw["expr"]) if raw.get("expr") else None,
        on_missing=str(raw.get("on_missing", "fail")),
        on_null=str(raw.get("on_null", "fail")),
        scoring=_parse_scoring(raw.get("score"), fail),
    )


def _parse_scoring(raw: Any, fail) -> Scoring:
    if not isinstance(raw, dict):
        raise fail(f"needs a [indicators.score] table with method = one of {list(SCORE_METHODS)}")
    method = raw.get("method")
    if method not in SCORE_METHODS:
        raise fail(f"score method {method!r}; expected one of {list(SCORE_METHODS)}")
    allowed = {"method", "reverse", "thresholds", "categories", "default"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise fail(f"unknown score setting(s) {unknown}; allowed: {sorted(allowed)}")
    reverse = bool(raw.get("reverse", False))
    thresholds: tuple[float, ...] = ()
    categories: dict[str, int] = {}
    default = raw.get("default")
    if method == "thresholds":
        cuts = raw.get("thresholds")
        n = LIKERT_POINTS - 1
        if (
            not isinstance(cuts, list)
            or len(cuts) != n
            or not all(isinstance(c, int | float) for c in cuts)
        ):
            raise fail(f"thresholds must be a list of {n} numbers (the cut points of scores 2..5)")
        if any(b <= a for a, b in itertools.pairwise(cuts)):
            raise fail(f"thresholds {cuts} must be strictly increasing")
        thresholds = tuple(float(c) for c in cuts)
    if method == "category":
        cats = raw.get("categories")
        if not isinstance(cats, dict) or not cats:
            raise fail("a category score needs categories = { value = score, ... }")
        for key, score in cats.items():
            if not _is_score(score):
                raise fail(f"category {key!r} has score {score!r}; scores are integers 1..5")
        categories = {str(k): int(v) for k, v in cats.items()}
    if default is not None and (method != "category" or not _is_score(default)):
        raise fail("default applies to category scores only and must be an integer 1..5")
    if reverse and method in ("category", "likert"):
        raise fail(f"reverse does not apply to a {method} score; write the map the right way round")
    return Scoring(
        method=method,
        thresholds=thresholds,
        categories=categories,
        default=int(default) if default is not None else None,
        reverse=reverse,
    )


def _is_score(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= LIKERT_POINTS


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: missing the [{key}] table")
    return value


def _only(table: dict[str, Any], allowed: set[str], what: str, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: {what}: unknown key(s) {unknown}; allowed keys: {sorted(allowed)}"
        )
