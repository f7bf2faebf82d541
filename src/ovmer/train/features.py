"""Frozen-encoder feature cache: run CLIP and HuBERT once per sample, train from the stored features.

Why: upstream recomputes both frozen encoders on every step (docs/training.md, 'Upstream sequence rules').
With the encoders in eval mode and per-sample audio normalisation (clean mode; docs/model.md, 'Backbones and
encoders') their outputs depend only on the sample, so they can be stored once. Layout of a cache folder::

    cache.json                  fingerprint: encoder ids/revisions (or weight hash), input settings
    features/<name>.safetensors visual (T, Dv) and audio (K, Da), float32
    failures.jsonl              samples whose media could not be read (skipped, not fatal)

Training checks the fingerprint against its model and refuses a cache made by other encoders.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ovmer.errors import DatasetError
from ovmer.models.modeling_affectgpt import AffectGPTModel
from ovmer.models.processing_affectgpt import AffectGPTProcessor
from ovmer.results.jsonl import append_json_lines

log = logging.getLogger(__name__)

CACHE_META = "cache.json"
FEATURES_DIR = "features"
FAILURES_FILE = "failures.jsonl"


def encoder_fingerprint(model: AffectGPTModel, random_backbones: bool) -> dict[str, Any]:
    """What the cached features depend on. Random (tiny) encoders are identified by a weight hash."""
    cfg = model.config
    finger: dict[str, Any] = {
        "vision_id": cfg.vision_id,
        "vision_revision": cfg.vision_revision,
        "audio_id": cfg.audio_id,
        "audio_revision": cfg.audio_revision,
        "visual_input": cfg.visual_input,
        "face_channel_order": cfg.face_channel_order,
        "audio_normalization": cfg.audio_normalization,
        "hubert_layers_averaged": cfg.hubert_layers_averaged,
        "num_frames": cfg.num_frames,
        "num_audio_clips": cfg.num_audio_clips,
    }
    if random_backbones:
        digest = hashlib.sha256()
        for module in (model.vision, model.audio):
            for name, tensor in sorted(module.state_dict().items()):
                digest.update(name.encode())
                digest.update(tensor.detach().cpu().contiguous().float().numpy().tobytes())
        finger["encoder_weights_sha256"] = digest.hexdigest()
    return finger


def _safe_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise DatasetError(f"sample name {name!r} cannot be used as a cache file name")
    return name


class FeatureCache:
    """Read access to a cache folder; ``load(name)`` gives (visual (T, Dv), audio (K, Da)) float32."""

    def __init__(self, folder: str | Path, expected: dict[str, Any] | None = None) -> None:
        self.folder = Path(folder)
        meta_path = self.folder / CACHE_META
        if not meta_path.is_file():
            raise DatasetError(
                f"{self.folder} is not a feature cache ({CACHE_META} missing); create it with "
                "`ovmer features extract CONFIG`"
            )
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if expected is not None and self.meta.get("fingerprint") != expected:
            found = self.meta.get("fingerprint", {})
            diff = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
            raise DatasetError(
                f"the feature cache {self.folder} was made with other encoders or settings (differs in "
                f"{diff}); re-run `ovmer features extract` for this model"
            )

    def path(self, name: str) -> Path:
        return self.folder / FEATURES_DIR / f"{_safe_name(name)}.safetensors"

    def load(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        from safetensors.torch import load_file

        path = self.path(name)
        if not path.is_file():
            raise DatasetError(f"sample {name} is not in the feature cache {self.folder}; re-run extraction")
        data = load_file(str(path))
        return data["visual"], data["audio"]


@torch.no_grad()
def extract_features(
    model: AffectGPTModel,
    processor: AffectGPTProcessor,
    samples: Sequence[Any],
    out: str | Path,
    fingerprint: dict[str, Any],
    progress: bool = True,
) -> dict[str, int]:
    """Encode every sample's media once and store the features (resumable: existing files are kept).

    Each sample is encoded on its own (batch 1 per encoder call) so that its features never depend on
    its batch neighbours; Returns counts
    ``{"written", "existing", "failed"}``.
    """
    from safetensors.torch import save_file

    from ovmer.atomic import write_json_atomic
    from ovmer.progress import progress_bar
    from ovmer.train.data import load_media

    out = Path(out)
    (out / FEATURES_DIR).mkdir(parents=True, exist_ok=True)
    meta_path = out / CACHE_META
    if meta_path.is_file():
        FeatureCache(out, fingerprint)  # refuses to mix encoders in one folder
    write_json_atomic(meta_path, {"fingerprint": fingerprint, "format": 1})
    cache = FeatureCache(out)
    model.eval()
    counts = {"written": 0, "existing": 0, "failed": 0}
    failures = []
    with progress_bar("features", disable=not progress) as bar:
        task = bar.add_task("extract", total=len(samples))
        for sample in samples:
            target = cache.path(sample.name)
            if target.is_file():
                counts["existing"] += 1
                bar.advance(task)
                continue
            try:
                visual, audio = load_media(sample, model.config.visual_input)
            except Exception as exc:  # a bad sample is recorded and skipped, never fatal
                counts["failed"] += 1
                failures.append({"name": sample.name, "error": str(exc)})
                bar.advance(task)
                continue
            pixel = processor.pixel_values([visual], model.config.visual_input == "face").to(model.device)
            wave = processor.audio_values([audio]).to(model.device)
            feats = {
                "visual": model.encode_visual(pixel)[0].float().cpu().contiguous(),  # (T, Dv)
                "audio": model.encode_audio(wave)[0].float().cpu().contiguous(),  # (K, Da)
            }
            tmp = target.with_name(f".{target.name}.tmp")
            save_file(feats, str(tmp))
            tmp.replace(target)
            counts["written"] += 1
            bar.advance(task)
    if failures:
        append_json_lines(out / FAILURES_FILE, failures)
        log.warning("%d sample(s) could not be read; see %s", len(failures), out / FAILURES_FILE)
    return counts
