"""Training and fine-tuning AffectGPT (spec affectgpt-model §10): configs, data, feature cache, recipe."""

from ovmer.train.config import TrainConfig, load_train_config

__all__ = ["TrainConfig", "load_train_config"]
