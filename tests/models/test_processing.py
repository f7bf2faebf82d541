"""Processor fidelity: BGR faces, shared audio normalisation, tokenizer set-up, stop ids, clean-up."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ovmer.errors import ModelError
from ovmer.models.processing_affectgpt import (
    AffectGPTProcessor,
    clean_response,
    normalize_audio,
    setup_tokenizer,
)
from ovmer.models.tiny import tiny_config, tiny_tokenizer


@pytest.fixture(scope="module")
def face_processor() -> AffectGPTProcessor:
    tokenizer = tiny_tokenizer()
    return AffectGPTProcessor(tokenizer, tiny_config("face", tokenizer))


def test_faces_reach_clip_in_bgr(face_processor: AffectGPTProcessor) -> None:
    faces = np.zeros((8, 224, 224, 3), np.uint8)
    faces[..., 0] = 255  # channel 0 = blue in an OpenFace/OpenCV array
    pixels = face_processor.pixel_values([faces], is_face=True)  # (1, 8, 3, 224, 224)
    mean, std = face_processor.config.image_mean, face_processor.config.image_std
    assert pixels.shape == (1, 8, 3, 224, 224)
    torch.testing.assert_close(pixels[0, 0, 0, 0, 0], torch.tensor((1 - mean[0]) / std[0]))  # not swapped
    torch.testing.assert_close(pixels[0, 0, 2, 0, 0], torch.tensor((0 - mean[2]) / std[2]))
    clean = AffectGPTProcessor(
        face_processor.tokenizer, dataclasses.replace(face_processor.config, face_channel_order="rgb")
    )
    swapped = clean.pixel_values([faces], is_face=True)
    torch.testing.assert_close(swapped[0, 0, 2, 0, 0], torch.tensor((1 - mean[2]) / std[2]))


def test_audio_normalisation_is_shared_across_clips() -> None:
    rng = np.random.default_rng(0)
    clips = rng.standard_normal((2, 8, 32000)).astype(np.float32)
    clips[0, 0] *= 10  # one loud clip
    clips[1] += 3
    per_sample = normalize_audio(clips, "per_sample")
    x = clips[0]
    expected = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    np.testing.assert_allclose(per_sample[0], expected, rtol=1e-4, atol=1e-5)
    assert abs(per_sample[0, 1].std() - 1) > 0.2  # quiet clips are not rescaled on their own
    np.testing.assert_allclose(per_sample[0].std(), 1, rtol=1e-3)
    joint = normalize_audio(clips, "joint_batch")
    np.testing.assert_allclose(
        joint, (clips - clips.mean()) / np.sqrt(clips.var() + 1e-7), rtol=1e-4, atol=1e-5
    )
    per_clip = normalize_audio(clips, "per_clip")
    np.testing.assert_allclose(per_clip[0, 1].std(), 1, rtol=1e-3)
    with pytest.raises(ModelError):
        normalize_audio(clips, "bogus")


def test_batch_of_samples_uses_per_sample_statistics(face_processor: AffectGPTProcessor) -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((8, 32000)).astype(np.float32)
    b = 5 * rng.standard_normal((8, 32000)).astype(np.float32)
    together = face_processor.audio_values([a, b])
    alone = face_processor.audio_values([a])
    torch.testing.assert_close(together[0], alone[0])  # batching does not change a sample's input


def test_tokenizer_placeholders_and_stop_ids(face_processor: AffectGPTProcessor) -> None:
    tok = face_processor.tokenizer
    ids = face_processor.config.placeholder_token_ids
    assert ids is not None and ids == list(range(ids[0], ids[0] + 5))
    assert tok.pad_token == tok.eos_token == "<|im_end|>" and tok.bos_token == "<|im_start|>"
    assert face_processor.hash3_id == tok("###", add_special_tokens=False)["input_ids"][0]
    assert tok.decode([face_processor.hash2_id]) == "##" and tok.decode([face_processor.hash1_id]) == "#"
    prompt_ids = face_processor.tokenize_prompt(face_processor.prompt("x", "ovlabels"))
    assert prompt_ids[0] != tok.convert_tokens_to_ids("<|im_start|>")  # no BOS at inference (docs/model.md)
    with pytest.raises(ModelError, match="placeholder ids"):
        setup_tokenizer(tiny_tokenizer(), expected_ids=[151665, 151666, 151667, 151668, 151669])


def test_prompt_length_limit(face_processor: AffectGPTProcessor) -> None:
    with pytest.raises(ModelError, match="800"):
        face_processor.tokenize_prompt(face_processor.prompt("word " * 2000, "ovlabels"))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("The character's emotional state is happy.###", "The character's emotional state is happy."),
        ("happy, sad<|im_end|>", "happy, sad"),
        ("x<|im_start|>inner<|im_start|>tail", "inner"),
        ("###Assistant: calm ## and # ###Human", "calm ## and #"),
        ("  plain  ", "plain"),
    ],
)
def test_clean_response(raw: str, clean: str) -> None:
    assert clean_response(raw) == clean


def test_pixel_values_equal_clip_image_processor(face_processor: AffectGPTProcessor) -> None:
    """Upstream's PIL + CLIPImageProcessor route gives the same tensor for 224×224 inputs (docs/model.md)."""
    from PIL import Image
    from transformers import CLIPImageProcessor

    images = np.random.default_rng(0).integers(0, 255, (8, 224, 224, 3), dtype=np.uint8)
    reference = CLIPImageProcessor()(
        images=[Image.fromarray(i) for i in images], return_tensors="pt"
    ).pixel_values
    torch.testing.assert_close(
        face_processor.pixel_values([images], is_face=False)[0], reference, rtol=0, atol=1e-6
    )


def test_audio_equals_wav2vec2_feature_extractor_on_a_block() -> None:
    """Upstream hands the (B·8, 32000) block as a torch tensor, i.e. as one utterance (docs/model.md)."""
    from transformers import Wav2Vec2FeatureExtractor

    rng = np.random.default_rng(3)
    block = (0.1 * rng.standard_normal((2, 8, 32000)) + 0.01).astype(np.float32)
    block[1] *= 4
    extractor = Wav2Vec2FeatureExtractor(do_normalize=True)
    one = extractor(torch.from_numpy(block[0]), sampling_rate=16000, return_tensors="pt").input_values[0]
    np.testing.assert_allclose(normalize_audio(block[:1], "per_sample")[0], one.numpy(), atol=1e-5)
    both = extractor(torch.from_numpy(block.reshape(16, 32000)), sampling_rate=16000, return_tensors="pt")
    joint = normalize_audio(block, "joint_batch").reshape(16, 32000)
    np.testing.assert_allclose(joint, both.input_values[0].numpy(), atol=1e-5)
