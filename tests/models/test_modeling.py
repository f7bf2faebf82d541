"""Model fidelity on tiny random weights: pooling, pre-fusion, HuBERT features, splice, eval mode, LoRA merge."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ovmer.errors import ModelError
from ovmer.models.heads import AffectGPTHeads, attention_pool
from ovmer.models.loading import load_model
from tests.models.helpers import make_tiny


def test_attention_pool_has_no_softmax() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 8, 5)
    scorer = torch.nn.Linear(5, 1)
    pooled = attention_pool(x, scorer)
    scores = scorer(x)  # raw, signed
    assert (scores < 0).any()
    torch.testing.assert_close(pooled, (x * scores).sum(dim=1))
    with torch.no_grad():  # doubling the scorer doubles the output: scores are not normalised
        scorer.weight.mul_(2)
        scorer.bias.mul_(2)
    torch.testing.assert_close(attention_pool(x, scorer), 2 * pooled)


def test_prefusion_formula() -> None:
    torch.manual_seed(0)
    heads = AffectGPTHeads(vision_dim=6, audio_dim=10, llm_dim=12)
    v, a = torch.randn(3, 8, 6), torch.randn(3, 8, 10)
    vp = heads.multi_video_embs(v.mean(1))  # time means of the UN-pooled features
    ap = heads.multi_audio_embs(a.mean(1))
    w = heads.fc_att(heads.attention_mlp(torch.cat([vp, ap], -1)))  # no activation, no softmax
    expected = heads.multi_llama_proj(w[:, :1] * vp + w[:, 1:] * ap).unsqueeze(1)
    torch.testing.assert_close(heads.multi_tokens(v, a), expected)
    assert heads.multi_tokens(v, a).shape == (3, 1, 12)
    assert heads.visual_tokens(v).shape == (3, 1, 12) and heads.audio_tokens(a).shape == (3, 1, 12)


def test_hubert_feature_is_mean_of_last_four_layers() -> None:
    """Layers 1–3 of 4 before the final LayerNorm, layer 4 after it, averaged, then a time mean.

    Upstream's rule: docs/model.md, 'Backbones and encoders'.

    Checked with forward hooks on the layers, independently of how transformers reports hidden_states.
    """
    model, processor = make_tiny("frame")
    model.eval()
    audio = processor.audio_values([np.random.default_rng(0).standard_normal((8, 32000)).astype(np.float32)])
    encoder = model.audio.encoder
    outputs: list[torch.Tensor] = []

    def keep(_module: torch.nn.Module, _inputs: object, output: object) -> None:
        outputs.append(output[0] if isinstance(output, tuple) else output)  # type: ignore[arg-type,index]

    hooks = [layer.register_forward_hook(keep) for layer in encoder.layers]
    with torch.no_grad():
        features = model.encode_audio(audio)
    for hook in hooks:
        hook.remove()
    assert len(outputs) == 4
    with torch.no_grad():
        last = encoder.layer_norm(outputs[3])
    expected = torch.stack([outputs[0], outputs[1], outputs[2], last]).mean(0).mean(1)  # (8, Da)
    torch.testing.assert_close(features[0], expected)
    assert features.shape == (1, 8, 32)


def test_clip_feature_is_projected_cls_without_l2_norm() -> None:
    model, processor = make_tiny("frame")
    model.eval()
    images = np.random.default_rng(4).integers(0, 255, (8, 224, 224, 3), dtype=np.uint8)
    pixels = processor.pixel_values([images], is_face=False)
    with torch.no_grad():
        features = model.encode_visual(pixels)  # (1, 8, Dv)
        hidden = model.vision.vision_model(pixel_values=pixels[0]).last_hidden_state
        expected = model.vision.visual_projection(model.vision.vision_model.post_layernorm(hidden[:, 0]))
    torch.testing.assert_close(features[0], expected)
    assert not torch.allclose(features.norm(dim=-1), torch.ones(1, 8))


def test_splice_positions_and_zeroed_placeholder_ids() -> None:
    model, processor = make_tiny("face")
    model.eval()
    rng = np.random.default_rng(1)
    faces = [rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8)]
    clips = [rng.standard_normal((8, 32000)).astype(np.float32)]
    batch = processor([processor.prompt("so sad", "ovlabels")], faces, clips)
    ids = batch.input_ids[0].tolist()
    face_id, multi_id, audio_id = (
        model.placeholder_ids[t] for t in ("<FaceHere>", "<MultiHere>", "<AudioHere>")
    )
    assert ids.count(face_id) == ids.count(audio_id) == ids.count(multi_id) == 1
    assert ids.index(multi_id) < ids.index(audio_id) < ids.index(face_id)
    table = model.input_embeddings()
    with torch.no_grad():  # poison the placeholder rows: they must never be looked up (replaced by id 0)
        table.weight[face_id - 1 :] = float("nan")
        embeds = model.build_inputs_embeds(batch.input_ids, batch.pixel_values, batch.audio_values)
        tokens = model.modality_tokens(batch.pixel_values, batch.audio_values)
    assert not torch.isnan(embeds).any()
    torch.testing.assert_close(embeds[0, ids.index(face_id)], tokens["<FaceHere>"][0, 0])
    torch.testing.assert_close(embeds[0, ids.index(audio_id)], tokens["<AudioHere>"][0, 0])
    torch.testing.assert_close(embeds[0, ids.index(multi_id)], tokens["<MultiHere>"][0, 0])
    other = ids.index(multi_id) + 1
    torch.testing.assert_close(embeds[0, other], table.weight[ids[other]])


def test_placeholder_errors() -> None:
    model, processor = make_tiny("frame")
    rng = np.random.default_rng(2)
    frames = [rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8)]
    clips = [rng.standard_normal((8, 32000)).astype(np.float32)]
    batch = processor([processor.prompt("", "ovlabels")], frames, clips)
    face_id = model.placeholder_ids["<FaceHere>"]
    frame_id = model.placeholder_ids["<FrameHere>"]
    wrong = torch.where(batch.input_ids == frame_id, face_id, batch.input_ids)
    with torch.no_grad(), pytest.raises(ModelError, match="Some input info is missing"):
        model.build_inputs_embeds(wrong, batch.pixel_values, batch.audio_values)
    doubled = batch.input_ids.clone()
    doubled[0, 0] = frame_id
    with torch.no_grad(), pytest.raises(ModelError, match="occurs"):
        model.build_inputs_embeds(doubled, batch.pixel_values, batch.audio_values)


def test_loaded_model_is_eval_and_merge_preserves_logits(tiny_frame_dir: Path) -> None:
    unmerged = load_model(tiny_frame_dir, merge_lora=False)
    merged = load_model(tiny_frame_dir)
    for m in (unmerged.model, merged.model):
        assert not m.training and not m.audio.training and not m.vision.training
    assert merged.model.lora_merged and not any("lora_" in n for n, _ in merged.model.named_parameters())
    rng = np.random.default_rng(3)
    proc = merged.processor
    batch = proc(
        [proc.prompt("hello", "description")],
        [rng.integers(0, 255, (8, 224, 224, 3), dtype=np.uint8)],
        [rng.standard_normal((8, 32000)).astype(np.float32)],
    )
    with torch.no_grad():
        a = unmerged.model(*batch.tensors()).logits
        b = merged.model(*batch.tensors()).logits
        again = merged.model(*batch.tensors()).logits
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(b, again, rtol=0, atol=0)  # eval mode: HuBERT dropout/masking is off


def test_cpu_rejects_half_precision(tiny_frame_dir: Path) -> None:
    with pytest.raises(ModelError, match="fp32"):
        load_model(tiny_frame_dir, dtype="fp16")
