"""Fidelity training runs HuBERT in train mode, where LayerDrop skips whole layers.

Upstream calls ``.train()`` on the whole model each epoch (docs/model.md, 'LoRA, freezing and precision').
"""

from __future__ import annotations

import torch

from ovmer.models.modeling_affectgpt import AffectGPTModel
from ovmer.models.tiny import tiny_config


def test_skipped_layers_count_as_their_input() -> None:
    torch.manual_seed(0)
    model = AffectGPTModel(tiny_config("face"))
    hubert = model.audio
    hubert.config.layerdrop = 1.0  # every layer skipped
    hubert.config.mask_time_prob = 0.0
    for module in hubert.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    hubert.train()
    audio = torch.randn(1, 8, 32000)
    got = model.encode_audio(audio)  # (1, 8, Da)
    with torch.no_grad():  # the encoder input, built by hand: features + positional convolution
        feats = hubert.feature_projection(hubert.feature_extractor(audio.flatten(0, 1)).transpose(1, 2))
        x = feats + hubert.encoder.pos_conv_embed(feats)
    expected = torch.stack([x, x, x, hubert.encoder.layer_norm(x)]).mean(0).mean(1).view(1, 8, -1)
    torch.testing.assert_close(got, expected)
