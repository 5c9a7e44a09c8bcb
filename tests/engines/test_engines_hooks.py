"""The step hooks of identification (``StepHooks``): steps 2 and 5 computed elsewhere feed the
one implementation of the other steps. Checked here with core's own functions as the hooks
(no Spark needed), so any difference would come from the hook plumbing itself: chunking,
renumbering of query rows, a subset of query rows."""

from __future__ import annotations

import numpy as np
import pytest

from netpersona.rejoin import RejoinSettings
from netpersona.rejoin._identify import StepHooks, identify_arrays
from netpersona.rejoin._steps import simi_four_scores, simi_one

SETTINGS = RejoinSettings()


def _core_hooks(lib, qry, calls: list[str]) -> StepHooks:
    def step_two():
        calls.append("2")
        return simi_one(qry, lib, SETTINGS.jaccard_min)

    def step_five(candidates):
        calls.append("5")
        return simi_four_scores(candidates, qry, lib, SETTINGS.min_run)

    return StepHooks(simi_one=step_two, simi_four_scores=step_five)


@pytest.mark.parametrize("chunk", [1, 5, 256])
@pytest.mark.parametrize("subset", [False, True])
def test_hooked_steps_give_the_same_matches(duckdb_built, chunk, subset):
    lib, qry = duckdb_built.library.arrays(), duckdb_built.queries.arrays()
    rows = np.arange(qry.n_users)[::-1][::2].copy() if subset else None  # unsorted subset
    plain = identify_arrays(lib, qry, SETTINGS, top_k=2, chunk=chunk, rows=rows)
    calls: list[str] = []
    hooked = identify_arrays(
        lib, qry, SETTINGS, top_k=2, chunk=chunk, rows=rows, hooks=_core_hooks(lib, qry, calls)
    )
    assert calls == ["2", "5"]  # each hook once, for all queries
    assert hooked.matches.equals(plain.matches)
    assert [s["mean_candidates"] for s in hooked.steps] == [
        s["mean_candidates"] for s in plain.steps
    ]
    assert plain.matches.num_rows > 0
