"""The customer-value report: pre-classes, weights, training, K and tiers, as PNG figures + HTML.

Built from a run summary (:meth:`CustomerRun.summary` or a saved model's), so a report can be
redrawn from a model folder without the data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from netpersona.customers._preclass import PAPER_PRE_CLASS_SHARES
from netpersona.customers._tiers import TIERS
from netpersona.report import HtmlReport

_TIER_COLOURS = {"A": "#2f855a", "B": "#3182ce", "C": "#d69e2e", "D": "#a0aec0"}
_DIM_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280")


def pre_class_figure(summary: dict) -> Figure:
    """Customers per pre-class, next to the paper's Table 2 shares."""
    rows = summary["pre_class_table"]
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    x = np.arange(1, len(rows) + 1)
    ax.bar(x - 0.2, [r["proportion"] for r in rows], width=0.4, label="this run")
    ax.bar(x + 0.2, PAPER_PRE_CLASS_SHARES, width=0.4, label="paper (Table 2)", alpha=0.6)
    ax.set_xticks(x, [r["interval"] for r in rows], fontsize=8)
    ax.set_ylabel("share of customers")
    ax.set_title("Pre-classes by current value C")
    ax.legend()
    return fig


def weights_figure(summary: dict) -> Figure:
    """Indicator weights (coloured by dimension), with the experts' spread when known."""
    w = summary["weights"]
    indicators = summary["indicators"]
    names = [i["name"] for i in indicators]
    dims = list(summary["dimensions"])
    colours = [_DIM_COLOURS[dims.index(i["dimension"]) % len(_DIM_COLOURS)] for i in indicators]
    values = [w["composite"][n] for n in names]
    fig = Figure(figsize=(7.0, 0.35 * len(names) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(names))
    ax.barh(y, values, color=colours)
    from matplotlib.patches import Patch

    handles = [Patch(color=_DIM_COLOURS[i % len(_DIM_COLOURS)], label=summary["dimensions"][d])
               for i, d in enumerate(dims)]  # fmt: skip
    experts = w.get("per_expert") or {}
    if experts and set(names) <= set(next(iter(experts.values()))):
        per = np.array([[e[n] for n in names] for e in experts.values()])
        per = per / per.sum(axis=1, keepdims=True)
        values = np.asarray(values)
        bars = ax.errorbar(values, y, xerr=[values - per.min(0), per.max(0) - values], fmt="none",
                           ecolor="#333", capsize=2, label="experts' range")  # fmt: skip
        handles.append(bars)
    ax.legend(handles=handles, loc="lower right", fontsize=7)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("weight in the composite K")
    cur = ", ".join(f"{n} {v:.3f}" for n, v in w["current"].items())
    ax.set_title(f"Indicator weights ({w['method']}); in C: {cur}", fontsize=9)
    return fig


def training_figure(summary: dict) -> Figure:
    """Training error per epoch against the paper's goal."""
    net = summary["network"]
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    history = net["history"]
    ax.semilogy(
        np.arange(1, len(history) + 1), history, label="training error (mse, K min-max scaled)"
    )
    ax.axhline(net["goal"], color="#c53030", ls="--", label=f"goal {net['goal']}")
    ax.axhline(summary["test_mse"], color="#2f855a", ls=":",
               label=f"test MSE {summary['test_mse']:.4f}")  # fmt: skip
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error")
    ax.set_title(f"{net['sizes']} network, {net['algorithm']}")
    ax.legend(fontsize=8)
    return fig


def k_figure(summary: dict) -> Figure:
    """Histogram of the customers' value K with the tier bands shaded."""
    hist = summary["k_histogram"]
    edges = np.asarray(hist["edges"])
    t = summary["tier_thresholds"]
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    bands = {"D": (0.0, t["C"]), "C": (t["C"], t["B"]), "B": (t["B"], t["A"]), "A": (t["A"], 1.0)}
    for tier, (lo, hi) in bands.items():
        ax.axvspan(lo, hi, color=_TIER_COLOURS[tier], alpha=0.15)
        ax.text((lo + hi) / 2, 1.0, tier, transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontweight="bold")  # fmt: skip
    ax.stairs(hist["counts"], edges, fill=True, color="#2b6cb0", alpha=0.8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("customer value K")
    ax.set_ylabel("customers")
    return fig


def tiers_figure(summary: dict) -> Figure:
    """Share of customers in each tier."""
    shares = summary["tier_shares"]
    fig = Figure(figsize=(5.0, 3.2))
    ax = fig.add_subplot()
    bars = ax.bar(TIERS, [shares[t] for t in TIERS], color=[_TIER_COLOURS[t] for t in TIERS])
    ax.bar_label(bars, labels=[f"{shares[t]:.1%}" for t in TIERS])
    ax.set_ylabel("share of customers")
    ax.set_title("Customer tiers")
    return fig


def build_report(summary: dict, title: str | None = None) -> HtmlReport:
    """The HTML report (with its figures) of a run summary.

    >>> from netpersona.synth.customers import synth_customers
    >>> data = synth_customers(300, seed=4)  # questionnaires of the paper's 14 indicators
    >>> from netpersona.customers import run_customers
    >>> html = build_report(run_customers(data).summary()).render()
    >>> 'Table 2' in html, 'https://' in html
    (True, False)
    """
    rep = HtmlReport(title or f"Customer-value tiers: {summary['system']}")
    rep.paragraph(
        f"{summary['n_customers']:,} customers of {summary['n_source_rows']:,} rows, "
        f"{len(summary['indicators'])} indicators, target: {summary['target']}."
    )
    for line in summary["scoring"][1:]:
        rep.paragraph(line, note=True)

    rep.heading("Pre-classification by current value")
    rep.table(["Number", "Current value", "Customers", "Proportion"],
              [[r["number"], r["interval"], r["count"], f"{r['proportion']:.2%}"]
               for r in summary["pre_class_table"]],
              caption="Like the paper's Table 2")  # fmt: skip
    rep.figure(pre_class_figure(summary), "pre_classes", "Pre-class shares vs the paper's")

    rep.heading("Expert weights")
    rep.paragraph(summary["weights"]["note"], note=summary["weights"]["method"] == "equal")
    if summary["weights"]["consistency"]:
        crs = summary["weights"]["consistency"]
        rep.table(
            ["Expert", "worst consistency ratio CR"], [[e, f"{cr:.3f}"] for e, cr in crs.items()]
        )
    rep.figure(weights_figure(summary), "weights", "Indicator weights")

    rep.heading("Sample and network")
    sample = summary["sample"]
    rep.paragraph(
        f"Stratified sample: {sample['share']:.0%} of each pre-class = {sample['size']} customers "
        f"({', '.join(f'class {k}: {n}' for k, n in sample['per_class'].items())}); split "
        f"by {sample['split']}: {summary['n_train']} train, {summary['n_test']} test. "
        f"{summary['target_source']}."
    )
    net = summary["network"]
    verdict = "meets" if summary["test_meets_goal"] else "does not meet"
    rep.table(["", "value"], [
        ["network", f"{net['sizes']} (tansig hidden, logsig output)"],
        ["training", f"{net['algorithm']}, {net['epochs']} epochs, stop: {net['stop_reason']}"],
        ["training MSE", f"{summary['train_mse']:.4f}"],
        ["test MSE", f"{summary['test_mse']:.4f}"],
        ["paper's goal", f"{net['goal']}"],
    ], caption=f"The test error {verdict} the paper's goal")  # fmt: skip
    rep.figure(training_figure(summary), "training", "Training error per epoch")

    rep.heading("Customer value K and tiers")
    rep.figure(k_figure(summary), "k_histogram", "K of every customer, tier bands shaded")
    t = summary["tier_thresholds"]
    bounds = {"A": f"K >= {t['A']}", "B": f"{t['B']} <= K < {t['A']}",
              "C": f"{t['C']} <= K < {t['B']}", "D": f"K < {t['C']}"}  # fmt: skip
    rep.table(["Tier", "K", "Customers", "Share", "Guidance (paper 4.3)"],
              [[x, bounds[x], summary["tier_counts"][x], f"{summary['tier_shares'][x]:.1%}",
                summary["guidance"][x]] for x in TIERS])  # fmt: skip
    rep.figure(tiers_figure(summary), "tiers", "Share of customers per tier")
    return rep


def write_report(
    summary: dict, path: str | Path, *, force: bool = False, title: str | None = None
) -> Path:
    """Write the HTML report and its PNG figures (``<stem>_<figure>.png`` beside it).

    >>> import tempfile
    >>> from pathlib import Path
    >>> from netpersona.synth.customers import write_customers
    >>> work = Path(tempfile.mkdtemp())
    >>> _ = write_customers(work / 'answers.csv', 300, seed=4)
    >>> from netpersona.customers import run_customers
    >>> path = write_report(run_customers(work / 'answers.csv').summary(), work / 'report.html')
    >>> path.name, len(list(work.glob('report_*.png'))) > 0
    ('report.html', True)
    """
    return build_report(summary, title).write(path, force=force)
