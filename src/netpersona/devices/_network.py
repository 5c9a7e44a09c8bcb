"""Paper B's network (section 3.3-4): its settings, and the configured estimator.

3 inputs, 8 ``logsig`` hidden neurons, 3 ``logsig`` outputs, trained per sample (online) with
learning rate 0.9 from U[-1, 1] weights until the error is at most 0.001 or 10,000 epochs;
80 % of the labelled users train, 20 % test. Each parameter is declared once, here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NetworkSettings:
    """Every parameter of paper B's network and experiment; the defaults are the paper's.

    >>> settings = NetworkSettings()  # the paper's
    >>> settings.hidden, settings.lr, settings.goal, settings.epochs, settings.test_fraction
    ((8,), 0.9, 0.001, 10000, 0.2)
    >>> settings.classifier().lr
    0.9
    """

    hidden: tuple[int, ...] = (8,)
    transfer: tuple[str, ...] = ("logsig", "logsig")
    algorithm: str = "online"
    lr: float = 0.9
    goal: float = 0.001
    epochs: int = 10_000
    #: ``sse``: half the summed squared error over the training set (the paper's E)
    performance: str = "sse"
    #: ``uniform``: weights and thresholds drawn from U[-1, 1]
    init: str = "uniform"
    #: present the training samples in the same order every epoch (the paper) or reshuffled
    shuffle: bool = False
    input_range: tuple[float, float] = (0.0, 1.0)
    #: share of the labelled users held out for testing (paper: 26 of 130)
    test_fraction: float = 0.2
    #: keep each tier's share the same in the training and the test set
    stratify: bool = True
    seed: int = 0

    def classifier(self):
        """A fresh, unfitted :class:`~netpersona.nn.BPClassifier` with these settings."""
        from netpersona.nn import BPClassifier

        return BPClassifier(
            hidden=tuple(self.hidden),
            transfer=tuple(self.transfer),
            algorithm=self.algorithm,
            lr=self.lr,
            goal=self.goal,
            epochs=self.epochs,
            performance=self.performance,
            init=self.init,
            shuffle=self.shuffle,
            input_range=tuple(self.input_range),
            random_state=self.seed,
        )


def paper_b_network(settings: NetworkSettings | None = None):
    """Paper B's tier network as a configured, unfitted :class:`~netpersona.nn.BPClassifier`.

    3 inputs, 8 ``logsig`` hidden neurons, 3 ``logsig`` outputs, trained per sample (online)
    with learning rate 0.9 from U[-1, 1] weights until half the summed squared error is at most
    0.001 or 10,000 epochs (section 3.3-4). ``settings`` changes any of it (default: the paper's).

    >>> net = paper_b_network()
    >>> net.hidden, net.transfer, net.algorithm, net.lr, net.goal, net.epochs
    ((8,), ('logsig', 'logsig'), 'online', 0.9, 0.001, 10000)
    >>> paper_b_network(NetworkSettings(hidden=(5,), seed=3)).hidden
    (5,)
    """
    return (settings or NetworkSettings()).classifier()
