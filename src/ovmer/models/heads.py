"""The trainable fusion heads of AffectGPT (docs/model.md, 'Fusion heads').

Attribute names are upstream's (``my_affectgpt/models/affectgpt.py``) because they are the checkpoint
keys. Shapes below use B batch, T frames/clips (8), Dv 768, Da 1024, Dm max(Da, Dv) = 1024, H LLM
width (3584).
"""

from __future__ import annotations

import torch
from torch import nn


def attention_pool(features: torch.Tensor, scorer: nn.Linear) -> torch.Tensor:
    """Pool ``features`` (B, T, D) to (B, D) with raw linear scores.

    Why no softmax: the released weights were trained with un-normalised, signed scores (upstream
    ``affectgpt.py``); normalising them would change every soft token.
    """
    scores = scorer(features)  # (B, T, 1), unbounded
    return (features.transpose(1, 2) @ scores).squeeze(-1)  # (B, D, T) @ (B, T, 1) -> (B, D)


class AffectGPTHeads(nn.Module):
    """Pooling scorers, projections to the LLM width and the pre-fusion network."""

    def __init__(
        self,
        vision_dim: int,
        audio_dim: int,
        llm_dim: int,
        num_visual_tokens: int = 1,
        num_audio_tokens: int = 1,
        num_multi_tokens: int = 1,
    ) -> None:
        super().__init__()
        fusion_dim = max(audio_dim, vision_dim)
        self.num_visual_tokens = num_visual_tokens
        self.num_audio_tokens = num_audio_tokens
        self.num_multi_tokens = num_multi_tokens
        # Single-image path: never used by a released prompt, kept so that checkpoints load strictly
        # (docs/model.md, 'Fusion heads').
        self.image_llama_proj = nn.Linear(vision_dim, llm_dim)
        self.affectgpt_proj = nn.Linear(vision_dim, llm_dim)  # faces and frames share it
        self.video_attention_mlp = nn.Linear(vision_dim, 1)
        self.audio_attention_mlp = nn.Linear(audio_dim, 1)
        self.audio_llama_proj = nn.Linear(audio_dim, llm_dim)
        self.multi_video_embs = nn.Linear(vision_dim, fusion_dim)
        self.multi_audio_embs = nn.Linear(audio_dim, fusion_dim)
        self.attention_mlp = nn.Linear(2 * fusion_dim, fusion_dim)
        self.fc_att = nn.Linear(fusion_dim, 2)
        self.multi_llama_proj = nn.Linear(fusion_dim, llm_dim)

    def visual_tokens(self, visual: torch.Tensor) -> torch.Tensor:
        """(B, T, Dv) face/frame embeddings -> (B, num_visual_tokens, H) soft tokens."""
        pooled = attention_pool(visual, self.video_attention_mlp)  # (B, Dv)
        token = self.affectgpt_proj(pooled).unsqueeze(1)  # (B, 1, H)
        return token.expand(-1, self.num_visual_tokens, -1)

    def audio_tokens(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, K, Da) clip embeddings -> (B, num_audio_tokens, H) soft tokens."""
        pooled = attention_pool(audio, self.audio_attention_mlp)  # (B, Da)
        token = self.audio_llama_proj(pooled).unsqueeze(1)  # (B, 1, H)
        return token.expand(-1, self.num_audio_tokens, -1)

    def fusion_weights(self, visual: torch.Tensor, audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Branch vectors v', a' (B, Dm) and their mixing weights w (B, 2) of the pre-fusion (no softmax)."""
        v = self.multi_video_embs(visual.mean(dim=1))  # time mean of the UN-pooled features -> (B, Dm)
        a = self.multi_audio_embs(audio.mean(dim=1))  # (B, Dm)
        # No activation between the two layers and no softmax: that is how the weights were trained.
        w = self.fc_att(self.attention_mlp(torch.cat([v, a], dim=-1)))  # (B, 2)
        return v, a, w

    def multi_tokens(self, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """Pre-fusion of (B, T, Dv) and (B, K, Da) -> (B, num_multi_tokens, H)."""
        v, a, w = self.fusion_weights(visual, audio)
        fused = w[:, 0:1] * v + w[:, 1:2] * a  # (B, Dm)
        token = self.multi_llama_proj(fused).unsqueeze(1)  # (B, 1, H)
        return token.expand(-1, self.num_multi_tokens, -1)
