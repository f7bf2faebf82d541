"""AffectGPT: frozen CLIP + HuBERT encoders, fusion heads, and Qwen2.5 with LoRA (spec affectgpt-model).

Read top to bottom:

    pixel_values (B, T, 3, 224, 224) --CLIP image features--> F (B, T, Dv)
    audio_values (B, K, 32000)       --HuBERT, mean last 4 layers, mean time--> A (B, K, Da)
    F, A --heads--> visual (B, 1, H), audio (B, 1, H), multi (B, 1, H) soft tokens
    input_ids with <FaceHere>/<FrameHere>, <AudioHere>, <MultiHere> --embed, splice--> (B, L, H)
    --Qwen2.5 + LoRA--> logits

Loading and saving live in :mod:`ovmer.models.loading`; the official checkpoint key map in
:mod:`ovmer.models.checkpoint`; decoding in :mod:`ovmer.models.generation`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from ovmer.errors import ModelError
from ovmer.models.configuration_affectgpt import AffectGPTConfig
from ovmer.models.heads import AffectGPTHeads
from ovmer.models.prompts import (
    AUDIO_TOKEN,
    FACE_TOKEN,
    FRAME_TOKEN,
    IMAGE_TOKEN,
    MULTI_TOKEN,
    PLACEHOLDER_TOKENS,
)

#: Splice order of upstream ``conversation_video.py`` (docs/model.md, 'Tokenizer, prompts and placeholders').
_SPLICE_ORDER = (FRAME_TOKEN, FACE_TOKEN, AUDIO_TOKEN, MULTI_TOKEN, IMAGE_TOKEN)


def lora_target_modules(config: AffectGPTConfig) -> list[str]:
    """Explicit LoRA target names ``model.layers.{i}.<type>`` for every layer.

    See docs/model.md, 'LoRA, freezing and precision'.
    """
    layers = int(config.text_config["num_hidden_layers"])
    return [f"model.layers.{i}.{t}" for i in range(layers) for t in config.lora.target_types]


def build_llm(config: AffectGPTConfig, base: nn.Module | None = None) -> nn.Module:
    """Qwen2 causal LM (random weights unless ``base`` is given) wrapped with upstream's LoRA.

    See docs/model.md, 'LoRA, freezing and precision'.
    """
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM

    if base is None:
        base = Qwen2ForCausalLM(Qwen2Config(**config.text_config))
    for param in base.parameters():
        param.requires_grad_(False)
    lora = LoraConfig(
        task_type="CAUSAL_LM",
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        bias="none",
        inference_mode=False,
        target_modules=lora_target_modules(config),
    )
    # peft keeps adapters in fp32 over an fp16/bf16 base (autocast_adapter_dtype), as upstream.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # deprecation noise from peft internals
        return get_peft_model(base, lora)


def build_vision(config: AffectGPTConfig) -> nn.Module:
    """CLIP vision tower + ``visual_projection`` with random weights (only what AffectGPT uses).

    See docs/model.md, 'Backbones and encoders'.
    """
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    return CLIPVisionModelWithProjection(CLIPVisionConfig(**config.vision_config))


def build_audio(config: AffectGPTConfig) -> nn.Module:
    """HuBERT with random weights."""
    from transformers import HubertConfig, HubertModel

    return HubertModel(HubertConfig(**config.audio_config))


class AffectGPTModel(nn.Module):
    """The whole AffectGPT model. Backbones default to random weights built from ``config``.

    Encoders are frozen and put in eval mode here; inference code calls ``model.eval()``. Only the
    LoRA adapters and the heads are trainable (57,168,644 parameters at full size; docs/model.md,
    'Checkpoint files').
    """

    def __init__(
        self,
        config: AffectGPTConfig,
        *,
        llm_base: nn.Module | None = None,
        vision: nn.Module | None = None,
        audio: nn.Module | None = None,
    ) -> None:
        super().__init__()
        config.validate()
        if config.placeholder_token_ids is None or len(config.placeholder_token_ids) != 5:
            raise ModelError(
                f"config {config.name!r} needs placeholder_token_ids: the five ids of {PLACEHOLDER_TOKENS}"
            )
        self.config = config
        self.vision = vision if vision is not None else build_vision(config)
        self.audio = audio if audio is not None else build_audio(config)
        for encoder in (self.vision, self.audio):
            encoder.requires_grad_(False)
            encoder.eval()
        self.llm: Any = build_llm(config, llm_base)
        self.heads = AffectGPTHeads(
            config.vision_embed_dim,
            config.audio_hidden_size,
            config.llm_hidden_size,
            config.num_visual_tokens,
            config.num_audio_tokens,
            config.num_multi_tokens,
        )
        self.placeholder_ids = dict(zip(PLACEHOLDER_TOKENS, config.placeholder_token_ids, strict=True))
        self.lora_merged = False
        #: Autocast dtype for encoders and heads (fp16 on CUDA in fidelity mode, as upstream); None: none.
        self.autocast_dtype: torch.dtype | None = None

    # ------------------------------------------------------------------ encoders
    @property
    def device(self) -> torch.device:
        return self.heads.fc_att.weight.device

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def encode_visual(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """CLIP projected image embeddings, not L2-normalised: (B, T, 3, S, S) -> (B, T, Dv)."""
        b, t = pixel_values.shape[:2]
        with self._autocast():
            out = self.vision(pixel_values=pixel_values.flatten(0, 1))  # (B*T, 3, S, S)
        return out.image_embeds.view(b, t, -1)  # (B, T, Dv)

    def _hubert_layers(self) -> nn.ModuleList:
        layers = getattr(self.audio.encoder, "layers", None)
        if not isinstance(layers, nn.ModuleList):
            raise ModelError("the audio encoder has no encoder.layers; AffectGPT expects a HuBERT model")
        return layers

    def encode_audio(self, audio_values: torch.Tensor) -> torch.Tensor:
        """HuBERT clip embeddings: (B, K, N) normalised waveforms -> (B, K, Da).

        Upstream (transformers 4.49) averages the last four ``hidden_states``: the outputs of layers
        21–23 *before* the encoder's final LayerNorm and the final output *after* it; then it takes
        the mean over time (docs/model.md, 'Backbones and encoders'). transformers 5 reports
        ``hidden_states`` differently (its last entry is not normalised), so the layer outputs are
        captured with hooks instead, which gives the upstream features on every version. With
        training-mode LayerDrop (fidelity training; docs/model.md, 'LoRA, freezing and precision') a
        skipped layer's entry is its input, as in upstream's ``hidden_states``.
        """
        b, k = audio_values.shape[:2]
        n = self.config.hubert_layers_averaged
        layers = self._hubert_layers()
        first = len(layers) - n  # index of the first layer whose output is averaged
        # Running hidden state: the encoder input (its dropout's output), then each executed layer's
        # output. A layer skipped by LayerDrop is never called, so its entry stays its input.
        below: list[torch.Tensor] = []
        outputs: dict[int, torch.Tensor] = {}

        def keep_input(_module: nn.Module, _inputs: Any, output: Any) -> None:
            below[:] = [output]

        def keeper(index: int) -> Any:
            def keep(_module: nn.Module, _inputs: Any, output: Any) -> None:
                value = output[0] if isinstance(output, tuple) else output
                if index < first:
                    below[:] = [value]
                else:
                    outputs[index] = value

            return keep

        hooks = [layer.register_forward_hook(keeper(i)) for i, layer in enumerate(layers[:-1])]
        encoder_dropout = getattr(self.audio.encoder, "dropout", None)
        if isinstance(encoder_dropout, nn.Module):
            hooks.append(encoder_dropout.register_forward_hook(keep_input))
        try:
            with self._autocast():
                out = self.audio(audio_values.flatten(0, 1))  # (B*K, N)
        finally:
            for hook in hooks:
                hook.remove()
        captured: list[torch.Tensor] = []
        state = below[0] if below else None
        for index in range(first, len(layers) - 1):
            state = outputs.get(index, state)
            if state is None:
                raise ModelError("could not capture the HuBERT layer outputs (unexpected encoder layout)")
            captured.append(state)
        hidden = torch.stack([*captured, out.last_hidden_state]).mean(dim=0)  # (B*K, frames, Da)
        return hidden.mean(dim=1).view(b, k, -1)  # (B, K, Da)

    def modality_tokens(
        self,
        pixel_values: torch.Tensor | None,
        audio_values: torch.Tensor | None,
        need_multi: bool = True,
        *,
        visual_features: torch.Tensor | None = None,
        audio_features: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Soft tokens per placeholder string, each (B, n, H).

        ``visual_features`` (B, T, Dv) / ``audio_features`` (B, K, Da) are precomputed encoder outputs
        (the training feature cache); when given, the matching encoder is not run.
        """
        visual = visual_features if visual_features is not None else self.encode_visual(_need(pixel_values))
        audio = audio_features if audio_features is not None else self.encode_audio(_need(audio_values))
        with self._autocast():
            tokens = {
                self.config.visual_placeholder: self.heads.visual_tokens(visual),
                AUDIO_TOKEN: self.heads.audio_tokens(audio),
            }
            if need_multi:
                tokens[MULTI_TOKEN] = self.heads.multi_tokens(visual, audio)
        return tokens

    # ------------------------------------------------------------------ splice
    def input_embeddings(self) -> nn.Module:
        return self.llm.get_input_embeddings()

    def build_inputs_embeds(
        self,
        input_ids: torch.Tensor,
        pixel_values: torch.Tensor | None,
        audio_values: torch.Tensor | None,
        *,
        visual_features: torch.Tensor | None = None,
        audio_features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Embed ``input_ids`` (B, L) and overwrite placeholder positions with soft tokens -> (B, L, H).

        Placeholder ids are replaced by 0 before the lookup (docs/model.md, 'Tokenizer, prompts and
        placeholders'): with the real tokenizer they lie beyond the trained rows of the embedding table.
        """
        placeholder_ids = torch.tensor(list(self.placeholder_ids.values()), device=input_ids.device)
        need_multi = bool((input_ids == self.placeholder_ids[MULTI_TOKEN]).any())
        tokens = self.modality_tokens(
            pixel_values,
            audio_values,
            need_multi=need_multi,
            visual_features=visual_features,
            audio_features=audio_features,
        )
        safe_ids = torch.where(torch.isin(input_ids, placeholder_ids), 0, input_ids)
        embeds = self.input_embeddings()(safe_ids)  # (B, L, H)
        for placeholder in _SPLICE_ORDER:
            mask = input_ids == self.placeholder_ids[placeholder]  # (B, L)
            if not mask.any():
                continue
            if placeholder not in tokens:
                raise ModelError(
                    f"Some input info is missing: the prompt contains {placeholder} but the "
                    f"{self.config.visual_input} model has no input for it"
                )
            soft = tokens[placeholder]  # (B, n, H)
            _check_placeholder_run(mask, soft.shape[1], placeholder)
            embeds = embeds.masked_scatter(mask.unsqueeze(-1), soft.to(embeds.dtype))
        return embeds

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        pixel_values: torch.Tensor | None,
        audio_values: torch.Tensor | None,
        labels: torch.Tensor | None = None,
        *,
        visual_features: torch.Tensor | None = None,
        audio_features: torch.Tensor | None = None,
    ) -> Any:
        """Run the LLM on the spliced sequence; returns the LLM output (``.loss`` when labels are given).

        Either the media tensors or the cached encoder features (``*_features``) must be given.
        """
        embeds = self.build_inputs_embeds(
            input_ids,
            pixel_values,
            audio_values,
            visual_features=visual_features,
            audio_features=audio_features,
        )
        return self.llm(inputs_embeds=embeds, attention_mask=attention_mask, labels=labels)

    # ------------------------------------------------------------------ parameters
    def merge_lora(self) -> None:
        """Fold LoRA into the base weights (W += 2.0 · B @ A) for faster inference; irreversible."""
        if not self.lora_merged:
            self.llm = self.llm.merge_and_unload()
            self.lora_merged = True

    def trainable_named_parameters(self) -> Iterator[tuple[str, nn.Parameter]]:
        """The LoRA and head parameters (the 412 tensors of an official checkpoint)."""
        for name, param in self.named_parameters():
            if param.requires_grad:
                yield name, param

    def parameter_summary(self) -> dict[str, Any]:
        """Trainable and total counts, overall and per part (``ovmer model summary``)."""
        by_module: dict[str, dict[str, int]] = {}

        def add(part: str, param: nn.Parameter) -> None:
            entry = by_module.setdefault(part, {"total": 0, "trainable": 0})
            entry["total"] += param.numel()
            if param.requires_grad:
                entry["trainable"] += param.numel()

        for name, param in self.named_parameters():
            if name.startswith("llm."):
                add("lora" if "lora_" in name else "llm", param)
            elif name.startswith("heads."):
                add(f"heads.{name.split('.')[1]}", param)
            else:
                add(name.split(".")[0], param)
        trainable = sum(v["trainable"] for v in by_module.values())
        total = sum(v["total"] for v in by_module.values())
        heads = sum(v["total"] for k, v in by_module.items() if k.startswith("heads."))
        return {"trainable": trainable, "total": total, "heads": heads, "by_module": by_module}


def _need(values: torch.Tensor | None) -> torch.Tensor:
    if values is None:
        raise ModelError("give either the media tensors or the cached encoder features for every modality")
    return values


def _check_placeholder_run(mask: torch.Tensor, budget: int, placeholder: str) -> None:
    """Every row must hold exactly ``budget`` contiguous copies of the placeholder.

    See docs/model.md, 'Tokenizer, prompts and placeholders'.
    """
    counts = mask.sum(dim=1)
    if bool((counts != budget).any()):
        raise ModelError(
            f"{placeholder} occurs {counts.tolist()} times per sample; expected {budget} "
            "(was the prompt cut at the token limit?)"
        )
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    first = torch.where(mask, positions, mask.shape[1]).min(dim=1).values
    last = torch.where(mask, positions, -1).max(dim=1).values
    if bool((last - first + 1 != budget).any()):
        raise ModelError(f"the {placeholder} tokens are not contiguous in the prompt")
