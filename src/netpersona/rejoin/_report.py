"""Re-join reports: the per-step funnel (the paper's Table 1), the three accuracies against the
paper's (Table 2), and accuracy vs the query-period length t — as PNG figures and one
self-contained HTML page.

Figures are :class:`matplotlib.figure.Figure` objects (no pyplot) so they can be reused in
notebooks; :func:`write_evaluation_report` and :func:`write_identify_report` put them in pages.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netpersona.io import mask_id
from netpersona.report import HtmlReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Table 2 of the paper (Wang & Bao 2015): accuracies on 25,809 users, t = 5
PAPER_ACCURACY = {"acc_absent": 0.9906, "acc_present": 0.9814, "acc_overall": 0.9832}
#: Table 1 of the paper: |SimiUsers(v)| / 20,809 after each step (%) and seconds per query
PAPER_FUNNEL = {
    "2_simione": (14.12, 4.9),
    "3_simitwo": (0.007, 1.1),
    "4_simithree": (0.003, 0.067),
    "5_simifour": (0.000429, 0.032),
}
PAPER_QUERY_DAYS = 5
ACCURACY_LABELS = {
    "acc_absent": "absent users answered 'new'",
    "acc_present": "present users, right user first",
    "acc_overall": "all queries",
    "acc_present_any": "present users, right user anywhere in the output",
    "balanced_accuracy": "balanced (mean of absent and present)",
    "rank1_present": "present users, right user ranked first (any verdict)",
}
_OURS, _PAPER = "#2b6cb0", "#c05621"


def _figure(**kwargs: Any) -> Figure:
    """A new matplotlib figure (imported here: importing netpersona stays light)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def _doc(evaluation: Any) -> dict:
    """An :class:`Evaluation` or its JSON document, as the JSON document."""
    return evaluation.to_json() if hasattr(evaluation, "to_json") else dict(evaluation)


# --------------------------------------------------------------------------------------------
# figures


def accuracy_figure(metrics: dict) -> Figure:
    """Bars of our accuracies beside the paper's 99.06 / 98.14 / 98.32 %."""
    keys = [*PAPER_ACCURACY, "acc_present_any", "balanced_accuracy", "rank1_present"]
    labels = ["absent", "present", "overall", "present\n(anywhere)", "balanced", "rank 1\npresent"]
    fig = _figure(figsize=(8, 3.6))
    ax = fig.subplots()
    width = 0.38
    ours = [100 * (metrics.get(k) or 0.0) for k in keys]
    xs = range(len(keys))
    bars = ax.bar([x - width / 2 for x in xs], ours, width, color=_OURS, label="this run")
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    paper = [(i, 100 * PAPER_ACCURACY[k]) for i, k in enumerate(keys) if k in PAPER_ACCURACY]
    pbars = ax.bar(
        [i + width / 2 for i, _ in paper],
        [v for _, v in paper],
        width,
        color=_PAPER,
        label="paper (Table 2)",
    )
    ax.bar_label(pbars, fmt="%.2f", fontsize=8)
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel("accuracy (%)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Accuracies vs the paper")
    return fig


def funnel_figure(steps: list[dict], n_library: int) -> Figure:
    """The candidate set after each step as % of the library (log scale), with the paper's
    Table 1 beside it, and the recall of the true user on a second axis."""
    fig = _figure(figsize=(8, 3.8))
    ax = fig.subplots()
    names = [s["step"] for s in steps]
    xs = list(range(len(names)))
    ours = [100 * (s["mean_candidates"] or 0.0) / n_library if n_library else 0.0 for s in steps]
    ax.plot(
        xs,
        [v if v > 0 else float("nan") for v in ours],
        "o-",
        color=_OURS,
        label="candidates, this run",
    )
    paper = [(i, PAPER_FUNNEL[n][0]) for i, n in enumerate(names) if n in PAPER_FUNNEL]
    if paper:
        ax.plot(
            [i for i, _ in paper],
            [v for _, v in paper],
            "s--",
            color=_PAPER,
            label="candidates, paper (Table 1)",
        )
    ax.set_yscale("log")
    ax.set_ylabel("mean candidates (% of library)")
    ax.set_xticks(xs, names, fontsize=8)
    recall = ax.twinx()
    recall.plot(
        xs,
        [100 * (s["recall"] or 0.0) if s["recall"] is not None else float("nan") for s in steps],
        "^:",
        color="#2f855a",
        label="recall of the true user",
    )
    recall.set_ylim(0, 105)
    recall.set_ylabel("recall (%)")
    lines = ax.get_legend_handles_labels()
    more = recall.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="lower left")
    ax.set_title("Per-step funnel (the paper's Table 1)")
    return fig


def sweep_figure(rows: list[dict]) -> Figure:
    """Accuracy vs the query-period length t (the paper chose t = 5)."""
    fig = _figure(figsize=(7, 3.6))
    ax = fig.subplots()
    ts = [r["query_days"] for r in rows]
    for key, style in (
        ("acc_overall", "o-"),
        ("acc_present", "s-"),
        ("acc_absent", "^-"),
        ("rank1_present", "x:"),
    ):
        values = [100 * r[key] if r.get(key) is not None else float("nan") for r in rows]
        ax.plot(ts, values, style, label=ACCURACY_LABELS[key])
    ax.axvline(PAPER_QUERY_DAYS, color=_PAPER, linestyle="--", linewidth=1)
    ax.annotate("paper: t = 5", (PAPER_QUERY_DAYS, 2), color=_PAPER, fontsize=8)
    ax.set_xlabel("query period t (days)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    ax.set_xticks(ts)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    ax.set_title("Accuracy vs t")
    return fig


def decisions_figure(decisions: dict[str, int]) -> Figure:
    """How many queries got each verdict."""
    fig = _figure(figsize=(5, 3))
    ax = fig.subplots()
    names = ["match", "ambiguous", "new"]
    bars = ax.bar(names, [decisions.get(n, 0) for n in names], color=[_OURS, "#d69e2e", "#718096"])
    ax.bar_label(bars, fontsize=8)
    ax.set_ylabel("queries")
    ax.set_title("Verdicts")
    return fig


# --------------------------------------------------------------------------------------------
# pages


def _funnel_rows(steps: list[dict], n_library: int) -> list[list[Any]]:
    rows = []
    for s in steps:
        mean = s.get("mean_candidates")
        share = 100 * mean / n_library if mean is not None and n_library else None
        paper_share, paper_seconds = PAPER_FUNNEL.get(s["step"], (None, None))
        rows.append(
            [
                s["step"],
                "–" if mean is None else f"{mean:,.2f}",
                "–" if share is None else f"{share:.4g}%",
                "–" if paper_share is None else f"{paper_share:g}%",
                _pct(s.get("recall")),
                f"{s['seconds']:.3f}",
                "–" if paper_seconds is None else f"{paper_seconds:g}",
            ]
        )
    return rows


_FUNNEL_HEADER = [
    "step",
    "mean candidates",
    "% of library",
    "paper %",
    "recall",
    "seconds (all queries)",
    "paper s / query",
]


def _settings_table(report: HtmlReport, settings: dict) -> None:
    if not settings:
        return
    try:
        from netpersona.rejoin import RejoinSettings

        defaults = RejoinSettings().to_dict()
    except ImportError:  # the settings object is not importable: show values only
        defaults = {}
    rows = [[k, v, defaults.get(k, "–")] for k, v in settings.items()]
    report.table(["setting", "value", "paper"], rows, caption="Settings used")


def evaluation_page(
    evaluation: Any, title: str = "Re-join identification: evaluation"
) -> HtmlReport:
    """The evaluation report as an :class:`HtmlReport` (not yet written)."""
    doc = _doc(evaluation)
    protocol = doc.get("protocol", {})
    n_library = doc.get("n_library") or protocol.get("n_library") or 0
    report = HtmlReport(title)
    report.paragraph(
        "The paper's protocol: the last t days of the window are the query period; a random "
        "share of the users active before it form the library, with their earlier rows; every "
        "user active in the query period is a query under a fresh id, to be matched to its "
        "library user or answered 'new'. Paper: 25,809 users, 60 days, t = 5, library 20,809."
    )
    report.heading("Protocol")
    report.table(
        ["", "value"],
        [
            ["method", doc.get("method", "paper")],
            ["window", " .. ".join(protocol.get("window", ["?", "?"]))],
            ["library period", " .. ".join(protocol.get("library_period", ["?", "?"]))],
            ["query period (t days)", " .. ".join(protocol.get("query_period", ["?", "?"]))],
            ["t", protocol.get("query_days", "?")],
            ["library fraction", protocol.get("library_fraction", "?")],
            ["seed", protocol.get("seed", "?")],
            ["library users", n_library],
            ["queries", doc.get("n_queries", 0)],
            ["  present in the library", doc.get("n_queries", 0) - doc.get("n_absent", 0)],
            ["  absent (must be 'new')", doc.get("n_absent", 0)],
        ],
    )
    report.heading("Accuracies")
    report.table(
        ["accuracy", "this run", "paper"],
        [
            [ACCURACY_LABELS[k], _pct(doc.get(k)), _pct(PAPER_ACCURACY.get(k))]
            for k in ACCURACY_LABELS
        ],
    )
    report.figure(accuracy_figure(doc), "accuracy", "Our accuracies beside the paper's Table 2")
    decisions = doc.get("decisions")
    if decisions:
        report.table(["verdict", "queries"], [[k, v] for k, v in decisions.items()])
    report.heading("Per-step funnel")
    steps = doc.get("steps", [])
    report.table(_FUNNEL_HEADER, _funnel_rows(steps, n_library))
    report.paragraph(
        "Mean candidates per query after each step; recall is the share of present queries "
        "whose true user is still a candidate. The paper's Table 1 gives the candidate share "
        "and seconds for one query on a Pentium IV; our seconds are for all queries at once."
    )
    if steps:
        report.figure(funnel_figure(steps, n_library), "funnel", "Candidates and recall per step")
    sweep = doc.get("sweep") or []
    if sweep:
        report.heading("Accuracy vs t")
        report.figure(sweep_figure(sweep), "sweep", "Accuracy vs the query period t")
        report.table(
            ["t", "overall", "present", "absent", "rank 1", "queries", "absent queries"],
            [
                [
                    r["query_days"],
                    _pct(r.get("acc_overall")),
                    _pct(r.get("acc_present")),
                    _pct(r.get("acc_absent")),
                    _pct(r.get("rank1_present")),
                    r.get("n_queries"),
                    r.get("n_absent"),
                ]
                for r in sweep
            ],
        )
    _settings_table(report, doc.get("settings", {}))
    report.paragraph(f"Identification took {doc.get('seconds_total', 0.0):.2f} s in all.")
    return report


def write_evaluation_report(evaluation: Any, out_dir: Path, force: bool = False) -> Path:
    """Write ``evaluation.html`` (self-contained) and its PNG figures into ``out_dir``.

    >>> import tempfile, pathlib
    >>> from netpersona.rejoin import evaluate
    >>> from netpersona.rejoin._examples import example_engine
    >>> evaluation = evaluate(example_engine(), "log", query_days=3, library_fraction=0.5)
    >>> page = write_evaluation_report(evaluation, pathlib.Path(tempfile.mkdtemp()))
    >>> page.name, "100.00%" in page.read_text()
    ('evaluation.html', True)
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return evaluation_page(evaluation).write(out_dir / "evaluation.html", force=force)


def identify_page(result: Any, sample: int = 20) -> HtmlReport:
    """The report of one identification run (no truth): verdicts, funnel, scores."""
    import pyarrow.compute as pc

    matches = result.matches
    per_query = dict(
        zip(
            matches.column("query_user").to_pylist(),
            matches.column("decision").to_pylist(),
            strict=True,
        )
    )
    decisions = Counter(per_query.values())
    report = HtmlReport("Re-join identification")
    report.paragraph(
        f"{len(per_query):,} query users: {decisions.get('match', 0):,} matched to one library "
        f"user, {decisions.get('ambiguous', 0):,} ambiguous (several outputs: check with other "
        f"data), {decisions.get('new', 0):,} new."
    )
    report.figure(decisions_figure(dict(decisions)), "decisions", "Verdicts")
    steps = [dict(s, recall=None) for s in getattr(result, "steps", [])]
    if steps:
        report.heading("Per-step funnel")
        report.table(
            ["step", "mean candidates", "seconds (all queries)", "paper s / query"],
            [
                [
                    s["step"],
                    f"{s.get('mean_candidates') or 0.0:,.2f}",
                    f"{s['seconds']:.3f}",
                    PAPER_FUNNEL.get(s["step"], (None, "–"))[1],
                ]
                for s in steps
            ],
        )
    outputs = matches.filter(pc.equal(matches.column("answer"), 1))
    scores = [v for v in outputs.column("score").to_pylist() if v is not None]
    if scores:
        fig = _figure(figsize=(6, 3))
        ax = fig.subplots()
        ax.hist(scores, bins=30, color=_OURS)
        ax.set_xlabel("total similarity S of the outputs")
        ax.set_ylabel("rows")
        report.figure(fig, "scores", "Total similarity S of the output users")
    report.heading("First matches (ids masked)")
    first = outputs.slice(0, sample).to_pylist()
    report.table(
        ["query user", "verdict", "rank", "library user", "S"],
        [
            [
                mask_id(r["query_user"]),
                r["decision"],
                r["rank"],
                mask_id(r["library_user"]),
                "–" if r["score"] is None else f"{r['score']:.3f}",
            ]
            for r in first
        ],
    )
    seconds = getattr(result, "seconds", None)
    if seconds is not None:
        report.paragraph(f"Identification took {seconds:.2f} s for all queries.")
    return report


def write_identify_report(result: Any, path: Path, force: bool = False) -> Path:
    """Write the identification report (HTML at ``path``, PNGs beside it).

    >>> import tempfile, pathlib
    >>> from netpersona.rejoin import build_profiles, identify
    >>> from netpersona.rejoin._examples import example_engine
    >>> engine = example_engine()
    >>> library = build_profiles(engine, "library_log", "library")
    >>> queries = build_profiles(engine, "query_log", "q", reference=library)
    >>> result = identify(engine, library, queries)
    >>> page = write_identify_report(result, pathlib.Path(tempfile.mkdtemp()) / "r.html")
    >>> page.suffix
    '.html'
    """
    return identify_page(result).write(Path(path), force=force)
