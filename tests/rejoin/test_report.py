"""The evaluation and identification reports: self-contained HTML and PNG figures."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pyarrow as pa
import pytest

from netpersona._core import OutputExistsError
from netpersona.rejoin._report import (
    accuracy_figure,
    funnel_figure,
    sweep_figure,
    write_evaluation_report,
    write_identify_report,
)

STEPS = [
    {"step": "1_profiles", "mean_candidates": 1000.0, "recall": 1.0, "seconds": 0.8},
    {"step": "2_simione", "mean_candidates": 120.0, "recall": 0.97, "seconds": 0.4},
    {"step": "3_simitwo", "mean_candidates": 6.0, "recall": 0.95, "seconds": 0.05},
    {"step": "4_simithree", "mean_candidates": 3.0, "recall": 0.93, "seconds": 0.02},
    {"step": "5_simifour", "mean_candidates": 1.0, "recall": 0.9, "seconds": 0.02},
    {"step": "6_decision", "mean_candidates": 0.0, "recall": None, "seconds": 0.01},
]
DOC = {
    "acc_absent": 0.99,
    "acc_present": 0.9,
    "acc_present_any": 0.92,
    "acc_overall": 0.91,
    "balanced_accuracy": 0.945,
    "rank1_present": 0.93,
    "n_library": 1000,
    "n_queries": 1200,
    "n_absent": 200,
    "decisions": {"match": 950, "ambiguous": 20, "new": 230},
    "steps": STEPS,
    "seconds_total": 1.3,
    "method": "paper",
    "protocol": {
        "window": ["2013-11-04", "2014-01-02"],
        "library_period": ["2013-11-04", "2013-12-28"],
        "query_period": ["2013-12-29", "2014-01-02"],
        "query_days": 5,
        "library_fraction": 0.8,
        "seed": 0,
    },
    "settings": {"jaccard_min": 0.6, "frequent_ratio": 0.8},
    "sweep": [
        {
            "query_days": t,
            "acc_overall": 0.5 + t / 25,
            "acc_present": 0.4 + t / 20,
            "acc_absent": 0.99,
            "rank1_present": 0.5,
            "n_queries": 1200,
            "n_absent": 200,
        }
        for t in range(1, 6)
    ],
}


def _self_contained(html: str) -> None:
    assert not re.search(r"https?://", html), "the page refers to the network"
    assert "<script" not in html.lower()
    for src in re.findall(r'src="([^"]*)"', html):
        assert src.startswith("data:image/png;base64,")


def test_evaluation_report_is_self_contained_with_pngs(tmp_path):
    path = write_evaluation_report(DOC, tmp_path / "report")
    html = path.read_text()
    _self_contained(html)
    assert html.count("<img") == 3  # accuracy, funnel, sweep
    for name in ("accuracy", "funnel", "sweep"):
        png = tmp_path / "report" / f"evaluation_{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the paper's figures stand beside ours
    for text in ("99.06%", "98.14%", "98.32%", "14.12%", "2_simione", "91.00%"):
        assert text in html
    with pytest.raises(OutputExistsError):
        write_evaluation_report(DOC, tmp_path / "report")
    write_evaluation_report(DOC, tmp_path / "report", force=True)


def test_report_without_sweep_or_absent_queries(tmp_path):
    doc = dict(DOC, sweep=[], acc_absent=None, n_absent=0)
    html = write_evaluation_report(doc, tmp_path).read_text()
    assert html.count("<img") == 2
    assert not (tmp_path / "evaluation_sweep.png").exists()


def test_figures_are_matplotlib_figures():
    from matplotlib.figure import Figure

    assert isinstance(accuracy_figure(DOC), Figure)
    assert isinstance(funnel_figure(STEPS, 1000), Figure)
    assert isinstance(sweep_figure(DOC["sweep"]), Figure)


def test_identify_report_masks_ids(tmp_path):
    matches = pa.table(
        {
            "query_user": ["13800001111", "13800002222", "13800002222", "13800003333"],
            "decision": ["match", "ambiguous", "ambiguous", "new"],
            "rank": [1, 1, 2, 0],
            "library_user": ["13912345678", "13900000001", "13900000002", None],
            "score": [0.8, 0.6, 0.58, None],
            "answer": [1, 1, 1, 0],
        }
    )
    result = SimpleNamespace(
        matches=matches,
        steps=[dict(s) for s in STEPS[1:]],
        seconds=0.5,
    )
    path = write_identify_report(result, tmp_path / "identify.html")
    html = path.read_text()
    _self_contained(html)
    assert "13912345678" not in html and "139****5678" in html
    assert "1 matched to one library user, 1 ambiguous" in html
    assert (tmp_path / "identify_decisions.png").exists()
    assert (tmp_path / "identify_scores.png").exists()
