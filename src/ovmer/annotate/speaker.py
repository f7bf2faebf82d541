"""The low-level audio–video check: is the visible person the one speaking?

The paper ran TalkNet (active-speaker detection) and removed clips whose speaker is off screen; no
code or threshold was published. ovmer's offline check (:class:`LipSyncCheck`) relates how far the
mouth opens, from MediaPipe face-mesh landmarks (:func:`ovmer.clues.face.frame_measures`,
``mouth_opening``), to how loud the *speech* is, from Silero VAD's speech probability times the
audio's loudness (:func:`ovmer.media.vad.speech_probability`), frame by frame:

    score = max(corr(mouth_opening(t), speech_probability(t) × rms(t)),          syllables
                corr(std of mouth_opening in w, mean speech_probability in w))   talk vs pause
            × min(1, std(mouth_opening) / 0.02)

over frames t and over sliding 0.5 s windows w. The first term catches lips that open with each
loud syllable, the second a mouth that moves while someone talks and rests in the pauses (real
speech is less regular than the first term wants); the last factor discounts a mouth that hardly
moves, whose landmark jitter can correlate with the voice by chance.

A speaking face opens its mouth when the voice is loud and closes it in pauses (score near 1); a
still face or one that talks out of step with the voice scores near 0 or below. The threshold was
measured on clips synthesised with and without lip movement (docs/annotate.md, 'Active speaker').

Any other detector (TalkNet, LR-ASD …) plugs in as an :class:`ActiveSpeakerCheck`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

#: Midway between the highest score of a clip whose visible person does not say what is heard (0.515,
#: a synthesised clip with lips out of step) and the lowest of one who does (0.569, the real reference
#: clip; synthesised talking clips score 0.91–0.97): docs/annotate.md, 'Active speaker'.
DEFAULT_THRESHOLD = 0.54
#: Mouth opening std (× eye-corner distance) of a face that clearly talks: a correlation counts in full
#: from here and proportionally below, so the landmark jitter of a still mouth cannot score high.
MOUTH_MOVEMENT = 0.02
#: Frames per second given to the face mesh (mouth movements of speech last ~100–200 ms).
DEFAULT_FPS = 10.0
#: Below this fraction of frames with a face, nobody visible can be the speaker.
MIN_FACE_FRACTION = 0.5
#: Below this fraction of speech windows (probability > 0.5), there is no speech to attribute.
MIN_SPEECH_FRACTION = 0.1


@dataclass
class SpeakerVerdict:
    """One clip's active-speaker result.

    ``speaking``: True (keep), False (remove) or None (not decidable, e.g. no speech: kept);
    ``reason``: why, in words; ``score``: the detector's score, when it has one.
    """

    speaking: bool | None
    reason: str
    score: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


class ActiveSpeakerCheck(Protocol):
    """What an active-speaker detector offers ``annotate filter`` (a TalkNet wrapper, …)."""

    identity: str

    def check(self, video: Path, audio: Path | None) -> SpeakerVerdict:
        """The verdict for one clip (``audio``: a separate wav, else the video's track)."""
        ...


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; 0 when either side does not vary (a still mouth, constant sound)."""
    if len(a) < 3 or float(np.std(a)) < 1e-9 or float(np.std(b)) < 1e-9:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def speech_energy_at(audio: np.ndarray, times: np.ndarray, half_window_s: float) -> np.ndarray:
    """Speech probability × RMS loudness of 16 kHz ``audio`` around each time in ``times`` (seconds)."""
    from ovmer.media.vad import SAMPLE_RATE, speech_probability

    probs, hop = speech_probability(audio)
    half = max(1, int(half_window_s * SAMPLE_RATE))
    values = []
    for t in times:
        centre = int(t * SAMPLE_RATE)
        chunk = audio[max(0, centre - half) : centre + half]
        rms = float(np.sqrt(np.mean(chunk**2))) if chunk.size else 0.0
        window = probs[max(0, int((t - half_window_s) / hop)) : int((t + half_window_s) / hop) + 1]
        values.append(rms * (float(window.mean()) if window.size else 0.0))
    return np.asarray(values)


def activity_correlation(
    times: np.ndarray,
    opening: np.ndarray,
    probs: np.ndarray,
    hop: float,
    window: float = 0.5,
    step: float = 0.1,
) -> float:
    """Correlation, over sliding windows (``window`` s every ``step`` s), of how much the mouth moves
    (std of its opening) with how much of the window is speech (mean VAD probability): a speaker's
    mouth moves while they talk and rests in their pauses, whether or not each syllable lines up."""
    movement, voice = [], []
    for start in np.arange(0.0, max(float(times[-1]) - window, 0.0) + 1e-9, step):
        inside = (times >= start) & (times < start + window)
        if inside.sum() < 3:
            continue
        speech = probs[int(start / hop) : int((start + window) / hop) + 1]
        movement.append(float(np.std(opening[inside])))
        voice.append(float(speech.mean()) if speech.size else 0.0)
    return correlation(np.asarray(movement), np.asarray(voice))


class LipSyncCheck:
    """Mouth opening against speech loudness (see the module docstring).

    Args:
        threshold: the least score of a clip whose visible person speaks.
        fps: frames per second read for the face mesh.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, fps: float = DEFAULT_FPS) -> None:
        self.threshold = threshold
        self.fps = fps
        self.identity = f"lipsync:v2:threshold={threshold}:fps={fps}"

    def measure(self, video: Path, audio: Path | None = None) -> dict[str, float]:
        """``score``, ``face_fraction`` and ``speech_fraction`` of one clip."""
        from ovmer.clues.face import detect_landmarks, frame_measures
        from ovmer.media.audio import load_audio
        from ovmer.media.decode import read_frames_at_rate
        from ovmer.media.vad import speech_probability

        frames = read_frames_at_rate(video, fps=self.fps)
        sound = load_audio(audio if audio is not None else video)
        meshes = detect_landmarks(frames.frames)
        found = [i for i, mesh in enumerate(meshes) if mesh is not None]
        probs, hop = speech_probability(sound)
        result = {
            "face_fraction": len(found) / max(1, len(meshes)),
            "speech_fraction": float((probs > 0.5).mean()) if probs.size else 0.0,
            "score": 0.0,
            "correlation": 0.0,
            "activity_correlation": 0.0,
            "mouth_movement": 0.0,
        }
        if len(found) >= 3:
            times = np.asarray(frames.times)[found]
            opening = np.array([frame_measures(meshes[i])["mouth_opening"] for i in found])  # type: ignore[arg-type]
            energy = speech_energy_at(sound, times, 0.5 / self.fps)
            result["correlation"] = correlation(opening, energy)
            result["activity_correlation"] = activity_correlation(times, opening, probs, hop)
            result["mouth_movement"] = float(np.std(opening))
            best = max(result["correlation"], result["activity_correlation"])
            result["score"] = best * min(1.0, result["mouth_movement"] / MOUTH_MOVEMENT)
        return result

    def check(self, video: Path, audio: Path | None = None) -> SpeakerVerdict:
        """Remove when no face is visible or the mouth does not follow the speech; keep without speech."""
        measured = self.measure(video, audio)
        score = round(measured["score"], 4)
        details = {k: round(v, 4) for k, v in measured.items()}
        if measured["speech_fraction"] < MIN_SPEECH_FRACTION:
            return SpeakerVerdict(None, "no speech to attribute (kept)", score, details)
        if measured["face_fraction"] < MIN_FACE_FRACTION:
            return SpeakerVerdict(
                False, f"face visible in {measured['face_fraction']:.0%} of frames", score, details
            )
        if score < self.threshold:
            return SpeakerVerdict(
                False, f"lips do not follow the speech (score {score:.2f} < {self.threshold})", score, details
            )
        return SpeakerVerdict(True, f"lips follow the speech (score {score:.2f})", score, details)
