"""AffectGPT in Hugging Face shape: config, model, processor, official checkpoints.

Heavy dependencies (torch, transformers, peft) are imported by the submodules, so importing
``ovmer.models`` itself stays cheap; use ``from ovmer.models.loading import load_model``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AffectGPTConfig", "AffectGPTModel", "AffectGPTProcessor", "load_model"]


def __getattr__(name: str) -> Any:
    if name == "AffectGPTConfig":
        from ovmer.models.configuration_affectgpt import AffectGPTConfig

        return AffectGPTConfig
    if name == "AffectGPTModel":
        from ovmer.models.modeling_affectgpt import AffectGPTModel

        return AffectGPTModel
    if name == "AffectGPTProcessor":
        from ovmer.models.processing_affectgpt import AffectGPTProcessor

        return AffectGPTProcessor
    if name == "load_model":
        from ovmer.models.loading import load_model

        return load_model
    raise AttributeError(name)
