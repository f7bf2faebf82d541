"""Transformers-native zero-shot baselines (``hf:`` specs): Video-LLaVA, LLaVA-OneVision, LLaVA-NeXT-Video
and Qwen2.5-VL.

The family is chosen from the checkpoint's ``config.model_type`` (never from its name), in
:data:`VIDEO_FAMILIES`. Each sample's frames come from the one inputs builder
(:func:`ovmer.media.inputs.build_model_inputs`); the question is upstream's V (with or without the
subtitle, :func:`ovmer.baselines.prompts.question`), rendered by the checkpoint's chat template with
the video first. In transformers 5.x every ``*VideoProcessor`` needs torchvision, so the pixel
tensors are made with the model's PIL *image* processor and laid out as its video processor would
(:mod:`ovmer.baselines.video_pixels`), and the video placeholder is expanded to the count the model's
processor would give (the ``replace_video_token`` rules of ``processing_video_llava.py``,
``processing_llava_onevision.py``, ``processing_llava_next_video.py`` and ``processing_qwen2_5_vl.py``). Generation is batched
with left padding, greedy by default (batched greedy answers equal one-at-a-time answers).

Answers are saved as upstream saves them (``OV-MER/Video-LLaVA/main-video.py``): stripped, with
newlines and tabs replaced by spaces.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ovmer.baselines.hf_audio import AUDIO_FAMILIES, HFAudioBaseline, load_audio_baseline
from ovmer.baselines.hf_common import (
    AdapterCore,
    answer_records,
    generate_answers,
    load_checkpoint,
    prompt_details,
)
from ovmer.baselines.prompts import question
from ovmer.baselines.spec import HFSpec, parse_hf_spec
from ovmer.baselines.video_pixels import VideoBatch, qwen_vl_video_batch, stacked_video_batch
from ovmer.errors import BaselineSpecError, ModelError
from ovmer.media.inputs import ModelInputs
from ovmer.results.record import AnswerRecord


@dataclass(frozen=True)
class VideoFamily:
    """How one transformers model family reads a video.

    Attributes:
        model_type: ``config.model_type`` of the checkpoint.
        model_class: the transformers class that generates.
        video_token: the placeholder the chat template writes once per video.
        video_token_count: (model config, frames, frame height, frame width) → placeholders per video
            of stacked ``(B, T, 3, h, w)`` frames; None when ``video_batch`` counts them.
        paper_decoding: upstream's ``generate`` settings for this model, or None when upstream did not
            run it (``decoding=paper`` is then an error).
        video_batch: (image processor, clips) → :class:`~ovmer.baselines.video_pixels.VideoBatch` for a
            model that reads another layout than stacked frames (None: stacked frames).
        token_type_ids: the model places its 3-D positions by ``mm_token_type_ids`` (0 text, 2 video:
            ``ProcessorMixin.create_mm_token_type_ids``).
    """

    model_type: str
    model_class: str
    video_token: str
    video_token_count: Callable[[Any, int, int, int], int] | None
    paper_decoding: dict[str, Any] | None = None
    modalities: tuple[str, ...] = ("v", "t")
    image_processor_kwargs: dict[str, Any] = field(default_factory=dict)
    video_batch: Callable[[Any, Sequence[np.ndarray]], VideoBatch] | None = None
    token_type_ids: bool = False


def _video_llava_tokens(config: Any, frames: int, height: int, width: int) -> int:
    # processing_video_llava.py: per frame (H/p)·(W/p) patches + 1 CLS (num_additional_image_tokens).
    patch = config.vision_config.patch_size
    return frames * ((height // patch) * (width // patch) + 1)


def _onevision_tokens(config: Any, frames: int, height: int, width: int) -> int:
    # processing_llava_onevision.py: per frame the patch grid pooled 2×2 (ceil), plus one newline token.
    side = config.vision_config.image_size // config.vision_config.patch_size
    pooled = math.ceil(side / 2)
    return frames * pooled * pooled + 1


def _next_video_tokens(config: Any, frames: int, height: int, width: int) -> int:
    # processing_llava_next_video.py: per frame (H/p)·(W/p) patches, average-pooled 2×2 ("// 4"), no CLS.
    patch = config.vision_config.patch_size
    return (height // patch) * (width // patch) // 4 * frames


#: model_type → family. Add a video model family here (docs/baselines.md, 'Adding an adapter').
VIDEO_FAMILIES: dict[str, VideoFamily] = {
    "video_llava": VideoFamily(
        "video_llava",
        "VideoLlavaForConditionalGeneration",
        "<video>",
        _video_llava_tokens,
        # OV-MER/Video-LLaVA/main-video.py: do_sample, T=0.1, 1024 new tokens (8 frames: the default).
        paper_decoding={"do_sample": True, "temperature": 0.1, "max_new_tokens": 1024},
        image_processor_kwargs={"return_legacy_image_output": False},
    ),
    "llava_onevision": VideoFamily(
        "llava_onevision",
        "LlavaOnevisionForConditionalGeneration",
        "<video>",
        _onevision_tokens,
    ),
    "llava_next_video": VideoFamily(
        "llava_next_video",
        "LlavaNextVideoForConditionalGeneration",
        "<video>",
        _next_video_tokens,
    ),
    "qwen2_5_vl": VideoFamily(
        "qwen2_5_vl",
        "Qwen2_5_VLForConditionalGeneration",
        "<|video_pad|>",
        None,  # t·gh·gw / merge² from video_grid_thw (video_pixels.qwen_vl_video_batch)
        video_batch=qwen_vl_video_batch,
        token_type_ids=True,
    ),
}


class HFVideoBaseline(AdapterCore):
    """A transformers-native video + text model as an :class:`~ovmer.inference.protocol.AnswerModel`.

    Args:
        spec: the parsed ``hf:`` spec.
        family: the model family (from ``config.model_type``).
        model, tokenizer, image_processor: loaded transformers objects.
        chat_template: the checkpoint's chat template (Jinja).
    """

    def __init__(
        self,
        spec: HFSpec,
        family: VideoFamily,
        model: Any,
        tokenizer: Any,
        image_processor: Any,
        chat_template: str,
    ) -> None:
        self.set_up_core(
            spec,
            model,
            tokenizer,
            chat_template,
            model_type=family.model_type,
            supported=family.modalities,
            paper_decoding=family.paper_decoding,
        )
        self.family = family
        self.image_processor = image_processor

    def question_for(self, inputs: ModelInputs) -> str:
        """Upstream's V, with the sample's subtitle when ``subtitle=on`` (an absent subtitle is empty)."""
        subtitle = (inputs.subtitle or "") if self.options.subtitle == "on" else None
        return question("video", subtitle)

    def render(self, text: str) -> str:
        """The chat text before the video placeholder is expanded: video first, then the question."""
        messages = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": text}]}]
        rendered: str = self.tokenizer.apply_chat_template(
            messages, chat_template=self.chat_template, tokenize=False, add_generation_prompt=True
        )
        if rendered.count(self.family.video_token) != 1:
            raise ModelError(
                f"{self.spec.source}: the chat template writes {rendered.count(self.family.video_token)} "
                f"{self.family.video_token!r} placeholders for one video; expected 1"
            )
        return rendered

    def video_batch(self, items: Sequence[ModelInputs]) -> VideoBatch:
        """The batch's frames as the model reads them, with the placeholder count per clip."""
        clips = [item.visual("frame") for item in items]
        if self.family.video_batch is not None:
            return self.family.video_batch(self.image_processor, clips)
        count = self.family.video_token_count
        if count is None:
            raise ModelError(f"{self.family.model_type}: a stacked-frames family needs video_token_count")
        config = self.model.config
        return stacked_video_batch(
            self.image_processor,
            clips,
            lambda frames, height, width: count(config, frames, height, width),
            **self.family.image_processor_kwargs,
        )

    def answer_batch(self, items: Sequence[ModelInputs]) -> list[AnswerRecord | Exception]:
        questions = [self.question_for(item) for item in items]
        rendered = [self.render(q) for q in questions]
        videos = self.video_batch(items)
        token = self.family.video_token
        texts = [r.replace(token, token * n) for r, n in zip(rendered, videos.placeholders, strict=True)]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = {k: v.to(self.model.device) for k, v in batch.items()}
        if self.family.token_type_ids:
            video_id = self.tokenizer.convert_tokens_to_ids(token)
            batch["mm_token_type_ids"] = (batch["input_ids"] == video_id).long() * 2
        batch.update(videos.to(self.model.device, self.model.dtype))
        answers, counts = generate_answers(
            self.model, self.tokenizer, batch, self.generate_kwargs, self.options.seed
        )
        details = [
            {**prompt_details(self.options, self.modalities, q, r, n), **videos.details}
            for q, r, n in zip(questions, rendered, counts, strict=True)
        ]
        return answer_records(items, answers, details, self.merger)

    def close(self) -> None:
        self.model = None


def hf_from_spec(argument: str) -> HFVideoBaseline | HFAudioBaseline:
    """``<hub id or folder>[@revision][?key=value&…]`` (the text after ``hf:``) → a loaded baseline.

    Raises :class:`~ovmer.errors.BaselineSpecError` for a bad option or a model type ovmer has no
    adapter for, :class:`~ovmer.errors.ModelError` when the checkpoint cannot be read.
    """
    import transformers

    from ovmer.hub import hub_from_pretrained

    spec = parse_hf_spec(argument)
    try:
        config = hub_from_pretrained(transformers.AutoConfig, spec.source, spec.revision)
    except (OSError, ValueError) as exc:
        raise ModelError(f"hf:{spec.source}: cannot read the model config ({exc})") from None
    if config.model_type in AUDIO_FAMILIES:
        return load_audio_baseline(spec, AUDIO_FAMILIES[config.model_type])
    family = VIDEO_FAMILIES.get(config.model_type)
    if family is None:
        raise BaselineSpecError(
            f"hf:{spec.source} is a {config.model_type!r} model; ovmer's hf: adapters run "
            f"{', '.join(sorted({*VIDEO_FAMILIES, *AUDIO_FAMILIES}))} (docs/baselines.md)"
        )
    model, tokenizer, template, image_processor = load_checkpoint(
        spec,
        family.model_class,
        lambda library: hub_from_pretrained(library.AutoImageProcessor, spec.source, spec.revision),
    )
    return HFVideoBaseline(spec, family, model, tokenizer, image_processor, template)
