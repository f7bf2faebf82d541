"""Qwen2.5-VL video patches made with the PIL image processor equal what transformers' video processor makes.

``Qwen2VLVideoProcessor`` imports torchvision (not installed), so its ``patchify`` is read from the
installed transformers source and run on its own; the rest of the check runs the image processor.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import transformers
from transformers import Qwen2VLImageProcessorPil

from ovmer.baselines.video_pixels import qwen_vl_video_batch, qwen_vl_video_patches


def _upstream_patchify() -> Callable[..., Any]:
    """``Qwen2VLVideoProcessor.patchify`` from ``models/qwen2_vl/video_processing_qwen2_vl.py``."""
    source = Path(transformers.__file__).parent / "models" / "qwen2_vl" / "video_processing_qwen2_vl.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Qwen2VLVideoProcessor"]
    (method,) = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "patchify"]
    namespace: dict[str, Any] = {"torch": torch}
    exec(compile(ast.Module(body=[method], type_ignores=[]), str(source), "exec"), namespace)
    return namespace["patchify"]


@pytest.mark.parametrize("n_frames", [8, 7])
def test_patches_match_the_video_processors_patchify(n_frames: int) -> None:
    """Distinct frames, 2 per temporal patch (7 frames: the last repeated), no resize."""
    processor = Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 112)
    frames = np.random.default_rng(n_frames).integers(0, 256, (n_frames, 56, 112, 3), dtype=np.uint8)
    patches, grid = qwen_vl_video_patches(processor, frames)

    mean, std = np.array(processor.image_mean), np.array(processor.image_std)
    video = ((frames / 255.0 - mean) / std).astype(np.float32).transpose(0, 3, 1, 2)  # (T, 3, H, W)
    expected, grid_t, grid_h, grid_w = _upstream_patchify()(
        None,
        torch.from_numpy(np.ascontiguousarray(video))[None],
        patch_size=14,
        merge_size=2,
        temporal_patch_size=2,
    )
    assert grid.tolist() == [grid_t, grid_h, grid_w] == [4, 4, 8]
    assert patches.shape == expected[0].shape == (4 * 4 * 8, 3 * 2 * 14 * 14)
    torch.testing.assert_close(patches, expected[0], rtol=0, atol=1e-5)


def test_repeated_frames_are_the_image_processors_patches() -> None:
    """A video whose frame pairs are equal is, patch for patch, the image processor's output for one frame
    of each pair (it repeats an image temporal_patch_size times); here with smart_resize 224 → 56."""
    processor = Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56)
    stills = np.random.default_rng(0).integers(0, 256, (4, 224, 224, 3), dtype=np.uint8)
    patches, grid = qwen_vl_video_patches(processor, np.repeat(stills, 2, axis=0))
    images = processor(images=list(stills), return_tensors="pt")
    assert grid.tolist() == [4, 4, 4] and images["image_grid_thw"].tolist() == [[1, 4, 4]] * 4
    torch.testing.assert_close(patches, images["pixel_values"], rtol=0, atol=0)


def test_batch_counts_placeholders_and_times_as_the_processor() -> None:
    processor = Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=56 * 56)
    clips = [np.random.default_rng(i).integers(0, 256, (8, 224, 224, 3), dtype=np.uint8) for i in range(2)]
    batch = qwen_vl_video_batch(processor, clips)
    assert batch.tensors["video_grid_thw"].tolist() == [[4, 4, 4]] * 2
    assert batch.tensors["pixel_values_videos"].shape == (2 * 64, 3 * 2 * 14 * 14)
    assert batch.placeholders == [16, 16]  # t·gh·gw / merge² (Qwen2_5_VLProcessor.replace_video_token)
    # temporal_patch_size / sampled_fps, frames without metadata: 24 fps (transformers VideoMetadata)
    assert batch.tensors["second_per_grid_ts"].tolist() == pytest.approx([2 / 24] * 2)
    assert batch.details == {"frames": 8, "second_per_grid_t": pytest.approx(2 / 24)}
