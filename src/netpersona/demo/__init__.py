"""The demos: every capability on synthetic data (``netpersona demo``).

The demos sit above the domains (they call ``synth``, ``rejoin``, ``devices`` and
``customers``) and below the command line; no library package imports them.

- :func:`run_demo`: the whole product into one folder (log summary, re-join evaluation,
  device-user tiers, customer-value tiers);
- :func:`run_devices_demo`: paper B end to end on synthetic device reports;
- :func:`run_customers_demo`: paper C end to end on synthetic questionnaires;
- :func:`warm_up`: every compiled (numba) function once, on a tiny log, so that the first real
  run finds them in the on-disk cache (``netpersona warmup``).
"""

from netpersona.demo._customers import run_customers_demo
from netpersona.demo._devices import run_devices_demo
from netpersona.demo._run import (
    DEMO_DAYS,
    DEMO_EXPECTATION,
    DEMO_PRESET,
    DEMO_USERS,
    run_demo,
)
from netpersona.demo._warmup import warm_up

__all__ = [
    "DEMO_DAYS",
    "DEMO_EXPECTATION",
    "DEMO_PRESET",
    "DEMO_USERS",
    "run_customers_demo",
    "run_demo",
    "run_devices_demo",
    "warm_up",
]
