"""AffectGPT's LLM stage under vLLM, from prompt embeddings (``affectgpt:…?generation=vllm``).

AffectGPT's multimodal prompt is already a sequence of embeddings (encoders, heads and splice:
:meth:`ovmer.inference.engine.AffectGPTEngine.prompt_embeddings`); only the LLM stage —
:func:`ovmer.models.generation.generate`, (embeddings, mask) → token ids — changes here. vLLM
(≥ 0.10, ``enable_prompt_embeds=True``) takes one ``(L_i, H)`` tensor per prompt, so each row is cut
out of the left-padded batch by its mask.

vLLM loads a plain Hugging Face LLM folder, so the model's LLM with LoRA folded in is exported once
(:func:`export_llm`: ``config.json``, safetensors, tokenizer, and ``ovmer_export.json`` naming the
source, so a later run reuses it only for the same model).

The stop rule in vLLM terms (:func:`sampling_params`): EOS ids and ``###`` are stop tokens; the
split ``##`` + ``#`` (or ``#`` + ``##``) pair cannot be said to vLLM, so the returned ids are cut at
the first place :class:`~ovmer.models.generation.StopRule` ends a row (:func:`truncate_at_stop`).
Under greedy decoding the tokens before a stop do not depend on what follows, so the answers equal
the transformers path's; a row whose pair stop vLLM missed only costs extra tokens. Differences,
stated: the clean setting's first-step ban becomes ``min_tokens=1``, which bans ``###`` at the first
step as well as EOS (the transformers path bans EOS only); sampled decoding (``decoding=paper``)
draws from vLLM's generator, so sampled answers differ from the transformers path's while keeping
the same settings and seed.

The engine is a seam (:class:`EmbedsEngine`); :class:`VLLMEmbedsEngine` is the real one (vLLM is
installed by the user on a CUDA machine). Request building, export and truncation are tested on a CPU
against the transformers path (tests/inference/test_vllm_generation.py).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from ovmer.errors import ModelError
from ovmer.inference.engine import AffectGPTEngine
from ovmer.models.generation import DecodingSettings, StopRule

EXPORT_MARKER = "ovmer_export.json"

#: (inputs_embeds (B, L, H), attention_mask (B, L), stop, resolved decoding, pad id) → ids per row.
GenerateFn = Callable[[torch.Tensor, torch.Tensor, StopRule, DecodingSettings, int], list[list[int]]]


class EmbedsEngine(Protocol):
    """One batched call: B prompt embeddings ``(L_i, H)`` and B sampling dicts (the keywords of
    ``vllm.SamplingParams``) → B lists of generated token ids (the stop token included)."""

    def generate(
        self, prompt_embeds: list[torch.Tensor], params: list[dict[str, Any]]
    ) -> list[list[int]]: ...


def sampling_params(decoding: DecodingSettings, stop: StopRule) -> dict[str, Any]:
    """The ``vllm.SamplingParams`` keywords of resolved ``decoding`` with AffectGPT's ``stop``."""
    if decoding.max_new_tokens is None or decoding.ban_first_step_eos is None:
        raise ModelError(
            "vLLM generation needs resolved decoding settings (AffectGPTEngine.decoding_settings)"
        )
    params: dict[str, Any] = {
        "max_tokens": decoding.max_new_tokens,
        "stop_token_ids": sorted({*stop.eos_ids, stop.hash3_id}),
        "min_tokens": 1 if decoding.ban_first_step_eos else 0,
        "detokenize": False,  # the processor decodes (decode_response), as on the transformers path
    }
    if decoding.mode == "greedy":
        params.update(temperature=0.0)
    else:
        params.update(
            temperature=decoding.temperature, top_p=decoding.top_p, top_k=decoding.top_k, seed=decoding.seed
        )
    return params


def truncate_at_stop(ids: list[int], stop: StopRule) -> list[int]:
    """``ids`` up to and including the first token where ``stop`` ends the row (all of them if none)."""
    if not ids:
        return ids
    tokens = torch.tensor([ids])
    for end in range(1, len(ids) + 1):
        if bool(stop.finished(tokens[:, :end])[0]):
            return ids[:end]
    return ids


def rows_of(inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> list[torch.Tensor]:
    """Left-padded (B, L, H) + mask (B, L) → B tensors (L_i, H) of the real positions only."""
    return [row[mask.bool()] for row, mask in zip(inputs_embeds, attention_mask, strict=True)]


def vllm_generate_fn(engine: EmbedsEngine) -> GenerateFn:
    """A drop-in for :func:`ovmer.models.generation.generate` (bound to the model) that asks ``engine``."""

    def generate(
        inputs_embeds: torch.Tensor,
        attention_mask: torch.Tensor,
        stop: StopRule,
        decoding: DecodingSettings,
        pad_id: int,
    ) -> list[list[int]]:
        params = sampling_params(decoding, stop)
        rows = rows_of(inputs_embeds, attention_mask)
        outputs = engine.generate(rows, [params] * len(rows))
        return [truncate_at_stop(list(ids), stop) for ids in outputs]

    return generate


@dataclass(frozen=True)
class VLLMGenerationOptions:
    """vLLM engine settings (speed and memory; they do not change greedy answers)."""

    gpu_memory_utilization: float = 0.6  # AffectGPT's encoders share the GPU
    tensor_parallel_size: int = 1
    max_model_len: int = 4096
    dtype: str = "auto"


def export_llm(model: Any, tokenizer: Any, folder: Path, source: str) -> Path:
    """Write ``model.llm`` with LoRA folded in as a plain HF folder (atomically: built beside, renamed).

    An existing export of the same ``source`` is reused; another source's is an error (pick another
    folder). Returns ``folder``.
    """
    marker = folder / EXPORT_MARKER
    if marker.is_file():
        recorded = json.loads(marker.read_text(encoding="utf-8")).get("source")
        if recorded == source:
            return folder
        raise ModelError(
            f"{folder}: holds the LLM exported from {recorded!r}, not {source!r}; choose another folder"
        )
    if folder.exists() and any(folder.iterdir()):
        raise ModelError(f"{folder}: exists and is not an ovmer LLM export; choose an empty or new folder")
    model.merge_lora()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        model.llm.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / EXPORT_MARKER).write_text(json.dumps({"source": source}), encoding="utf-8")
        if folder.exists():
            folder.rmdir()
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


class VLLMEmbedsEngine:
    """``vllm.LLM(enable_prompt_embeds=True)`` behind :class:`EmbedsEngine` (vLLM imported here only)."""

    def __init__(self, folder: Path, options: VLLMGenerationOptions) -> None:
        try:
            import vllm
        except ImportError as exc:
            raise ModelError(
                "generation=vllm needs vLLM (>= 0.10, prompt embeddings) on a CUDA machine: pip install vllm"
            ) from exc
        self._params_type = vllm.SamplingParams
        self._llm = vllm.LLM(
            model=str(folder),
            enable_prompt_embeds=True,
            gpu_memory_utilization=options.gpu_memory_utilization,
            tensor_parallel_size=options.tensor_parallel_size,
            max_model_len=options.max_model_len,
            dtype=options.dtype,
            seed=0,
        )

    def generate(self, prompt_embeds: list[torch.Tensor], params: list[dict[str, Any]]) -> list[list[int]]:
        prompts = [{"prompt_embeds": e} for e in prompt_embeds]
        requests = [self._params_type(**p) for p in params]
        outputs = self._llm.generate(prompts, requests, use_tqdm=False)
        return [list(output.outputs[0].token_ids) for output in outputs]


def default_export_folder(source: str) -> Path:
    """``<ovmer cache>/vllm-llm/<hash of source>``: one export per model source."""
    import hashlib

    from ovmer.paths import cache_dir

    return cache_dir() / "vllm-llm" / hashlib.blake2b(source.encode(), digest_size=8).hexdigest()


def use_vllm(
    engine: AffectGPTEngine,
    folder: Path | None = None,
    options: VLLMGenerationOptions | None = None,
    embeds_engine: EmbedsEngine | None = None,
) -> Path:
    """Switch ``engine``'s LLM stage to vLLM: export its LLM (once per source) into ``folder`` and load
    it in :class:`VLLMEmbedsEngine`, or use ``embeds_engine`` (tests, a custom engine). Returns the folder."""
    folder = folder or default_export_folder(engine.source)
    export_llm(engine.model, engine.processor.tokenizer, folder, engine.source)
    chosen = (
        embeds_engine
        if embeds_engine is not None
        else VLLMEmbedsEngine(folder, options or VLLMGenerationOptions())
    )
    engine.llm_generate = vllm_generate_fn(chosen)
    engine.generation = "vllm"
    return folder
