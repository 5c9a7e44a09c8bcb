"""The back-propagation network engine: layers, transfer functions, training algorithms,
scikit-learn estimators and persistence. Knows nothing of telecoms.

Training algorithms: ``online`` (per-sample gradient descent, paper B; compiled with numba) and
MATLAB's batch ``traingd``, ``traingdm``, ``traingdx`` (paper C). See docs/nn.md.
"""

from netpersona.nn._estimators import ALGORITHMS, BPClassifier, BPRegressor
from netpersona.nn._network import Network, init_nguyen_widrow, init_uniform, performance
from netpersona.nn._persist import FORMAT_VERSION, load_model
from netpersona.nn._scaling import MinMaxScaling
from netpersona.nn._sizing import (
    hidden_geometric,
    hidden_kolmogorov,
    hidden_log2,
    hidden_size_rules,
    hidden_sqrt_sum,
)
from netpersona.nn._train_batch import traingd, traingdm, traingdx
from netpersona.nn._train_online import TrainResult, numba_enabled, train_online

__all__ = [
    "ALGORITHMS",
    "FORMAT_VERSION",
    "BPClassifier",
    "BPRegressor",
    "MinMaxScaling",
    "Network",
    "TrainResult",
    "hidden_geometric",
    "hidden_kolmogorov",
    "hidden_log2",
    "hidden_size_rules",
    "hidden_sqrt_sum",
    "init_nguyen_widrow",
    "init_uniform",
    "load_model",
    "numba_enabled",
    "performance",
    "train_online",
    "traingd",
    "traingdm",
    "traingdx",
]
