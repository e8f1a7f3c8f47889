"""Training: configs, the trainer, the run store. See ``rnnlab.train.trainer``."""

from rnnlab.train.config import TrainConfig, smoke_overrides

__all__ = ["TrainConfig", "smoke_overrides", "train", "Trainer", "load_runs"]


def __getattr__(name):  # keep ``import rnnlab.train`` light: torch models load on first use
    if name in ("train", "Trainer"):
        from rnnlab.train import trainer

        return getattr(trainer, name)
    if name == "load_runs":
        from rnnlab.train.runs import load

        return load
    raise AttributeError(name)
