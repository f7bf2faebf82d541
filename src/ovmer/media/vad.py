"""Voice activity: Silero VAD's speech probability over time (the model ships inside ``silero-vad``).

Why here: deciding *when* someone speaks is part of reading a clip's audio, like decoding it. Used by
``ovmer annotate filter``'s active-speaker check (docs/annotate.md). The model is Silero VAD v6
(``silero_vad/data/silero_vad.jit`` inside the PyPI wheel, MIT licence; nothing is downloaded), run
by TorchScript on the CPU: about 0.2 s for 7 s of audio on one core.
"""

from __future__ import annotations

import threading
import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from ovmer.errors import MediaError

#: Silero's window at 16 kHz: 512 samples = 32 ms (``silero_vad/utils_vad.py``, ``get_speech_timestamps``).
WINDOW = 512
SAMPLE_RATE = 16_000
_LOCK = threading.Lock()  # the TorchScript model keeps state between calls: one caller at a time


@lru_cache(maxsize=1)
def _model() -> Any:
    try:
        from silero_vad import load_silero_vad
    except ImportError as exc:
        raise MediaError("voice activity needs Silero VAD: pip install 'silero-vad==6.2.3'") from exc
    with warnings.catch_warnings():  # the wheel's loader uses APIs that warn on current Python / torch
        warnings.simplefilter("ignore", DeprecationWarning)
        return load_silero_vad()


def speech_probability(audio: np.ndarray) -> tuple[np.ndarray, float]:
    """Speech probability per 32 ms window of mono 16 kHz audio.

    Args:
        audio: ``(T,)`` float32 in [-1, 1] at 16 kHz (:func:`ovmer.media.audio.load_audio`).

    Returns:
        ``(probabilities (ceil(T / 512),), window seconds)``; empty audio gives an empty array.
    """
    import torch

    if audio.size == 0:
        return np.zeros(0, dtype=np.float32), WINDOW / SAMPLE_RATE
    model = _model()
    with _LOCK, torch.inference_mode():
        model.reset_states()
        probs = model.audio_forward(
            torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), SAMPLE_RATE
        )
    return probs.numpy().reshape(-1).astype(np.float32), WINDOW / SAMPLE_RATE
