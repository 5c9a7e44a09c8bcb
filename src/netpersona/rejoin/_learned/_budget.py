"""How a ``--budget`` sizes a fit of the learned matcher (``rejoin train``).

The fit has three parts: the simulation (profiles of each simulated cut of the library), the
candidates and features of its queries, and the classifiers (each with out-of-fold predictions,
then the winner refitted). The simulation may use :data:`SIMULATION_SHARE` of the budget left
when the fit starts: it stops before a cut that would end past that share (estimated from the
cuts so far; the first cut always runs), so fewer simulated queries are made. Each classifier
after the first is trained only when it fits what is left (estimated from those trained, plus
the refit); the first always runs. What was left out is in :meth:`FitBudget.report`, saved with
the matcher and printed by ``rejoin train``. With enough budget nothing is left out and the fit
is the unbudgeted one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netpersona._core import Budget

#: the share of the budget (left when the fit starts) the simulation may use
SIMULATION_SHARE = 0.5


@dataclass
class FitBudget:
    """The budget of one fit and what it left out.

    >>> plan = FitBudget(None)
    >>> plan.next_cut(), plan.next_model([1.0], folds=3), plan.report()
    (True, True, None)
    """

    budget: Budget | None
    simulation: Budget | None = None
    #: seconds of each simulated cut run (the estimate of the next)
    cut_seconds: list[float] = field(default_factory=list)
    #: simulated cuts planned but not run because of the budget
    cuts_left_out: int = 0
    models_left_out: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.budget is not None and self.simulation is None:
            share = max(self.budget.left(), 0.0) * SIMULATION_SHARE
            self.simulation = Budget(max(share, 1e-9), clock=self.budget.clock)

    def next_cut(self) -> bool:
        """Whether the next simulated cut fits the simulation's share (the first always)."""
        if self.simulation is None or not self.cut_seconds:
            return True
        return self.simulation.fits(sum(self.cut_seconds) / len(self.cut_seconds))

    def clock(self) -> float:
        return self.budget.clock() if self.budget is not None else 0.0

    def next_model(self, model_seconds: list[float], folds: int) -> bool:
        """Whether another classifier (and the refit of the winner) fits what is left."""
        if self.budget is None or not model_seconds:
            return True
        each = sum(model_seconds) / len(model_seconds)
        return self.budget.fits(each + each / folds)

    def report(self, cuts_done: int = 0, models_done: int = 0) -> dict | None:
        """What the budget did, for the matcher's metadata (None without one)."""
        if self.budget is None:
            return None
        cut = bool(self.cuts_left_out or self.models_left_out)
        return self.budget.report(
            cut, simulated_cuts=cuts_done, simulated_cuts_left_out=self.cuts_left_out,
            models=models_done, models_left_out=list(self.models_left_out),
        )  # fmt: skip


def budget_line(report: dict | None) -> str | None:
    """One line for a person when the budget left something out.

    >>> budget_line({"seconds": 60.0, "cut": True, "simulated_cuts": 4,
    ...              "simulated_cuts_left_out": 8, "models": 1, "models_left_out": ["bp"]})
    '--budget 60 s cut the training: 4 simulated re-joins (at most 12 planned); classifiers...
    """
    if not report or not report["cut"]:
        return None
    done, left = report["simulated_cuts"], report["simulated_cuts_left_out"]
    models = ", ".join(report["models_left_out"]) or "none"
    return (
        f"--budget {report['seconds']:g} s cut the training: {done} simulated re-joins (at most "
        f"{done + left} planned); classifiers not tried: {models}"
    )
