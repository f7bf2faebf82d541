"""How closely inference follows upstream AffectGPT: the ``clean`` and ``paper`` settings.

``clean`` (the default) is ovmer's own behaviour; ``paper`` reproduces what the released code does
when it produced the paper's numbers (docs/model.md, "Fidelity settings"):

| setting | clean | paper (upstream) |
| --- | --- | --- |
| ``lora`` | merged into the base weights | kept apart, adapters in fp32 over the fp16 base (peft's default) |
| ``tokenizer`` | fast (Rust) | slow (pure-Python BPE, ``use_fast=False``) |
| ``ban_first_step_eos`` | yes: no empty answers | no: ``min_length=1`` becomes 0 with ``inputs_embeds`` |
| ``prompt_overflow`` | a prompt over 800 tokens is an error | its last 800 tokens are kept, with a logged warning |
| ``decoding`` | greedy | sampling, top-k 20, top-p 0.9, T 1.0 (seeded in ovmer) |
| ``strict_inputs`` | a missing OpenFace array / wav is replaced (detected faces, the video's audio) | refused |

:func:`ovmer.models.loading.load_model` applies ``lora``, ``tokenizer`` and ``prompt_overflow``;
the engine turns ``decoding`` and ``ban_first_step_eos`` into its default
:class:`~ovmer.models.generation.DecodingSettings`; ``strict_inputs`` is for the media loaders.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from ovmer.errors import ModelError
from ovmer.models.generation import DecodingMode, DecodingSettings

LoraMode = Literal["merged", "fp32_unmerged"]
TokenizerKind = Literal["fast", "slow"]
#: What to do with a prompt longer than ``GenerationSettings.max_prompt_tokens``: refuse it, or keep
#: its last tokens as upstream does (a cut through the media placeholders at the prompt's start is
#: still an error: upstream's placeholder check fails on it).
PromptOverflow = Literal["error", "keep_last"]


@dataclass(frozen=True)
class Fidelity:
    """One inference setting; the defaults are the ``clean`` preset (see the module docstring)."""

    lora: LoraMode = "merged"
    tokenizer: TokenizerKind = "fast"
    ban_first_step_eos: bool = True
    prompt_overflow: PromptOverflow = "error"
    decoding: DecodingMode = "greedy"
    strict_inputs: bool = False

    @property
    def name(self) -> str:
        """``clean`` or ``paper`` when the setting is exactly that preset, else ``custom``."""
        return next((name for name, preset in PRESETS.items() if preset == self), "custom")

    def replace(self, **changes: Any) -> Fidelity:
        """A copy with some fields changed (``--fidelity paper --decoding greedy``); names checked."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ModelError(f"unknown fidelity field(s) {unknown}; known: {sorted(known)}")
        return dataclasses.replace(self, **changes)

    def decoding_settings(
        self, *, mode: DecodingMode | None = None, seed: int = 0, max_new_tokens: int | None = None
    ) -> DecodingSettings:
        """Decoding settings of this fidelity (``mode`` overrides its decoding; ``max_new_tokens=None``
        leaves the budget to the model config)."""
        return DecodingSettings(
            mode=mode or self.decoding,
            seed=seed,
            max_new_tokens=max_new_tokens,
            ban_first_step_eos=self.ban_first_step_eos,
        )

    def describe(self) -> dict[str, Any]:
        """The setting as a JSON-ready dict, for run records."""
        return {"name": self.name, **dataclasses.asdict(self)}


CLEAN = Fidelity()
PAPER = Fidelity(
    lora="fp32_unmerged",
    tokenizer="slow",
    ban_first_step_eos=False,
    prompt_overflow="keep_last",
    decoding="paper",
    strict_inputs=True,
)
PRESETS: dict[str, Fidelity] = {"clean": CLEAN, "paper": PAPER}


def keep_adapters_fp32(llm: Any) -> int:
    """Put every LoRA adapter of a peft-wrapped LLM back in fp32 after the LLM was cast to fp16/bf16.

    Upstream's peft up-casts adapters over its fp16 base; casting the whole LLM (``llm.to(fp16)``)
    would undo that. peft's layers cast their input to the adapter dtype and the sum back to the
    base's. Returns the number of adapted layers.
    """
    from peft.tuners.lora import LoraLayer

    layers = [module for module in llm.modules() if isinstance(module, LoraLayer)]
    for layer in layers:
        layer.lora_A.float()
        layer.lora_B.float()
    return len(layers)


def get_fidelity(value: str | Fidelity | None) -> Fidelity:
    """A preset by name (``clean``, ``paper``), a :class:`Fidelity` as is, or ``clean`` for ``None``."""
    if value is None:
        return CLEAN
    if isinstance(value, Fidelity):
        return value
    if value not in PRESETS:
        raise ModelError(f"unknown fidelity setting {value!r}; use one of {sorted(PRESETS)}")
    return PRESETS[value]
