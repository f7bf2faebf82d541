"""Sampling settings of the extractor LLM (docs/extraction.md, 'Reference settings' and
'Determinism and the cache').

Two named presets:

* ``deterministic`` (ovmer's default, the clean protocol): greedy decoding, same ``max_tokens`` and
  ``repetition_penalty`` as the paper, a fixed seed where the backend takes one;
* ``paper``: the reference vLLM settings (temperature 0.7, top-p 0.8, repetition penalty 1.05,
  512 tokens) — upstream had no seed, ovmer adds one so a rerun gives the same replies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SamplingSettings:
    """How the extractor decodes. ``temperature == 0`` means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    repetition_penalty: float = 1.05  # the reference's vLLM sampling (docs/extraction.md)
    max_tokens: int = 512  # docs/extraction.md, 'Reference settings'
    seed: int | None = 0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


DETERMINISTIC = SamplingSettings()
PAPER = SamplingSettings(temperature=0.7, top_p=0.8, repetition_penalty=1.05, max_tokens=512, seed=0)

DECODING_PRESETS: dict[str, SamplingSettings] = {"deterministic": DETERMINISTIC, "paper": PAPER}


def decoding_preset(name: str, seed: int | None = None) -> SamplingSettings:
    """A preset by name (``deterministic`` or ``paper``), optionally with another seed."""
    try:
        settings = DECODING_PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown decoding {name!r}; choose one of {sorted(DECODING_PRESETS)}") from None
    if seed is not None:
        settings = SamplingSettings(**{**settings.to_json(), "seed": seed})
    return settings
