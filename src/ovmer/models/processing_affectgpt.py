"""``AffectGPTProcessor``: prompts, tokenisation, image/audio normalisation and response decoding.

It turns decoded media (uint8 images, float32 16 kHz clips) and subtitles into model tensors, and
generated token ids back into the response text, following upstream's ``encoder.py``, ``tokenizer.py``
and ``conversation_video.py`` (docs/model.md, 'Upstream facts the code relies on').
Which tokenizer (fast or upstream's slow one) and what to do with an over-long prompt are the
processor's part of the fidelity setting (``ovmer.models.fidelity``, docs/model.md).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ovmer.errors import ModelError
from ovmer.hub import hub_from_pretrained
from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.fidelity import PromptOverflow, TokenizerKind
from ovmer.models.prompts import (
    AUDIO_TOKEN,
    IMAGE_TOKEN,
    MULTI_TOKEN,
    PLACEHOLDER_TOKENS,
    build_prompt,
    expand_placeholders,
    task_question,
)

TOKENIZER_DIR = "tokenizer"
BOS_TOKEN = "<|im_start|>"
EOS_TOKEN = "<|im_end|>"
#: Variance floor of transformers' Wav2Vec2FeatureExtractor (docs/model.md, 'Backbones and encoders').
_AUDIO_EPS = 1e-7

logger = logging.getLogger(__name__)


@dataclass
class AffectGPTBatch:
    """Model inputs for B samples (prompts left-padded so that generation can run batched).

    input_ids (B, L) int64; attention_mask (B, L) int64; pixel_values (B, T, 3, S, S) float32;
    audio_values (B, K, N) float32.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    pixel_values: torch.Tensor
    audio_values: torch.Tensor

    def to(self, device: torch.device | str) -> AffectGPTBatch:
        return AffectGPTBatch(*(t.to(device) for t in self.tensors()))

    def tensors(self) -> tuple[torch.Tensor, ...]:
        return (self.input_ids, self.attention_mask, self.pixel_values, self.audio_values)


def setup_tokenizer(tokenizer: Any, expected_ids: Sequence[int] | None) -> Any:
    """Prepare a Qwen-style tokenizer as upstream does and check the placeholder ids.

    Upstream: ``my_affectgpt/models/tokenizer.py`` (docs/model.md, 'Tokenizer, prompts and placeholders').

    bos = ``<|im_start|>``, pad = eos = ``<|im_end|>``; the five ``<…Here>`` strings are added as
    special tokens in a fixed order. The embedding matrix is not resized.
    """
    tokenizer.bos_token = BOS_TOKEN
    tokenizer.eos_token = EOS_TOKEN
    tokenizer.pad_token = EOS_TOKEN
    tokenizer.add_tokens(list(PLACEHOLDER_TOKENS), special_tokens=True)
    ids = [tokenizer.convert_tokens_to_ids(t) for t in PLACEHOLDER_TOKENS]
    if expected_ids is not None and list(expected_ids) != ids:
        raise ModelError(
            f"the tokenizer gives placeholder ids {ids} for {list(PLACEHOLDER_TOKENS)}, but the model "
            f"expects {list(expected_ids)}; use the tokenizer of the model's base LLM at its pinned revision"
        )
    if ids != list(range(ids[0], ids[0] + 5)):
        raise ModelError(
            f"placeholder ids {ids} are not consecutive; the tokenizer is not set up as upstream"
        )
    return tokenizer


def normalize_audio(clips: np.ndarray, mode: str) -> np.ndarray:
    """Zero-mean unit-variance HuBERT input, float32 (docs/model.md, 'Backbones and encoders').

    ``clips`` is (B, K, N). ``per_sample``: one mean/variance per sample over its K clips (upstream
    inference, batch 1); ``joint_batch``: one over everything (upstream training batches);
    ``per_clip``: each clip alone (clean mode).
    """
    x = clips.astype(np.float32, copy=False)
    if mode == "joint_batch":
        axes: tuple[int, ...] = (0, 1, 2)
    elif mode == "per_sample":
        axes = (1, 2)
    elif mode == "per_clip":
        axes = (2,)
    else:
        raise ModelError(f"unknown audio_normalization {mode!r}")
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return ((x - mean) / np.sqrt(var + _AUDIO_EPS)).astype(np.float32)


class AffectGPTProcessor:
    """Prompts + tokenizer + image/audio preprocessing for one AffectGPT config.

    ``prompt_overflow``: a prompt longer than ``config.generation.max_prompt_tokens`` is an error
    (``"error"``, clean) or cut to its last tokens as upstream does, with a logged warning
    (``"keep_last"``, paper).
    """

    def __init__(
        self, tokenizer: Any, config: AffectGPTConfig, prompt_overflow: PromptOverflow = "error"
    ) -> None:
        if prompt_overflow not in ("error", "keep_last"):
            raise ModelError(f"prompt_overflow must be 'error' or 'keep_last', not {prompt_overflow!r}")
        self.tokenizer = tokenizer
        self.config = config
        self.prompt_overflow: PromptOverflow = prompt_overflow
        self.placeholder_ids = dict(
            zip(
                PLACEHOLDER_TOKENS,
                (tokenizer.convert_tokens_to_ids(t) for t in PLACEHOLDER_TOKENS),
                strict=True,
            )
        )
        # Stop rule (docs/model.md, 'Inference prompt and answer clean-up'): `###` is the first id of
        # "###"; `##`, `#` the second ids of "a##", "a#".
        self.eos_ids = [tokenizer.convert_tokens_to_ids(EOS_TOKEN)]
        if config.eos_token_ids:
            self.eos_ids = list(dict.fromkeys([*config.eos_token_ids]))
        self.hash3_id = self._encode("###")[0]
        self.hash2_id = self._encode("a##")[1]
        self.hash1_id = self._encode("a#")[1]
        self.pad_id = int(tokenizer.pad_token_id)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls,
        folder: str | Path | None,
        config: AffectGPTConfig,
        *,
        tokenizer_kind: TokenizerKind = "fast",
        prompt_overflow: PromptOverflow = "error",
    ) -> AffectGPTProcessor:
        """Tokenizer from ``<folder>/tokenizer`` if present, else the base LLM's at its pinned revision.

        ``tokenizer_kind="slow"``: upstream's pure-Python BPE (``use_fast=False``), rebuilt from the
        fast tokenizer's files (:mod:`ovmer.models.slow_tokenizer`; transformers 5 has no slow one).
        """
        from transformers import AutoTokenizer

        local = Path(folder) / TOKENIZER_DIR if folder is not None else None
        tokenizer: Any
        if local is not None and local.is_dir():
            tokenizer = AutoTokenizer.from_pretrained(str(local))
        else:
            try:
                tokenizer = hub_from_pretrained(AutoTokenizer, config.llm_id, config.llm_revision)
            except OSError as exc:
                raise ModelError(f"cannot load the tokenizer of {config.llm_id}: {exc}") from exc
        if tokenizer_kind == "slow":
            from ovmer.models.slow_tokenizer import slow_tokenizer_from_fast

            tokenizer = slow_tokenizer_from_fast(tokenizer)
        elif tokenizer_kind != "fast":
            raise ModelError(f"tokenizer_kind must be 'fast' or 'slow', not {tokenizer_kind!r}")
        return cls(setup_tokenizer(tokenizer, config.placeholder_token_ids), config, prompt_overflow)

    def save_pretrained(self, folder: str | Path) -> None:
        """Write the tokenizer (with its placeholder tokens) to ``<folder>/tokenizer``."""
        self.tokenizer.save_pretrained(str(Path(folder) / TOKENIZER_DIR))

    # ------------------------------------------------------------------ text
    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt(self, subtitle: str | None, task: str = "ovlabels") -> str:
        """The model's prompt for one sample with placeholders expanded.

        See docs/model.md, 'Tokenizer, prompts and placeholders'.
        """
        budgets = {
            self.config.visual_placeholder: self.config.num_visual_tokens,
            AUDIO_TOKEN: self.config.num_audio_tokens,
            MULTI_TOKEN: self.config.num_multi_tokens,
            IMAGE_TOKEN: self.config.num_image_tokens,
        }
        raw = build_prompt(self.config.prompt_mode, subtitle, task_question(task))
        return expand_placeholders(raw, budgets)

    def tokenize_prompt(self, prompt: str) -> list[int]:
        """Ids of an inference prompt: no special tokens, no leading ``<|im_start|>``.

        See docs/model.md, 'Inference prompt and answer clean-up'.

        Upstream (``conversation/conversation_video.py``) silently keeps only the last 800 tokens.
        ovmer refuses such a prompt (``prompt_overflow="error"``) or, in the paper setting, makes the
        same cut and logs a warning naming both lengths. A cut that reaches the media placeholders
        at the prompt's start is an error in both: upstream's placeholder check fails on it too.
        (Upstream also cuts at ``max_length`` 2000 from the right first; a prompt that long always
        loses its placeholders, so that cut never changes a result.)
        """
        ids = self._encode(prompt)
        limit = self.config.generation.max_prompt_tokens
        if len(ids) <= limit:
            return ids
        if self.prompt_overflow == "error":
            raise ModelError(
                f"the prompt has {len(ids)} tokens, more than the {limit} that AffectGPT keeps "
                "(upstream silently cuts its beginning); shorten the subtitle, or use the paper "
                "fidelity setting to reproduce the cut"
            )
        kept = ids[-limit:]
        placeholders = set(self.placeholder_ids.values())
        lost = sum(i in placeholders for i in ids) - sum(i in placeholders for i in kept)
        if lost:
            # Upstream's splice then fails its placeholder count check for this sample.
            raise ModelError(
                f"the prompt has {len(ids)} tokens; keeping its last {limit}, as upstream does, cuts "
                f"off {lost} media placeholder(s), which upstream's placeholder check refuses too; "
                "shorten the subtitle"
            )
        logger.warning("the prompt has %d tokens; as upstream, only its last %d are kept", len(ids), limit)
        return kept

    # ------------------------------------------------------------------ media
    def pixel_values(self, visual: Sequence[np.ndarray], is_face: bool) -> torch.Tensor:
        """uint8 images (T, S, S, 3) per sample -> normalised float32 (B, T, 3, S, S).

        Channel order is kept as given: faces arrive BGR (fidelity; docs/media.md, 'Faces') unless the
        config asks for RGB faces (clean mode). CLIP's OpenAI mean/std are applied per channel position.
        """
        size = self.config.image_size
        batch = np.stack([np.asarray(v) for v in visual])  # (B, T, S, S, 3)
        if batch.dtype != np.uint8 or batch.shape[2:] != (size, size, 3):
            raise ModelError(
                f"visual input must be uint8 (T, {size}, {size}, 3); got {batch.dtype} {batch.shape}"
            )
        if is_face and self.config.face_channel_order == "rgb":
            batch = batch[..., ::-1]
        x = torch.from_numpy(np.ascontiguousarray(batch)).float().div_(255.0)
        mean = torch.tensor(self.config.image_mean).view(1, 1, 1, 1, 3)
        std = torch.tensor(self.config.image_std).view(1, 1, 1, 1, 3)
        return ((x - mean) / std).permute(0, 1, 4, 2, 3).contiguous()  # (B, T, 3, S, S)

    def audio_values(self, clips: Sequence[np.ndarray]) -> torch.Tensor:
        """(K, N) float32 16 kHz clips per sample -> normalised (B, K, N).

        See docs/model.md, 'Backbones and encoders'.
        """
        batch = np.stack([np.asarray(c, dtype=np.float32) for c in clips])  # (B, K, N)
        expected = (self.config.num_audio_clips, self.config.audio_clip_samples)
        if batch.shape[1:] != expected:
            raise ModelError(f"audio input must be {expected} clips per sample; got {batch.shape[1:]}")
        return torch.from_numpy(normalize_audio(batch, self.config.audio_normalization))

    def __call__(
        self,
        prompts: Sequence[str],
        visual: Sequence[np.ndarray],
        audio: Sequence[np.ndarray],
    ) -> AffectGPTBatch:
        """Build a left-padded batch. Left padding keeps every prompt's end at the same position."""
        if not (len(prompts) == len(visual) == len(audio)):
            raise ModelError("prompts, visual and audio inputs must have the same batch size")
        ids = [self.tokenize_prompt(p) for p in prompts]
        width = max(len(x) for x in ids)
        input_ids = torch.full((len(ids), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(ids), width), dtype=torch.long)
        for row, seq in enumerate(ids):
            input_ids[row, width - len(seq) :] = torch.tensor(seq, dtype=torch.long)
            attention_mask[row, width - len(seq) :] = 1
        return AffectGPTBatch(
            input_ids=input_ids,
            attention_mask=attention_mask,
            pixel_values=self.pixel_values(visual, is_face=self.config.visual_input == "face"),
            audio_values=self.audio_values(audio),
        )

    # ------------------------------------------------------------------ output
    def decode_response(self, token_ids: Sequence[int]) -> str:
        """Generated ids -> response text with upstream's post-processing.

        See docs/model.md, 'Inference prompt and answer clean-up'.
        """
        text = self.tokenizer.decode(list(token_ids), skip_special_tokens=False)
        return clean_response(text)


def clean_response(text: str) -> str:
    """Upstream's answer clean-up: im_start/im_end cuts, drop from the last ``###``, after ``Assistant:``."""
    if BOS_TOKEN in text:
        parts = text.split(BOS_TOKEN)
        text = parts[1]
    if EOS_TOKEN in text:
        text = text.split(EOS_TOKEN)[0]
    if "###" in text:
        text = text[: text.rfind("###")]
    text = text.split("Assistant:")[-1]
    return text.strip()
