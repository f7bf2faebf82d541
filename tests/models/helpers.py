"""Tiny AffectGPT models, official-layout checkpoints and synthetic clips shared by model/inference tests."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ovmer.models.checkpoint import official_state_dict
from ovmer.models.loading import save_pretrained
from ovmer.models.modeling_affectgpt import AffectGPTModel
from ovmer.models.processing_affectgpt import AffectGPTProcessor
from ovmer.models.tiny import tiny_config, tiny_tokenizer


def randomize_trainables(model: AffectGPTModel, seed: int) -> None:
    """LoRA B starts at zero in peft; give every trainable tensor random values so loading is observable."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, param in model.trainable_named_parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.05)


def make_tiny(visual: str, seed: int = 0) -> tuple[AffectGPTModel, AffectGPTProcessor]:
    tokenizer = tiny_tokenizer()
    config = tiny_config(visual, tokenizer)  # type: ignore[arg-type]
    torch.manual_seed(seed)
    model = AffectGPTModel(config)
    randomize_trainables(model, seed + 1)
    return model, AffectGPTProcessor(tokenizer, config)


def save_tiny(folder: Path, visual: str, seed: int = 0) -> Path:
    model, processor = make_tiny(visual, seed)
    return save_pretrained(model, folder, processor, include_backbones=True)


def write_official_pth(
    model: AffectGPTModel, path: Path, rename: dict[str, str] | None = None, epoch: int = 30
) -> Path:
    """A file laid out like upstream's checkpoint_%06d_loss_%.3f.pth (docs/model.md, 'Checkpoint files')."""
    state = official_state_dict(model)
    for old, new in (rename or {}).items():
        state[new] = state.pop(old)
    torch.save(
        {
            "model": state,
            "optimizer": {"state": {}},
            "config": {"run": {"seed": 42}},
            "scaler": {},
            "epoch": epoch,
        },
        path,
    )
    return path


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    """int16 PCM wav; ``samples`` is (N,) mono or (N, C)."""
    data = np.clip(samples, -1, 1)
    data = (data * 32767).astype("<i2")
    channels = 1 if data.ndim == 1 else data.shape[1]
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(data.tobytes())
    return path


def write_clip(
    path: Path,
    colors: list[tuple[int, int, int]],
    fps: int = 8,
    size: tuple[int, int] = (64, 48),
    audio_seconds: float | None = 1.5,
) -> Path:
    """A small H.264 clip whose frame i is filled with colors[i] (RGB), with an optional AAC tone."""
    import av

    width, height = size
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "0", "preset": "ultrafast"}
        audio: Any = None
        if audio_seconds:
            audio = container.add_stream("aac", rate=16000)
            audio.layout = "mono"
        for color in colors:
            image = np.empty((height, width, 3), np.uint8)
            image[:] = color
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio is not None and audio_seconds:
            n = int(16000 * audio_seconds)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 16000)).astype(np.float32)
            step = 1024
            for start in range(0, n, step):
                chunk = tone[None, start : start + step]
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate = 16000
                frame.pts = start
                frame.time_base = Fraction(1, 16000)
                for packet in audio.encode(frame):
                    container.mux(packet)
            for packet in audio.encode():
                container.mux(packet)
    return path


_SAVED: dict[tuple[str, int], Path] = {}


def cached_tiny(factory: Any, visual: str, seed: int) -> Path:
    """One saved tiny model per (visual, seed) per test session, shared by tests/models and tests/inference."""
    key = (visual, seed)
    if key not in _SAVED:
        _SAVED[key] = save_tiny(factory.mktemp(f"tiny-{visual}"), visual, seed=seed)
    return _SAVED[key]
