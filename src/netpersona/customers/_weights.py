"""Expert weights for the indicators (paper 4.2: 10 experts weight the current-value indicators).

Three sources:

- **equal** weights, when no file is given (the run says so);
- a **CSV** of experts x indicators: one row per expert, one column per indicator (a first
  column named ``expert`` is optional); each row is normalised to sum to 1, then the rows are
  averaged;
- **AHP** pairwise-comparison matrices in TOML, one ``[[experts]]`` table per expert, either
  flat (``order`` + ``matrix`` over indicators) or hierarchical (a ``dimensions`` matrix and one
  ``indicators.<dimension>`` matrix per dimension; global weight = dimension weight x local
  weight). Each matrix gives the principal eigenvector's weights and Saaty's consistency ratio
  CR = ((lambda_max - n) / (n - 1)) / RI(n); a matrix with CR >= 0.1 is refused, naming the
  expert. The experts' weight vectors are averaged.

Weights cover either every indicator of the system (they then also weight the composite target K)
or only the three current-value indicators R, F, M (the paper's case; K then weights all
indicators equally, and the run says so).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from netpersona._core import ConfigError, load_toml

#: Saaty's random consistency index RI by matrix size n (Saaty 1980, The Analytic Hierarchy
#: Process, Table 1.7 as commonly quoted)
SAATY_RI = {
    1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49,
    11: 1.51, 12: 1.48, 13: 1.56, 14: 1.57, 15: 1.59,
}  # fmt: skip
#: Saaty's limit: a comparison matrix is acceptably consistent when CR < 0.1
CR_MAX = 0.1


@dataclass(frozen=True)
class ExpertWeights:
    """Indicator weights summing to 1, and where they came from.

    >>> w = ExpertWeights({'R': 0.5, 'F': 0.25, 'M': 0.25}, 'equal', 'equal')
    >>> w.restricted(['R', 'F']).weights
    {'R': 0.6666666666666666, 'F': 0.3333333333333333}
    """

    weights: dict[str, float]
    source: str  #: "equal", or the file they were read from
    method: str  #: "equal" | "csv" | "ahp"
    per_expert: dict[str, dict[str, float]] = field(default_factory=dict)
    consistency: dict[str, float] = field(default_factory=dict)  #: expert -> worst CR (AHP)

    def restricted(self, names: list[str]) -> ExpertWeights:
        """The weights of ``names`` only, renormalised to sum to 1."""
        kept = {n: self.weights[n] for n in names if n in self.weights}
        total = sum(kept.values())
        if total <= 0:
            raise ConfigError(
                f"the weights from {self.source} give zero weight to all of {names}; "
                "at least one must be positive"
            )
        return ExpertWeights(
            {n: w / total for n, w in kept.items()},
            self.source,
            self.method,
            self.per_expert,
            self.consistency,
        )

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def equal_weights(names: list[str]) -> ExpertWeights:
    """Every indicator weighs the same (the default when no weights file is given).

    >>> equal_weights(['R', 'F', 'M', 'loyalty']).weights
    {'R': 0.25, 'F': 0.25, 'M': 0.25, 'loyalty': 0.25}
    """
    return ExpertWeights({n: 1.0 / len(names) for n in names}, "equal", "equal")


def load_weights(path: str | Path, indicators: list[str]) -> ExpertWeights:
    """Read a weights file: ``.csv`` (experts x indicators) or ``.toml`` (AHP matrices).

    ``indicators`` are the system's indicator names; a name in the file that is not one of them
    is an error (a typo would otherwise silently weigh nothing).

    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / 'experts.csv'
    >>> _ = path.write_text('expert,R,F\\nann,3,1\\n')
    >>> w = load_weights(path, ['R', 'F', 'M'])  # a file that rates R and F only
    >>> w.method, w.weights
    ('csv', {'R': 0.75, 'F': 0.25})
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"weights file {path} does not exist")
    if path.suffix.lower() == ".toml":
        return ahp_weights_file(path, indicators)
    return csv_weights(path, indicators)


def csv_weights(path: str | Path, indicators: list[str]) -> ExpertWeights:
    """Experts x indicators CSV: each row normalised to sum 1, then the rows averaged.

    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / 'experts.csv'
    >>> _ = path.write_text('expert,R,F,M\\nann,2,1,1\\nbob,1,1,2\\n')
    >>> csv_weights(path, ['R', 'F', 'M']).weights  # rows normalised, then averaged
    {'R': 0.375, 'F': 0.25, 'M': 0.375}
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    if len(rows) < 2:
        raise ConfigError(f"{path}: needs a header row and at least one expert row")
    header = [h.strip() for h in rows[0]]
    has_expert = header[0].lower() == "expert"
    names = header[1:] if has_expert else header
    _check_names(names, indicators, str(path))
    per_expert: dict[str, dict[str, float]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        expert = row[0].strip() if has_expert else f"expert {line - 1}"
        cells = row[1:] if has_expert else row
        if len(cells) != len(names):
            raise ConfigError(
                f"{path}, line {line}: {len(cells)} weights for {len(names)} indicators"
            )
        try:
            values = np.array([float(c) for c in cells])
        except ValueError:
            raise ConfigError(
                f"{path}, line {line}: weights must be numbers, got {cells}"
            ) from None
        if (values < 0).any() or not np.isfinite(values).all() or values.sum() <= 0:
            raise ConfigError(
                f"{path}, line {line} ({expert}): weights must be non-negative with a positive sum"
            )
        per_expert[expert] = dict(zip(names, (values / values.sum()).tolist(), strict=True))
    if not per_expert:
        raise ConfigError(f"{path}: no expert rows")
    return ExpertWeights(_average(per_expert, names), str(path), "csv", per_expert)


def _check_names(names: list[str], indicators: list[str], where: str) -> None:
    unknown = [n for n in names if n not in indicators]
    if unknown:
        raise ConfigError(
            f"{where}: unknown indicator(s) {unknown}; the indicator system defines {indicators}"
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{where}: indicator(s) {dupes} appear more than once")


def _average(per_expert: dict[str, dict[str, float]], names: list[str]) -> dict[str, float]:
    mean = np.mean([[w[n] for n in names] for w in per_expert.values()], axis=0)
    return dict(zip(names, (mean / mean.sum()).tolist(), strict=True))


@dataclass(frozen=True)
class AhpResult:
    """One comparison matrix's priorities and consistency."""

    weights: np.ndarray
    lambda_max: float
    ci: float
    cr: float


def ahp_priorities(matrix: Any, *, who: str = "matrix") -> AhpResult:
    """Principal-eigenvector weights and Saaty's consistency ratio of a comparison matrix.

    The matrix must be square, positive and reciprocal (a_ji = 1 / a_ij within 2%, as people
    write 1/3 as 0.33). Does not refuse an inconsistent matrix; see :func:`check_consistency`.

    >>> result = ahp_priorities([[1, 3], [1 / 3, 1]])
    >>> result.weights.round(3).tolist(), round(result.cr, 6)
    ([0.75, 0.25], 0.0)
    """
    a = np.asarray(matrix, dtype=float)
    n = a.shape[0] if a.ndim == 2 else 0
    if a.ndim != 2 or a.shape[1] != n or n == 0:
        raise ConfigError(f"{who}: a comparison matrix must be square, got shape {a.shape}")
    if n > max(SAATY_RI):
        raise ConfigError(f"{who}: {n} x {n} is larger than Saaty's RI table ({max(SAATY_RI)})")
    if not (np.isfinite(a).all() and (a > 0).all()):
        raise ConfigError(f"{who}: comparison values must be positive numbers")
    for i in range(n):
        for j in range(i, n):
            if abs(a[i, j] * a[j, i] - 1.0) > 0.02:
                raise ConfigError(
                    f"{who}: not reciprocal at row {i + 1}, column {j + 1}: a[{i + 1},{j + 1}] = "
                    f"{a[i, j]:g} but a[{j + 1},{i + 1}] = {a[j, i]:g} (expected "
                    f"{1 / a[i, j]:.4g})"
                )
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    w = np.abs(vectors[:, k].real)
    w = w / w.sum()
    lam = float(values[k].real)
    ci = (lam - n) / (n - 1) if n > 2 else 0.0
    cr = ci / SAATY_RI[n] if SAATY_RI[n] > 0 else 0.0
    return AhpResult(w, lam, max(ci, 0.0), max(cr, 0.0))


def check_consistency(result: AhpResult, who: str, limit: float = CR_MAX) -> None:
    """Refuse a comparison matrix whose consistency ratio is ``limit`` or more."""
    if result.cr >= limit:
        raise ConfigError(
            f"{who} is inconsistent: consistency ratio CR = {result.cr:.3f} >= {limit} "
            f"(lambda_max = {result.lambda_max:.3f}); ask this expert to revise the judgements "
            "(a > b and b > c should give a > c by about the product) or leave the expert out"
        )


def ahp_weights_file(
    path: str | Path, indicators: list[str], dimensions: dict[str, list[str]] | None = None
) -> ExpertWeights:
    """AHP weights from a TOML file of ``[[experts]]`` comparison matrices (module docstring)."""
    path = Path(path)
    data = load_toml(path, "weights file")
    experts = data.get("experts")
    if not isinstance(experts, list) or not experts:
        raise ConfigError(f"{path}: needs at least one [[experts]] table")
    per_expert: dict[str, dict[str, float]] = {}
    worst: dict[str, float] = {}
    for pos, expert in enumerate(experts, 1):
        name = str(expert.get("name", f"expert {pos}"))
        weights, cr = _expert_ahp(expert, name, str(path), indicators)
        per_expert[name] = weights
        worst[name] = cr
    names = list(next(iter(per_expert.values())))
    for name, weights in per_expert.items():
        if set(weights) != set(names):
            raise ConfigError(
                f"{path}: expert {name!r} weighs {sorted(weights)} but the first expert weighs "
                f"{sorted(names)}; every expert must compare the same indicators"
            )
    return ExpertWeights(_average(per_expert, names), str(path), "ahp", per_expert, worst)


def _expert_ahp(
    expert: dict[str, Any], name: str, where: str, indicators: list[str]
) -> tuple[dict[str, float], float]:
    """One expert's global indicator weights and the worst CR among their matrices."""
    who = f"{where}: expert {name!r}"
    if "matrix" in expert:  # flat: indicators compared directly
        order, result = _matrix(expert, who)
        _check_names(order, indicators, who)
        check_consistency(result, who)
        return dict(zip(order, result.weights.tolist(), strict=True)), result.cr
    dims = expert.get("dimensions")
    blocks = expert.get("indicators")
    if not isinstance(dims, dict) or not isinstance(blocks, dict):
        raise ConfigError(
            f"{who}: give either order + matrix (indicators compared directly) or a "
            "[experts.dimensions] matrix with one [experts.indicators.<dimension>] matrix each"
        )
    dim_order, dim_result = _matrix(dims, f"{who}, dimensions")
    check_consistency(dim_result, f"{who} (dimension matrix)")
    weights: dict[str, float] = {}
    worst = dim_result.cr
    for dim, dim_weight in zip(dim_order, dim_result.weights, strict=True):
        block = blocks.get(dim)
        if block is None:
            raise ConfigError(f"{who}: no [experts.indicators.{dim}] matrix")
        order, result = _matrix(block, f"{who}, dimension {dim!r}")
        _check_names(order, indicators, f"{who}, dimension {dim!r}")
        check_consistency(result, f"{who} (dimension {dim!r})")
        worst = max(worst, result.cr)
        for ind, w in zip(order, result.weights, strict=True):
            weights[ind] = float(dim_weight * w)
    return weights, worst


def _matrix(table: dict[str, Any], who: str) -> tuple[list[str], AhpResult]:
    order = table.get("order")
    matrix = table.get("matrix")
    if not isinstance(order, list) or not isinstance(matrix, list):
        raise ConfigError(f"{who}: needs order = [names...] and matrix = [[...], ...]")
    if len(matrix) != len(order) or any(
        not isinstance(r, list) or len(r) != len(order) for r in matrix
    ):
        raise ConfigError(f"{who}: the matrix must be {len(order)} x {len(order)} like order")
    values = [[_number(v, who) for v in row] for row in matrix]
    return [str(o) for o in order], ahp_priorities(values, who=who)


def _number(value: Any, who: str) -> float:
    """A judgement: a number, or a fraction written as text ("1/3")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(Fraction(str(value).strip()))
    except (ValueError, ZeroDivisionError):
        raise ConfigError(f"{who}: {value!r} is not a number or fraction like 1/3") from None
