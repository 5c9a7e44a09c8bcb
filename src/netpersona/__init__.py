"""netpersona: know mobile-network subscribers from their own logs.

Three capabilities, each from one research paper: re-join identification
(:mod:`netpersona.rejoin`), device-user tiers (:mod:`netpersona.devices`) and customer-value tiers
(:mod:`netpersona.customers`), on one back-propagation engine (:mod:`netpersona.nn`) and one data
layer (:mod:`netpersona.io`, :mod:`netpersona.engine`).
"""

import logging

from netpersona._core import (
    ColumnNotFoundError,
    ConfigError,
    InputError,
    ModelFormatError,
    NetpersonaError,
    OutputExistsError,
    TooManyBadRowsError,
    configure_numba_cache,
)
from netpersona._version import __version__

# a library leaves where log records go to the application; without this, records that no
# handler takes reach Python's last-resort handler and are printed on stderr
logging.getLogger("netpersona").addHandler(logging.NullHandler())

# before any numba module is imported: a read-only install caches compiled code per user
configure_numba_cache()

__all__ = [
    "ColumnNotFoundError",
    "ConfigError",
    "InputError",
    "ModelFormatError",
    "NetpersonaError",
    "OutputExistsError",
    "TooManyBadRowsError",
    "__version__",
]
