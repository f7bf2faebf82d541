"""Training and fine-tuning AffectGPT (docs/training.md): configs, model, data, feature cache, recipe."""

from ovmer.train.config import TrainConfig, load_train_config

__all__ = ["TrainConfig", "load_train_config"]
