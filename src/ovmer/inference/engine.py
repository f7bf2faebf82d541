"""The AffectGPT inference engine: decoded media + subtitles -> responses, in batches.

Two stages, kept apart on purpose: :meth:`AffectGPTEngine.prompt_embeddings` (encoders, heads,
splice) and :func:`ovmer.models.generation.generate` (the LLM from prompt embeddings). A vLLM
backend that accepts prompt embeddings can replace the second stage without touching the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ovmer.media.inputs import ModelInputs
from ovmer.models.fidelity import Fidelity
from ovmer.models.generation import DecodingSettings, StopRule, generate
from ovmer.models.loading import LoadedModel


@dataclass
class Response:
    """One generated answer: cleaned text and the raw generated ids (stop token included)."""

    text: str
    token_ids: list[int]


class AffectGPTEngine:
    """Runs a loaded AffectGPT model on batches of samples."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.model = loaded.model
        self.processor = loaded.processor
        self.source = loaded.source
        #: The fidelity setting the model was loaded with (ovmer.models.fidelity): its decoding and
        #: first-step EOS rule are this engine's defaults; its ``strict_inputs`` is for media loaders.
        self.fidelity: Fidelity = loaded.fidelity
        p = self.processor
        self.stop = StopRule(tuple(p.eos_ids), p.hash3_id, p.hash2_id, p.hash1_id)
        self.generation = "transformers"  # or "vllm": recorded in answer identities
        #: The LLM stage, (embeds (B, L, H), mask (B, L), stop, decoding, pad id) → ids per row; None is
        #: :func:`ovmer.models.generation.generate` on ``model.llm``. ``generation=vllm`` replaces it
        #: (:func:`ovmer.inference.vllm_generation.use_vllm`).
        self.llm_generate: (
            Callable[[torch.Tensor, torch.Tensor, StopRule, DecodingSettings, int], list[list[int]]] | None
        ) = None

    @torch.no_grad()
    def prompt_embeddings(
        self, inputs: Sequence[ModelInputs], subtitles: Sequence[str | None], task: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded prompt embeddings (B, L, H) and their attention mask (B, L)."""
        prompts = [self.processor.prompt(s, task) for s in subtitles]
        kind = self.model.config.visual_input
        batch = self.processor(prompts, [x.visual(kind) for x in inputs], [x.audio for x in inputs])
        batch = batch.to(self.model.device)
        embeds = self.model.build_inputs_embeds(batch.input_ids, batch.pixel_values, batch.audio_values)
        llm_dtype: torch.dtype = self.model.llm.dtype
        return embeds.to(llm_dtype), batch.attention_mask

    def respond(
        self,
        inputs: Sequence[ModelInputs],
        subtitles: Sequence[str | None],
        task: str = "ovlabels",
        decoding: DecodingSettings | None = None,
    ) -> list[Response]:
        """Generate one response per sample (batched; greedy results equal batch-1 results).

        ``decoding`` is completed by :meth:`decoding_settings` (``None``: the fidelity's defaults).
        """
        decoding = self.decoding_settings(decoding)
        embeds, mask = self.prompt_embeddings(inputs, subtitles, task)
        if self.llm_generate is not None:
            ids = self.llm_generate(embeds, mask, self.stop, decoding, self.processor.pad_id)
        else:
            ids = generate(self.model.llm, embeds, mask, self.stop, decoding, pad_id=self.processor.pad_id)
        return [Response(self.processor.decode_response(x), x) for x in ids]

    def decoding_settings(self, decoding: DecodingSettings | None = None) -> DecodingSettings:
        """The settings :meth:`respond` decodes with, complete: what ``decoding`` leaves open
        (``None`` fields) comes from the engine: the budget from the model config
        (``config.generation.max_new_tokens``), the first-step EOS rule from the fidelity setting;
        ``decoding=None`` is the fidelity's own decoding (clean: greedy, paper: sampling).

        Record ``engine.decoding_settings(decoding).describe()`` to say what a run used.
        """
        if decoding is None:
            decoding = self.fidelity.decoding_settings()
        return decoding.resolved(self.model.config.generation, self.fidelity.ban_first_step_eos)


def load_engine(
    model: str,
    config: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    fidelity: str | Fidelity | None = None,
) -> AffectGPTEngine:
    """Load a model (folder, official ``.pth`` + ``config``, or HF id) into an engine.

    ``device="auto"`` picks CUDA when available; ``dtype="auto"`` is fp16 on CUDA (the paper's LLM
    precision) and fp32 on CPU (fp16 matmuls are slow or missing there). ``fidelity``: ``"clean"``
    (default), ``"paper"`` or a :class:`~ovmer.models.fidelity.Fidelity` (docs/model.md).
    """
    from ovmer.models.loading import load_model

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        dtype = "fp16" if device.startswith("cuda") else "fp32"
    if model.startswith(RANDOM_PREFIX):
        return random_engine(model.removeprefix(RANDOM_PREFIX), device, dtype, fidelity)
    return AffectGPTEngine(load_model(model, config=config, device=device, dtype=dtype, fidelity=fidelity))


#: ``random:<config name or folder>``: the architecture with random weights, for timing runs only.
RANDOM_PREFIX = "random:"


def random_engine(
    config: str,
    device: str,
    dtype: str,
    fidelity: str | Fidelity | None = None,
    llm_layers: int | None = None,
) -> AffectGPTEngine:
    """An engine on ``config``'s architecture (``affectgpt-face``, a config folder) with random weights
    built on ``device`` (:mod:`ovmer.models.random_weights`): full-size speed and memory runs, e.g.
    ``ovmer bench --model affectgpt:random:affectgpt-frame?device=cuda`` (benchmarks/unibench_pass.py).
    Its answers mean nothing; its identity says ``random:``. ``llm_layers`` keeps the first N decoder
    layers (a full-width smoke run of the path on a CPU)."""
    from ovmer.models.configuration_affectgpt import AffectGPTConfig
    from ovmer.models.fidelity import get_fidelity
    from ovmer.models.loading import DTYPES
    from ovmer.models.processing_affectgpt import AffectGPTProcessor
    from ovmer.models.random_weights import random_weight_model

    torch_dtype = DTYPES[dtype]
    settings = AffectGPTConfig.from_pretrained(config)
    model, tokenizer = random_weight_model(settings, device, torch_dtype, llm_layers=llm_layers)
    model.eval()
    model.merge_lora()
    model.autocast_dtype = torch_dtype if torch.device(device).type == "cuda" else None
    processor = AffectGPTProcessor(tokenizer, settings)
    return AffectGPTEngine(LoadedModel(model, processor, f"{RANDOM_PREFIX}{config}", get_fidelity(fidelity)))
