"""Transformers-native zero-shot baselines that hear (``hf:`` specs): Qwen2-Audio and the Qwen2.5-Omni thinker.

The family is chosen from the checkpoint's ``config.model_type`` (:data:`AUDIO_FAMILIES`;
:func:`ovmer.baselines.hf.hf_from_spec` dispatches every ``hf:`` spec). What a sample sends:

* ``a`` — the whole 16-kHz track the one inputs builder chose (the dataset's wav, else the video's
  track: ``ModelInputs.waveform``; inputs from a ``prepare`` cache, which keeps only the 2-s clips,
  read it again from the recorded file), as log-mel features by the checkpoint's Whisper feature
  extractor, padded to its 30-s window (``padding="max_length"``, as ``processing_qwen2_audio.py`` and
  ``processing_qwen2_5_omni.py`` call it; a longer track is cut to its first 30 s, as there). The audio
  placeholder is expanded to ``((L - 1) // 2 + 1 - 2) // 2 + 1`` tokens for ``L`` unpadded feature
  frames (the same two processors).
* ``v`` (Omni only) — the builder's frames as Qwen2-VL video patches made by the checkpoint's PIL
  image processor (:func:`ovmer.baselines.video_pixels.qwen_vl_video_patches`; no torchvision),
  resized within the video pixel range of ``processing_qwen2_5_omni.py`` (128·28² to 768·28² pixels),
  ``t·h·w / merge²`` placeholders, and 2 frames per second for the temporal positions (that
  processor's default when no fps is given). Audio and video are sent as two items, not interleaved
  (``use_audio_in_video`` off), like the ``openai:`` route sends them.
* the question — upstream's V when the video is sent, else A (``OV-MER/Qwen-Audio/main-audio.py``),
  with the subtitle prefix when ``subtitle=on`` (``t``).

The checkpoint's chat template renders video, then audio, then the question. Generation is batched
with left padding, greedy by default (:mod:`ovmer.baselines.hf_common`). Upstream ran neither model,
so ``decoding=paper`` is an error for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ovmer.baselines.hf_common import (
    AdapterCore,
    answer_records,
    generate_answers,
    load_checkpoint,
    prompt_details,
)
from ovmer.baselines.prompts import question
from ovmer.baselines.spec import HFSpec
from ovmer.baselines.video_pixels import qwen_vl_video_patches
from ovmer.errors import ModelError
from ovmer.media.audio import SAMPLE_RATE
from ovmer.media.inputs import ModelInputs
from ovmer.results.record import AnswerRecord

#: Video frame pixel range of ``Qwen2_5OmniProcessor.videos_kwargs`` (``processing_qwen2_5_omni.py``).
OMNI_VIDEO_SIZE = {"shortest_edge": 128 * 28 * 28, "longest_edge": 768 * 28 * 28}
#: Frames per second the Omni processor assumes when none is given (``processing_qwen2_5_omni.py``).
OMNI_DEFAULT_FPS = 2.0


@dataclass(frozen=True)
class AudioFamily:
    """How one transformers model family hears (and, for Omni, sees) a clip.

    Attributes:
        model_type: ``config.model_type`` of the checkpoint.
        model_class: the transformers class that generates (Omni: the thinker, which answers in text).
        modalities: what the model reads (``t`` is the subtitle).
        audio_token: the placeholder the chat template writes once per audio.
        video_token: the placeholder written once per video (None: the model does not see).
    """

    model_type: str
    model_class: str
    modalities: tuple[str, ...]
    audio_token: str = "<|AUDIO|>"
    video_token: str | None = None


_QWEN2_AUDIO = AudioFamily("qwen2_audio", "Qwen2AudioForConditionalGeneration", ("a", "t"))
_OMNI = AudioFamily(
    "qwen2_5_omni", "Qwen2_5OmniThinkerForConditionalGeneration", ("a", "v", "t"), video_token="<|VIDEO|>"
)

#: model_type → family. The released Qwen2.5-Omni checkpoints are ``qwen2_5_omni`` (thinker + talker;
#: only the thinker's weights are loaded); a saved thinker alone is ``qwen2_5_omni_thinker``.
AUDIO_FAMILIES: dict[str, AudioFamily] = {
    "qwen2_audio": _QWEN2_AUDIO,
    "qwen2_5_omni": _OMNI,
    "qwen2_5_omni_thinker": _OMNI,
}


def audio_token_count(feature_frames: int) -> int:
    """Placeholders for ``feature_frames`` unpadded log-mel frames: the encoder's stride-2 convolution,
    then its 2× pooling (``processing_qwen2_audio.py``, ``processing_qwen2_5_omni.py``)."""
    return ((feature_frames - 1) // 2 + 1 - 2) // 2 + 1


class HFAudioBaseline(AdapterCore):
    """A transformers-native model that hears as an :class:`~ovmer.inference.protocol.AnswerModel`.

    Args:
        spec: the parsed ``hf:`` spec.
        family: the model family (from ``config.model_type``).
        model, tokenizer, feature_extractor: loaded transformers objects (the Whisper extractor).
        image_processor: the Qwen2-VL PIL image processor for video frames (None: no video).
        chat_template: the checkpoint's chat template (Jinja).
    """

    def __init__(
        self,
        spec: HFSpec,
        family: AudioFamily,
        model: Any,
        tokenizer: Any,
        feature_extractor: Any,
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
            paper_decoding=None,
        )
        self.family = family
        self.feature_extractor = feature_extractor
        self.image_processor = image_processor

    def question_for(self, inputs: ModelInputs) -> str:
        """Upstream's V when the video is sent, else A; with the subtitle when ``subtitle=on``."""
        subtitle = (inputs.subtitle or "") if self.options.subtitle == "on" else None
        return question("video" if "v" in self.modalities else "audio", subtitle)

    def render(self, text: str) -> str:
        """The chat text before the placeholders are expanded: video, audio, then the question."""
        content: list[dict[str, Any]] = []
        placeholders: list[str] = []
        if "v" in self.modalities and self.family.video_token is not None:
            content.append({"type": "video"})
            placeholders.append(self.family.video_token)
        if "a" in self.modalities:
            content.append({"type": "audio"})
            placeholders.append(self.family.audio_token)
        content.append({"type": "text", "text": text})
        rendered: str = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": content}],
            chat_template=self.chat_template,
            tokenize=False,
            add_generation_prompt=True,
        )
        for token in placeholders:
            if rendered.count(token) != 1:
                raise ModelError(
                    f"{self.spec.source}: the chat template writes {rendered.count(token)} {token!r} "
                    "placeholders for one item; expected 1"
                )
        return rendered

    def audio_features(self, waveforms: Sequence[Any]) -> dict[str, Any]:
        """The Whisper extractor on each whole track (:meth:`ModelInputs.whole_waveform`):
        ``input_features`` ``(B, mels, 3000)`` and ``feature_attention_mask`` ``(B, 3000)`` (1 on the
        frames of the track)."""
        features = self.feature_extractor(
            list(waveforms),
            sampling_rate=SAMPLE_RATE,
            return_attention_mask=True,
            padding="max_length",
            return_tensors="pt",
        )
        return {
            "input_features": features["input_features"],
            "feature_attention_mask": features["attention_mask"],
        }

    def answer_batch(self, items: Sequence[ModelInputs]) -> list[AnswerRecord | Exception]:
        import torch

        questions = [self.question_for(item) for item in items]
        rendered = [self.render(q) for q in questions]
        texts = list(rendered)
        media: dict[str, Any] = {}
        extra: list[dict[str, Any]] = [{} for _ in items]
        if "a" in self.modalities:
            # Read once: inputs from a prepare cache read the track from its file again.
            waveforms = [item.whole_waveform() for item in items]
            media.update(self.audio_features(waveforms))
            lengths = [int(n) for n in media["feature_attention_mask"].sum(-1)]
            token = self.family.audio_token
            texts = [
                t.replace(token, token * audio_token_count(n)) for t, n in zip(texts, lengths, strict=True)
            ]
            for row, waveform in zip(extra, waveforms, strict=True):
                seconds = min(waveform.shape[0], self.feature_extractor.n_samples) / SAMPLE_RATE
                row["audio_seconds"] = round(seconds, 3)
        if "v" in self.modalities and self.family.video_token is not None:
            patches, grids = zip(
                *(qwen_vl_video_patches(self.image_processor, item.visual("frame")) for item in items),
                strict=True,
            )
            merge = int(self.image_processor.merge_size)
            token = self.family.video_token
            texts = [
                t.replace(token, token * (int(g.prod()) // merge**2))
                for t, g in zip(texts, grids, strict=True)
            ]
            temporal = int(self.image_processor.temporal_patch_size)
            media["pixel_values_videos"] = torch.cat(patches)
            media["video_grid_thw"] = torch.stack(grids)
            media["video_second_per_grid"] = torch.full((len(items),), temporal / OMNI_DEFAULT_FPS)
            for row in extra:
                row["frames"] = len(items[0].visual("frame"))
        batch = dict(self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False))
        batch.update(media)
        for key, value in batch.items():
            to_dtype = value.is_floating_point() and key != "video_second_per_grid"
            batch[key] = value.to(self.model.device, dtype=self.model.dtype if to_dtype else None)
        answers, counts = generate_answers(
            self.model, self.tokenizer, batch, self.generate_kwargs, self.options.seed
        )
        details = [
            {**prompt_details(self.options, self.modalities, q, r, n), **row}
            for q, r, n, row in zip(questions, rendered, counts, extra, strict=True)
        ]
        return answer_records(items, answers, details, self.merger)

    def close(self) -> None:
        self.model = None


def load_audio_baseline(spec: HFSpec, family: AudioFamily) -> HFAudioBaseline:
    """Load ``spec``'s checkpoint as ``family`` (the tokenizer, the Whisper feature extractor, for Omni
    the PIL image processor at the video pixel range, and the model). Raises
    :class:`~ovmer.errors.ModelError` when the checkpoint cannot be read."""
    from ovmer.hub import hub_from_pretrained

    def processors(library: Any) -> tuple[Any, Any]:
        extractor = hub_from_pretrained(library.WhisperFeatureExtractor, spec.source, spec.revision)
        if "v" not in family.modalities:
            return extractor, None
        pixels = library.Qwen2VLImageProcessorPil
        return extractor, hub_from_pretrained(pixels, spec.source, spec.revision, size=OMNI_VIDEO_SIZE)

    model, tokenizer, template, (extractor, image_processor) = load_checkpoint(
        spec, family.model_class, processors
    )
    return HFAudioBaseline(spec, family, model, tokenizer, extractor, image_processor, template)
