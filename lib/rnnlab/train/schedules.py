"""Learning-rate schedules of the three papers, as small stateful objects the trainer consults.

- ``pascanu``: eta_tau = eta_0 / (1 + max(0, tau - tau_0) / beta), tau = update count, tau_0 = the update at which
  the validation error first rises (Pascanu et al. 2014, footnote 1; beta = 100 for JSB, 2330 Nottingham,
  1475 MuseData). Taken literally, with weight noise a 0.01-nat blip starts the decay after a few epochs; with
  ``start_patience = k`` (knob ``decay_start_patience``) tau_0 is instead the end of the k-th consecutive epoch
  without a new best validation cost -- the decay starts once progress has really stalled.
- ``halving``: after three consecutive epochs without validation improvement, halve the rate at each epoch for four
  more epochs, then stop (Jozefowicz et al. 2015).
- ``plateau``: halve the rate whenever the validation cost does not decrease significantly (Mikolov et al. 2010,
  used by Pascanu for PTB); "significantly" = by more than 0.1 % here.
- ``none``: constant rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Schedule:
    kind: str
    base_lr: float
    beta: float = 100.0
    tau0: int | None = None  # pascanu: update at which the decay started
    start_patience: int | None = None  # pascanu: epochs without a new best before the decay (None: first rise)
    epochs_since_best: int = 0  # pascanu with start_patience
    factor: float = 1.0  # halving/plateau: current multiplier
    bad_epochs: int = 0  # halving: consecutive epochs without improvement
    halvings_left: int | None = None  # halving: epochs of decay left once decay started
    last_valid: float | None = None
    best_valid: float | None = None

    def lr(self, updates: int) -> float:
        """Learning rate for the next update, given the number of updates done."""
        if self.kind == "pascanu" and self.tau0 is not None:
            return self.base_lr / (1.0 + max(0, updates - self.tau0) / self.beta)
        return self.base_lr * self.factor

    def end_epoch(self, valid: float, updates: int, lower_is_better: bool = True) -> bool:
        """Update the schedule after an epoch's validation; return True when training should stop."""
        sign = 1.0 if lower_is_better else -1.0
        rose = self.last_valid is not None and sign * (valid - self.last_valid) > 0
        improved = self.best_valid is None or sign * (valid - self.best_valid) < 0
        stop = False
        if self.kind == "pascanu" and self.tau0 is None:
            self.epochs_since_best = 0 if improved else self.epochs_since_best + 1
            if (rose if self.start_patience is None else self.epochs_since_best >= self.start_patience):
                self.tau0 = updates
        elif self.kind == "plateau" and self.last_valid is not None:
            if sign * (self.last_valid - valid) <= 1e-3 * abs(self.last_valid):
                self.factor *= 0.5
        elif self.kind == "halving":
            if self.halvings_left is not None:
                self.factor *= 0.5
                self.halvings_left -= 1
                stop = self.halvings_left < 0
            else:
                self.bad_epochs = 0 if improved else self.bad_epochs + 1
                if self.bad_epochs >= 3:
                    self.halvings_left = 4
        self.last_valid = valid
        if improved:
            self.best_valid = valid
        return stop

    def state_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> Schedule:
        return cls(**state)
