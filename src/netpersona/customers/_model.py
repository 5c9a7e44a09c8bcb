"""The paper's customer-value network: m inputs, 2m + 1 tansig hidden neurons, one logsig output.

Paper C, 4.3 (2)–(4): 14-29-1, ``tansig`` hidden and ``logsig`` output, trained by ``traingdx``
(gradient descent with momentum and an adaptive learning rate; ``learngdm``), performance
``mse``, goal 0.01. The paper leaves MATLAB's other ``traingdx`` settings at their defaults, so
these are the defaults here too (lr 0.01, mc 0.9, lr_inc 1.05, lr_dec 0.7, max_perf_inc 1.04,
1000 epochs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class NetworkSettings:
    """Every setting of the customer-value network, with the paper's values as defaults.

    >>> settings = NetworkSettings()
    >>> settings.hidden_size(14), settings.algorithm, settings.goal, settings.lr, settings.mc
    (29, 'traingdx', 0.01, 0.01, 0.9)
    """

    #: hidden neurons; None = 2 x inputs + 1 (paper formula (3), Kolmogorov)
    hidden: int | None = None
    hidden_transfer: str = "tansig"
    output_transfer: str = "logsig"
    algorithm: str = "traingdx"
    performance: str = "mse"
    #: the paper's stopping goal on the (normalised) training error
    goal: float = 0.01
    epochs: int = 1000
    lr: float = 0.01
    mc: float = 0.9
    lr_inc: float = 1.05
    lr_dec: float = 0.7
    max_perf_inc: float = 1.04
    #: initial weights: MATLAB's newff uses Nguyen–Widrow for tansig layers
    init: str = "nguyen-widrow"
    #: min–max target range of the inputs (paper formula (2): [0, 1])
    input_range: tuple[float, float] = (0.0, 1.0)

    def hidden_size(self, n_inputs: int) -> int:
        """Hidden layer size for ``n_inputs`` inputs (paper: n2 = 2 n1 + 1)."""
        return self.hidden if self.hidden is not None else 2 * n_inputs + 1

    def to_dict(self) -> dict:
        out = asdict(self)
        out["input_range"] = list(self.input_range)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> NetworkSettings:
        data = dict(data)
        data["input_range"] = tuple(data["input_range"])
        return cls(**data)


def build_network(n_inputs: int, settings: NetworkSettings, seed: int | None):
    """An unfitted :class:`netpersona.nn.BPRegressor` with the given settings."""
    from netpersona.nn import BPRegressor

    return BPRegressor(
        hidden=(settings.hidden_size(n_inputs),),
        transfer=(settings.hidden_transfer, settings.output_transfer),
        algorithm=settings.algorithm,
        lr=settings.lr,
        goal=settings.goal,
        epochs=settings.epochs,
        performance=settings.performance,
        mc=settings.mc,
        lr_inc=settings.lr_inc,
        lr_dec=settings.lr_dec,
        max_perf_inc=settings.max_perf_inc,
        init=settings.init,
        input_range=settings.input_range,
        random_state=seed,
    )


#: the paper's indicator count: 14 questions (paper C, Table 1), so the network is 14-29-1
PAPER_INPUTS = 14


def paper_c_network(
    n_inputs: int = PAPER_INPUTS, settings: NetworkSettings | None = None, seed: int | None = 0
):
    """Paper C's customer-value network: a configured, unfitted
    :class:`~netpersona.nn.BPRegressor`.

    ``n_inputs``-(2 ``n_inputs`` + 1)-1 (14-29-1 for the paper's 14 indicators), ``tansig``
    hidden and ``logsig`` output, ``traingdx`` on ``mse`` to the goal 0.01 (4.3 (2)-(4)).
    ``settings`` changes any of it (default: the paper's).

    >>> net = paper_c_network()
    >>> net.hidden, net.transfer, net.algorithm, net.goal, net.epochs
    ((29,), ('tansig', 'logsig'), 'traingdx', 0.01, 1000)
    >>> paper_c_network(5).hidden
    (11,)
    """
    return build_network(n_inputs, settings or NetworkSettings(), seed)
