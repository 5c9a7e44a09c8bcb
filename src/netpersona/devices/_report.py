"""The device-tier report: the paper's Fig. 4 (training error) and Fig. 5 (tier shares), the
test confusion matrix and each tier's feature profile, as PNGs and one offline HTML page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from netpersona.devices._model import TierModel
from netpersona.io import mask_id
from netpersona.report import HtmlReport

_COLOURS = {"vip": "#c53030", "growth": "#dd6b20", "ordinary": "#3182ce"}
_UNITS = {
    "avgontime": "hours / online day",
    "avguseflow": "MB / online day",
    "buycounts": "purchases / month",
}


def _colour(tier: str, i: int) -> str:
    return _COLOURS.get(tier, f"C{i}")


def error_curve_figure(model: TierModel):
    """Training error per epoch on a log scale, with the goal (paper Fig. 4)."""
    from matplotlib.figure import Figure

    errors = np.asarray(model.classifier.history_["error"], dtype=float)
    goal = model.metadata.get("settings", {}).get("goal")
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    ax.plot(np.arange(1, len(errors) + 1), errors, color="#2b6cb0", lw=1.4)
    if goal:
        ax.axhline(goal, color="#c53030", ls="--", lw=1, label=f"goal {goal:g}")
        ax.legend(loc="upper right")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training error")
    state = "reached the goal" if model.metadata.get("converged") else "stopped at the limit"
    ax.set_title(f"Training error: {len(errors):,} epochs, {state}")
    ax.grid(alpha=0.3)
    return fig


def tier_share_figure(tiers: list[str], order: tuple[str, ...]):
    """Share of each tier among all users (paper Fig. 5)."""
    from matplotlib.figure import Figure

    counts = [tiers.count(t) for t in order]
    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    ax.pie(
        counts,
        labels=[f"{t}\n{c:,}" for t, c in zip(order, counts, strict=True)],
        colors=[_colour(t, i) for i, t in enumerate(order)],
        autopct="%1.1f%%",
        startangle=90,
        counterclock=False,
        wedgeprops={"edgecolor": "white"},
        textprops={"fontsize": 9},
    )
    ax.set_title(f"User tiers ({sum(counts):,} users)")
    return fig


def confusion_figure(confusion: list[list[int]], order: tuple[str, ...]):
    """Test-set confusion matrix: true tier down, predicted across."""
    from matplotlib.figure import Figure

    matrix = np.asarray(confusion, dtype=int)
    fig = Figure(figsize=(4.2, 3.6))
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        colour = "white" if value > matrix.max() / 2 else "black"
        ax.text(j, i, str(value), ha="center", va="center", color=colour)
    ax.set_xticks(range(len(order)), order)
    ax.set_yticks(range(len(order)), order)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Test users")
    return fig


def profile_figure(features: pa.Table, tiers: list[str], order, names):
    """Each feature's distribution per tier (box plots)."""
    from matplotlib.figure import Figure

    tier_array = np.asarray(tiers)
    fig = Figure(figsize=(3.2 * len(names), 3.4))
    for k, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), k + 1)
        values = features.column(name).to_numpy(zero_copy_only=False).astype(float)
        groups = [values[tier_array == t] for t in order]
        box = ax.boxplot(groups, patch_artist=True, showfliers=False)
        ax.set_xticks(range(1, len(order) + 1), order)
        for i, patch in enumerate(box["boxes"]):
            patch.set_facecolor(_colour(order[i], i))
            patch.set_alpha(0.6)
        ax.set_title(name)
        ax.set_ylabel(_UNITS.get(name, ""))
        ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def build_report(
    model: TierModel,
    features: pa.Table,
    predictions: pa.Table,
    out: str | Path,
    *,
    force: bool = False,
) -> Path:
    """Write ``out`` (HTML) and its figures as ``<stem>_<name>.png`` beside it.

    >>> import tempfile
    >>> import pyarrow as pa
    >>> from netpersona.devices import NetworkSettings, train_tiers
    >>> users = [f'u{i}' for i in range(20)]
    >>> ontime = np.linspace(0.5, 5.0, 20)
    >>> features = pa.table({'user': users, 'avgontime': ontime, 'avguseflow': ontime,
    ...                      'buycounts': ontime})
    >>> labels = pa.table({'user': users,
    ...                    'tier': ['vip' if h > 2.7 else 'ordinary' for h in ontime]})
    >>> model = train_tiers(features, labels, NetworkSettings(epochs=500)).model
    >>> out = Path(tempfile.mkdtemp()) / 'report.html'
    >>> build_report(model, features, model.predict(features), out).name
    'report.html'
    >>> sorted(p.name for p in out.parent.glob('*.png'))
    ['report_confusion.png', 'report_error.png', 'report_profiles.png', 'report_shares.png']
    """
    meta, order, names = model.metadata, model.tiers, model.feature_names
    tier_of = dict(
        zip(
            predictions.column("user").to_pylist(),
            predictions.column("tier").to_pylist(),
            strict=True,
        )
    )
    users = features.column("user").cast(pa.string()).to_pylist()
    tiers = [tier_of.get(u, "") for u in users]
    report = HtmlReport("Device-user tiers")
    month = meta.get("month") or "the data's month"
    report.paragraph(
        f"{len(users):,} users of portable / car Wi-Fi devices in {month}, put in tiers by a "
        f"{'-'.join(str(s) for s in model.classifier.network_.sizes)} back-propagation network "
        "(paper: 3-8-3, logsig, online, learning rate 0.9, goal 0.001)."
    )
    report.heading("Training")
    accuracy = meta.get("test_accuracy")
    report.table(
        ["", "netpersona", "paper"],
        [
            ["training / test users", f"{meta.get('n_train')} / {meta.get('n_test')}", "104 / 26"],
            ["epochs", f"{meta.get('epochs'):,}", "864"],
            ["reached the error goal", "yes" if meta.get("converged") else "no", "yes"],
            ["training time (s)", f"{meta.get('train_seconds', float('nan')):.2f}", "0.4"],
            ["test accuracy", "-" if accuracy is None else f"{accuracy:.1%}", "not given"],
        ],
    )
    report.figure(error_curve_figure(model), "error", "Training error per epoch (paper Fig. 4).")
    report.figure(
        confusion_figure(meta["confusion"], order),
        "confusion",
        "Held-out test users: true tier (rows) against the network's tier (columns).",
    )
    report.heading("Tiers")
    report.figure(tier_share_figure(tiers, order), "shares", "Share of each tier (paper Fig. 5).")
    out_of_range = sum(bool(x) for x in predictions.column("out_of_range").to_pylist())
    if out_of_range:
        report.paragraph(
            f"{out_of_range:,} users have a feature outside the training range; their tiers are "
            "extrapolations (see the out_of_range column of the predictions).",
            note=True,
        )
    report.heading("Feature profile of each tier")
    rows = []
    tier_array = np.asarray(tiers)
    for tier in order:
        mask = tier_array == tier
        row = [tier, int(mask.sum())]
        for name in names:
            values = features.column(name).to_numpy(zero_copy_only=False).astype(float)[mask]
            row.append(float(np.mean(values)) if mask.any() else float("nan"))
        rows.append(row)
    report.table(["tier", "users", *(f"mean {n}" for n in names)], rows)
    report.figure(
        profile_figure(features, tiers, order, names),
        "profiles",
        "Distribution of each feature per tier (boxes: quartiles).",
    )
    report.heading("Example users (paper Table 1 layout)")
    examples = []
    for tier in order:
        for i in [i for i, t in enumerate(tiers) if t == tier][:2]:
            examples.append(
                [mask_id(users[i]), *(float(features.column(n)[i].as_py()) for n in names), tier]
            )
    report.table(["username", *names, "tier"], examples)
    return report.write(out, force=force)
