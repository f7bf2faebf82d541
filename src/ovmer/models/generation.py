"""Batched decoding from prompt embeddings (docs/model.md, "Inference"; upstream
``conversation/conversation_video.py``).

Why not ``transformers.generate``: the AffectGPT stop rule (``###`` and split ``##``/``#``) is per
row, and the step function here is the whole contract a faster engine must meet: (prompt embeddings,
attention mask) -> token ids. A vLLM backend with prompt embeddings can replace :func:`generate`
unchanged.

First step and EOS: upstream passes ``min_length=1``, but with ``inputs_embeds`` only, transformers
(4.49, ``_prepare_generated_length``) lowers it to ``max(1 - prompt_length, 0) = 0``, so upstream
*can* answer with EOS at once (an empty response). ovmer's clean setting bans EOS at the first step
(``ban_first_step_eos=True``); the paper setting does not (``ovmer.models.fidelity``).
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any, Literal

import torch

from ovmer.errors import ModelError
from ovmer.models.configuration_affectgpt import GenerationSettings

DecodingMode = Literal["greedy", "paper"]


@dataclass(frozen=True)
class DecodingSettings:
    """Greedy (default, deterministic) or the paper's sampling (top-k 20, top-p 0.9, T 1.0) with a seed.

    ``None`` means "not chosen here": :meth:`resolved` fills it in. ``max_new_tokens`` then comes from
    the model config (``AffectGPTConfig.generation.max_new_tokens``, 1200 for the released models) and
    ``ban_first_step_eos`` from the engine's fidelity setting (clean: True, paper: False).
    ``AffectGPTEngine.decoding_settings`` does both; :func:`generate` needs resolved settings.
    """

    mode: DecodingMode = "greedy"
    max_new_tokens: int | None = None
    # The paper's sampling values have one home: the config's GenerationSettings.
    temperature: float = GenerationSettings.paper_temperature
    top_p: float = GenerationSettings.paper_top_p
    top_k: int = GenerationSettings.paper_top_k
    seed: int = 0
    ban_first_step_eos: bool | None = None

    def resolved(self, generation: GenerationSettings, ban_first_step_eos: bool = True) -> DecodingSettings:
        """These settings with the budget from ``generation`` and the EOS rule from the caller, where unset."""
        return dataclasses.replace(
            self,
            max_new_tokens=generation.max_new_tokens if self.max_new_tokens is None else self.max_new_tokens,
            ban_first_step_eos=(
                ban_first_step_eos if self.ban_first_step_eos is None else self.ban_first_step_eos
            ),
        )

    def describe(self) -> dict[str, Any]:
        """What was used, for the run record. The first-step EOS rule is named only when EOS is allowed
        (the paper setting), so that records of clean runs keep their earlier form."""
        record: dict[str, Any] = {"mode": self.mode, "max_new_tokens": self.max_new_tokens}
        if self.mode == "paper":
            record.update(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, seed=self.seed)
        if self.ban_first_step_eos is False:
            record["first_step_eos"] = "allowed"
        return record


@dataclass(frozen=True)
class StopRule:
    """Token ids that end a response: EOS ids, ``###``, or the pairs (``##``, ``#``) / (``#``, ``##``)."""

    eos_ids: tuple[int, ...]
    hash3_id: int
    hash2_id: int
    hash1_id: int

    def finished(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, n) generated so far -> (B,) bool: does the row end here?"""
        last = tokens[:, -1]
        done = torch.isin(last, torch.tensor(self.eos_ids, device=tokens.device)) | (last == self.hash3_id)
        if tokens.shape[1] >= 2:
            prev = tokens[:, -2]
            done |= (prev == self.hash2_id) & (last == self.hash1_id)
            done |= (prev == self.hash1_id) & (last == self.hash2_id)
        return done


def _sample(
    logits: torch.Tensor, settings: DecodingSettings, generator: torch.Generator | None
) -> torch.Tensor:
    """(B, V) logits -> (B,) next ids, with transformers' warper order: temperature, top-k, top-p."""
    if settings.mode == "greedy":
        return logits.argmax(dim=-1)
    scores = logits.float() / settings.temperature
    k = min(settings.top_k, scores.shape[-1])
    kth = torch.topk(scores, k, dim=-1).values[:, -1:]
    scores = scores.masked_fill(scores < kth, float("-inf"))
    sorted_scores, order = torch.sort(scores, descending=False)
    cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
    remove_sorted = cumulative <= (1 - settings.top_p)
    remove_sorted[:, -1] = False  # keep at least one token
    remove = remove_sorted.scatter(1, order, remove_sorted)
    scores = scores.masked_fill(remove, float("-inf"))
    probs = scores.softmax(dim=-1)
    return torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(-1).to(logits.device)


def _call_options(llm: Any, cache: Any) -> dict[str, Any]:
    """Keyword names differ across transformers versions: ``cache`` (5.x) / ``past_key_values`` (4.x);
    ``logits_to_keep`` avoids materialising (B, L, vocab) logits for the whole prompt."""
    base = llm.get_base_model() if hasattr(llm, "get_base_model") else llm
    params = inspect.signature(base.forward).parameters
    options: dict[str, Any] = {"cache" if "cache" in params else "past_key_values": cache}
    if "logits_to_keep" in params:
        options["logits_to_keep"] = 1
    return options


@torch.no_grad()
def generate(
    llm: Any,
    inputs_embeds: torch.Tensor,
    attention_mask: torch.Tensor,
    stop: StopRule,
    settings: DecodingSettings,
    pad_id: int,
) -> list[list[int]]:
    """Decode every row of left-padded prompt embeddings (B, L, H) with mask (B, L).

    ``settings`` must be resolved (:meth:`DecodingSettings.resolved`): a budget and an EOS rule.
    Returns the generated ids per row, including the stop token (post-processing removes it). Rows
    that finished keep being fed ``pad_id`` (ignored) until all rows are done or the budget runs out.
    Position ids come from the mask, so a left-padded row sees the same positions as alone.
    """
    from transformers import DynamicCache

    if inputs_embeds.dim() != 3 or attention_mask.shape != inputs_embeds.shape[:2]:
        raise ModelError("generate needs inputs_embeds (B, L, H) and attention_mask (B, L)")
    budget, ban_first_step_eos = settings.max_new_tokens, settings.ban_first_step_eos
    if budget is None or ban_first_step_eos is None:
        raise ModelError(
            "generate needs resolved decoding settings (a max_new_tokens budget and a first-step EOS "
            "rule); use DecodingSettings.resolved(config.generation) or AffectGPTEngine.decoding_settings"
        )
    generator = None
    if settings.mode == "paper":
        generator = torch.Generator().manual_seed(settings.seed)
    batch = inputs_embeds.shape[0]
    device = inputs_embeds.device
    embed = llm.get_input_embeddings()
    mask = attention_mask.long()
    positions = (mask.cumsum(dim=-1) - 1).clamp(min=0)  # (B, L)
    cache = DynamicCache()
    extra = _call_options(llm, cache)
    out = llm(
        inputs_embeds=inputs_embeds, attention_mask=mask, position_ids=positions, use_cache=True, **extra
    )
    next_pos = positions[:, -1:] + 1  # (B, 1)
    eos = torch.tensor(stop.eos_ids, device=device)
    tokens = torch.empty((batch, 0), dtype=torch.long, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    lengths = torch.full((batch,), budget, dtype=torch.long, device=device)
    for step in range(budget):
        logits = out.logits[:, -1, :].float()  # (B, V)
        if step == 0 and ban_first_step_eos:
            logits[:, eos] = float("-inf")  # clean setting: no empty answers (see the module docstring)
        next_ids = _sample(logits, settings, generator)
        next_ids = torch.where(done, torch.full_like(next_ids, pad_id), next_ids)
        tokens = torch.cat([tokens, next_ids[:, None]], dim=1)
        newly = stop.finished(tokens) & ~done
        lengths = torch.where(newly, torch.full_like(lengths, step + 1), lengths)
        done |= newly
        if bool(done.all()):
            break
        mask = torch.cat([mask, torch.ones((batch, 1), dtype=mask.dtype, device=device)], dim=1)
        out = llm(
            inputs_embeds=embed(next_ids[:, None]),
            attention_mask=mask,
            position_ids=next_pos,
            use_cache=True,
            **extra,
        )
        next_pos = next_pos + 1
    return [tokens[row, : int(lengths[row])].tolist() for row in range(batch)]
