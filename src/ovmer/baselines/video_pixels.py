"""A clip's frames as the tensors a transformers video model reads, made by PIL *image* processors.

In transformers 5.x every ``*VideoProcessor`` needs torchvision, which ovmer does not install, so the
``hf:`` adapters (:mod:`ovmer.baselines.hf`) run the checkpoint's image processor on the frames and
lay the result out the way the model's video processor would:

* :func:`stacked_frames` — Video-LLaVA, LLaVA-OneVision, LLaVA-NeXT-Video: one ``(3, h, w)`` image
  per frame, stacked to ``(T, 3, h, w)`` (the whole-frame view of anyres processors);
  :func:`stacked_video_batch` makes a batch of them.
* :func:`qwen_vl_video_patches` — Qwen2-VL / Qwen2.5-VL: flattened patches, ``temporal_patch_size``
  consecutive frames per patch, in the order of ``Qwen2VLVideoProcessor.patchify``
  (transformers ``models/qwen2_vl/video_processing_qwen2_vl.py``), and the ``video_grid_thw`` row;
  :func:`qwen_vl_video_batch` makes a batch with the rest of what ``Qwen2_5_VLProcessor`` gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class VideoBatch:
    """The videos of one batch as ``generate`` reads them.

    Attributes:
        tensors: keyword tensors for ``generate``: ``pixel_values_videos`` and what goes with it.
        placeholders: video placeholder tokens per clip, as the model's processor expands them.
        details: settings recorded with each answer of the batch (``frames``, and per family more).
    """

    tensors: dict[str, Any]
    placeholders: list[int]
    details: dict[str, Any] = field(default_factory=dict)

    def to(self, device: Any, dtype: Any) -> dict[str, Any]:
        """The tensors on ``device``; the pixels in the model's ``dtype``, grids and times unchanged."""
        moved = {name: tensor.to(device) for name, tensor in self.tensors.items()}
        moved["pixel_values_videos"] = moved["pixel_values_videos"].to(dtype=dtype)
        return moved


def stacked_frames(image_processor: Any, frames: np.ndarray, **kwargs: Any) -> Any:
    """uint8 ``(T, H, W, 3)`` RGB → float tensor ``(T, 3, h, w)``, the image processor frame by frame.

    Anyres image processors return ``(T, patches, 3, h, w)``; their first patch is the whole frame
    resized, which is what the model's video processor gives for a frame, so it is kept.
    """
    out = image_processor(images=list(frames), return_tensors="pt", **kwargs)
    pixels = out["pixel_values"]
    if pixels.ndim == 5:
        pixels = pixels[:, 0]
    return pixels


def qwen_vl_video_patches(image_processor: Any, frames: np.ndarray) -> tuple[Any, Any]:
    """uint8 ``(T, H, W, 3)`` RGB → (patches ``(t·gh·gw, 3·tp·p·p)`` float, ``video_grid_thw`` ``(3,)``).

    The Qwen2-VL image processor (``image_processing_pil_qwen2_vl.py``) resizes (``smart_resize``),
    rescales and normalises each frame, then flattens it into patches of ``3·tp·p·p`` values in the
    order ``(gh/m, gw/m, m, m)`` with the frame repeated ``tp`` (``temporal_patch_size``, 2) times.
    The video processor (``video_processing_qwen2_vl.py``) uses the same spatial order but fills the
    ``tp`` slot with ``tp`` consecutive frames, repeating the last frame when ``T`` is not a multiple
    of ``tp``, and puts the temporal group first: ``(t, gh/m, gw/m, m, m, 3, tp, p, p)``,
    ``t = ceil(T / tp)``. So each frame's patches are taken from the first ``tp`` slot and regrouped.
    """
    import torch

    out = image_processor(images=list(frames), return_tensors="pt")
    patch = int(image_processor.patch_size)
    temporal = int(image_processor.temporal_patch_size)
    grids = out["image_grid_thw"]  # (T, 3): [1, gh, gw] per frame
    if not bool((grids == grids[0]).all()):
        raise ValueError(f"frames of one clip resize to different grids: {grids.tolist()}")
    _, grid_h, grid_w = (int(v) for v in grids[0])
    per_frame = grid_h * grid_w
    # (T·gh·gw, 3·tp·p·p) → (T, gh·gw, 3, tp, p, p) → the frame itself, (T, gh·gw, 3, p, p)
    single = out["pixel_values"].reshape(len(frames), per_frame, 3, temporal, patch, patch)[:, :, :, 0]
    if pad := -len(frames) % temporal:
        single = torch.cat([single, single[-1:].expand(pad, -1, -1, -1, -1)])
    grid_t = single.shape[0] // temporal
    # (t, tp, gh·gw, 3, p, p) → (t, gh·gw, 3, tp, p, p) → (t·gh·gw, 3·tp·p·p)
    grouped = single.reshape(grid_t, temporal, per_frame, 3, patch, patch).permute(0, 2, 3, 1, 4, 5)
    patches = grouped.reshape(grid_t * per_frame, 3 * temporal * patch * patch)
    return patches, torch.tensor([grid_t, grid_h, grid_w])


def stacked_video_batch(
    image_processor: Any,
    clips: Sequence[np.ndarray],
    token_count: Callable[[int, int, int], int],
    **kwargs: Any,
) -> VideoBatch:
    """Clips of uint8 ``(T, H, W, 3)`` → ``pixel_values_videos`` ``(B, T, 3, h, w)``.

    ``token_count`` (frames, height, width) → placeholders per clip: the family's copy of its
    processor's ``replace_video_token`` rule. ``kwargs`` go to the image processor.
    """
    import torch

    pixels = torch.stack([stacked_frames(image_processor, clip, **kwargs) for clip in clips])
    count = token_count(pixels.shape[1], pixels.shape[-2], pixels.shape[-1])
    return VideoBatch({"pixel_values_videos": pixels}, [count] * len(clips), {"frames": int(pixels.shape[1])})


def qwen_vl_video_batch(image_processor: Any, clips: Sequence[np.ndarray]) -> VideoBatch:
    """Qwen2.5-VL: the clips' patches concatenated, ``video_grid_thw`` ``(B, 3)``, ``second_per_grid_ts`` ``(B,)``.

    Placeholders per clip: ``t·gh·gw / merge_size²`` (``Qwen2_5_VLProcessor.replace_video_token``).
    Seconds per temporal patch: ``temporal_patch_size / sampled_fps`` (``Qwen2_5_VLProcessor._process_videos``),
    with the ``sampled_fps`` transformers' ``VideoMetadata`` gives for frames passed without metadata
    (the builder's frames carry no frame rate); it is recorded as ``details.second_per_grid_t``.
    """
    import torch
    from transformers.video_utils import VideoMetadata

    made = [qwen_vl_video_patches(image_processor, clip) for clip in clips]
    grids = torch.stack([grid for _, grid in made])  # (B, 3)
    temporal, merge = int(image_processor.temporal_patch_size), int(image_processor.merge_size)
    frames = len(clips[0])
    fps = VideoMetadata(total_num_frames=frames, frames_indices=list(range(frames))).sampled_fps
    tensors = {
        "pixel_values_videos": torch.cat([patches for patches, _ in made]),
        "video_grid_thw": grids,
        "second_per_grid_ts": torch.tensor([temporal / fps] * len(clips)),
    }
    placeholders = [int(grid.prod()) // merge**2 for grid in grids]
    return VideoBatch(tensors, placeholders, {"frames": frames, "second_per_grid_t": temporal / fps})
